import { HttpError, notFound } from './gce-emulator-http.js';
import { API_BASE, type GceEmulatorState, type Json, now, regionOf } from './gce-emulator-state.js';
import type { GceEmulatorImage } from './gce-emulator-types.js';

export const DEFAULT_IMAGES: readonly GceEmulatorImage[] = [
  { name: 'travis-ci-ubuntu-2204-1700000000', family: 'travis-ci-ubuntu-2204' },
  { name: 'travis-ci-ubuntu-2204-1710000000', family: 'travis-ci-ubuntu-2204' },
];

export function addImage(gce: GceEmulatorState, image: GceEmulatorImage): void {
  const project = image.project ?? gce.projectId;
  gce.images.push({
    kind: 'compute#image',
    id: gce.newId(),
    creationTimestamp: image.creationTimestamp ?? now(),
    name: image.name,
    ...(image.family ? { family: image.family } : {}),
    status: image.status ?? 'READY',
    sourceType: 'RAW',
    archiveSizeBytes: '1073741824',
    diskSizeGb: '10',
    architecture: 'X86_64',
    selfLink: `${API_BASE}projects/${project}/global/images/${image.name}`,
    project,
    guestAgent: image.guestAgent ?? true,
    users: image.users ?? ['travis'],
  });
}

/** Throws GCE's answer for a zone that does not exist or, with `mustBeUp`, is DOWN. */
export function checkZone(gce: GceEmulatorState, zone: string, mustBeUp = false): void {
  if (!gce.zones.includes(zone) && !gce.downZones.has(zone))
    throw notFound(`projects/${gce.projectId}/zones/${zone}`);
  if (mustBeUp && gce.downZones.has(zone))
    throw new HttpError(503, 'backendError', `The zone '${zone}' is currently unavailable.`);
}

export function zoneResource(gce: GceEmulatorState, zone: string): Json {
  return {
    kind: 'compute#zone',
    id: String(2000 + gce.allZones.indexOf(zone)),
    creationTimestamp: '2015-01-01T00:00:00.000-08:00',
    name: zone,
    description: zone,
    status: gce.downZones.has(zone) ? 'DOWN' : 'UP',
    region: `${API_BASE}projects/${gce.projectId}/regions/${regionOf(zone)}`,
    selfLink: gce.zoneUrl(zone),
    availableCpuPlatforms: ['Intel Cascade Lake'],
    supportsPzs: false,
  };
}

export function machineTypeResource(gce: GceEmulatorState, zone: string, name: string): Json {
  const cpus = Number(/-(\d+)$/.exec(name)?.[1] ?? 2);
  return {
    kind: 'compute#machineType',
    id: String(3_000_000 + [...gce.machineTypes].indexOf(name)),
    creationTimestamp: '2015-01-01T00:00:00.000-08:00',
    name,
    description: `${cpus} vCPU${cpus === 1 ? '' : 's'}, ${cpus * 3.75} GB RAM`,
    guestCpus: cpus,
    memoryMb: cpus * 3840,
    maximumPersistentDisks: 128,
    maximumPersistentDisksSizeGb: '263168',
    zone,
    selfLink: `${gce.zoneUrl(zone)}/machineTypes/${name}`,
    isSharedCpu: false,
  };
}

export function networkResource(gce: GceEmulatorState, name: string): Json {
  if (!gce.networks.has(name)) throw notFound(`projects/${gce.projectId}/global/networks/${name}`);
  return {
    kind: 'compute#network',
    id: String(4000 + [...gce.networks].indexOf(name)),
    name,
    autoCreateSubnetworks: true,
    selfLink: `${API_BASE}projects/${gce.projectId}/global/networks/${name}`,
  };
}

export function subnetworkResource(gce: GceEmulatorState, region: string, name: string): Json {
  const project = `${API_BASE}projects/${gce.projectId}`;
  if (!gce.subnetworks.has(`${region}/${name}`))
    throw notFound(`projects/${gce.projectId}/regions/${region}/subnetworks/${name}`);
  return {
    kind: 'compute#subnetwork',
    id: String(5000 + [...gce.subnetworks].indexOf(`${region}/${name}`)),
    name,
    region: `${project}/regions/${region}`,
    network: `${project}/global/networks/default`,
    ipCidrRange: '10.128.0.0/20',
    selfLink: `${project}/regions/${region}/subnetworks/${name}`,
  };
}

/** The image a `sourceImage` URL names: `…/global/images/<name>` or `…/global/images/family/<family>`. */
export function findImageByUrl(gce: GceEmulatorState, url: string): Json | undefined {
  const family = /projects\/([^/]+)\/global\/images\/family\/([^/]+)$/.exec(url);
  if (family) return newestInFamily(gce, family[1]!, family[2]!);
  const direct = /(?:projects\/([^/]+)\/)?global\/images\/([^/]+)$/.exec(url);
  if (!direct) return undefined;
  return gce.images.find((i) => i.name === direct[2] && i.project === (direct[1] ?? gce.projectId));
}

export function newestInFamily(gce: GceEmulatorState, project: string, family: string): Json | undefined {
  return gce.images
    .filter((i) => i.project === project && i.family === family && i.status === 'READY')
    .sort((a, b) => String(a.creationTimestamp).localeCompare(String(b.creationTimestamp)))
    .at(-1);
}

/** An image as the API answers it (without the emulator's own `project`, `guestAgent` and `users` fields). */
export function publicImage(image: Json): Json {
  const { project: _project, guestAgent: _agent, users: _users, ...rest } = image;
  return rest;
}

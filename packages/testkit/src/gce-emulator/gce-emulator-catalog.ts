import { HttpError, notFound } from './gce-emulator-http.js';
import { API_BASE, type GceEmulatorState, type Json, now, regionOf } from './gce-emulator-state.js';
import type { GceEmulatorImage } from './gce-emulator-types.js';

export const DEFAULT_IMAGES: readonly GceEmulatorImage[] = [
  { name: 'travis-ci-ubuntu-2204-1700000000', family: 'travis-ci-ubuntu-2204' },
  { name: 'travis-ci-ubuntu-2204-1710000000', family: 'travis-ci-ubuntu-2204' },
];

export function addImage(state: GceEmulatorState, image: GceEmulatorImage): void {
  const project = image.project ?? state.projectId;
  state.images.push({
    kind: 'compute#image',
    id: state.newId(),
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
  });
}

/** Throws GCE's answer for a zone that does not exist or, with `mustBeUp`, is DOWN. */
export function checkZone(state: GceEmulatorState, zone: string, mustBeUp = false): void {
  if (!state.zones.includes(zone) && !state.downZones.has(zone))
    throw notFound(`projects/${state.projectId}/zones/${zone}`);
  if (mustBeUp && state.downZones.has(zone))
    throw new HttpError(503, 'backendError', `The zone '${zone}' is currently unavailable.`);
}

export function zoneResource(state: GceEmulatorState, zone: string): Json {
  return {
    kind: 'compute#zone',
    id: String(2000 + state.allZones.indexOf(zone)),
    creationTimestamp: '2015-01-01T00:00:00.000-08:00',
    name: zone,
    description: zone,
    status: state.downZones.has(zone) ? 'DOWN' : 'UP',
    region: `${API_BASE}projects/${state.projectId}/regions/${regionOf(zone)}`,
    selfLink: state.zoneUrl(zone),
    availableCpuPlatforms: ['Intel Cascade Lake'],
    supportsPzs: false,
  };
}

export function machineTypeResource(state: GceEmulatorState, zone: string, name: string): Json {
  const cpus = Number(/-(\d+)$/.exec(name)?.[1] ?? 2);
  return {
    kind: 'compute#machineType',
    id: String(3_000_000 + [...state.machineTypes].indexOf(name)),
    creationTimestamp: '2015-01-01T00:00:00.000-08:00',
    name,
    description: `${cpus} vCPU${cpus === 1 ? '' : 's'}, ${cpus * 3.75} GB RAM`,
    guestCpus: cpus,
    memoryMb: cpus * 3840,
    maximumPersistentDisks: 128,
    maximumPersistentDisksSizeGb: '263168',
    zone,
    selfLink: `${state.zoneUrl(zone)}/machineTypes/${name}`,
    isSharedCpu: false,
  };
}

export function networkResource(state: GceEmulatorState, name: string): Json {
  if (!state.networks.has(name)) throw notFound(`projects/${state.projectId}/global/networks/${name}`);
  return {
    kind: 'compute#network',
    id: String(4000 + [...state.networks].indexOf(name)),
    name,
    autoCreateSubnetworks: true,
    selfLink: `${API_BASE}projects/${state.projectId}/global/networks/${name}`,
  };
}

export function subnetworkResource(state: GceEmulatorState, region: string, name: string): Json {
  const project = `${API_BASE}projects/${state.projectId}`;
  if (!state.subnetworks.has(`${region}/${name}`))
    throw notFound(`projects/${state.projectId}/regions/${region}/subnetworks/${name}`);
  return {
    kind: 'compute#subnetwork',
    id: String(5000 + [...state.subnetworks].indexOf(`${region}/${name}`)),
    name,
    region: `${project}/regions/${region}`,
    network: `${project}/global/networks/default`,
    ipCidrRange: '10.128.0.0/20',
    selfLink: `${project}/regions/${region}/subnetworks/${name}`,
  };
}

/** The image a `sourceImage` URL names: `…/global/images/<name>` or `…/global/images/family/<family>`. */
export function findImageByUrl(state: GceEmulatorState, url: string): Json | undefined {
  const family = /projects\/([^/]+)\/global\/images\/family\/([^/]+)$/.exec(url);
  if (family) return newestInFamily(state, family[1]!, family[2]!);
  const direct = /(?:projects\/([^/]+)\/)?global\/images\/([^/]+)$/.exec(url);
  if (!direct) return undefined;
  return state.images.find((i) => i.name === direct[2] && i.project === (direct[1] ?? state.projectId));
}

export function newestInFamily(state: GceEmulatorState, project: string, family: string): Json | undefined {
  return state.images
    .filter((i) => i.project === project && i.family === family && i.status === 'READY')
    .sort((a, b) => String(a.creationTimestamp).localeCompare(String(b.creationTimestamp)))
    .at(-1);
}

/** An image as the API answers it (without the emulator's `project` field). */
export function publicImage(image: Json): Json {
  const { project: _project, ...rest } = image;
  return rest;
}

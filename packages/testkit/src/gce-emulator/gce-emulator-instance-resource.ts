import { randomBytes } from 'node:crypto';
import { checkZone, findImageByUrl } from './gce-emulator-catalog.js';
import { badRequest, HttpError, notFound } from './gce-emulator-http.js';
import {
  checkInsertFields,
  checkMachineAndAccelerators,
  checkSubnetwork,
} from './gce-emulator-insert-validation.js';
import { nonEmpty } from './gce-emulator-lists.js';
import {
  API_BASE,
  type GceEmulatorState,
  type InstanceRecord,
  instanceKey,
  type Json,
  lastSegment,
  now,
  regionOf,
} from './gce-emulator-state.js';

const NAME_PATTERN = /^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$/;

/**
 * Checks an `instances.insert` body as GCE does and makes the new instance's record (status
 * PROVISIONING, an address of its own), answering GCE's error for what GCE refuses.
 */
export function newInstanceRecord(gce: GceEmulatorState, zone: string, body: Json): InstanceRecord {
  checkZone(gce, zone, true);
  const name = stringField(body, 'name');
  if (!NAME_PATTERN.test(name))
    throw badRequest(
      `Invalid value for field 'resource.name': '${name}'. Must be a match of regex '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'`,
    );
  if (gce.instances.has(instanceKey(zone, name))) {
    throw new HttpError(
      409,
      'alreadyExists',
      `The resource 'projects/${gce.projectId}/zones/${zone}/instances/${name}' already exists`,
    );
  }
  const machineType = lastSegment(stringField(body, 'machineType'));
  const accelerators = (body.guestAccelerators as Json[] | undefined) ?? [];
  checkMachineAndAccelerators(gce, zone, String(body.machineType), accelerators);
  checkInsertFields(zone, body);
  const disks = (body.disks as Json[] | undefined) ?? [];
  const boot = disks.find((d) => d.boot === true) ?? disks[0];
  const init = boot?.initializeParams as Json | undefined;
  if (!init?.sourceImage)
    throw badRequest("Invalid value for field 'resource.disks': ''. Boot disk must be specified.");
  const image = findImageByUrl(gce, String(init.sourceImage));
  if (!image) throw notFound(String(init.sourceImage));
  const labels = (body.labels as Record<string, string> | undefined) ?? {};
  const scheduling = { ...((body.scheduling as Json | undefined) ?? {}) };
  checkScheduling(scheduling, accelerators);
  const networkInterfacesOut = networkInterfaces(gce, zone, body, '');
  const id = gce.newId();
  const address = gce.allocateAddress();
  const metadataItems =
    ((body.metadata as Json | undefined)?.items as { key: string; value?: string }[] | undefined) ?? [];
  const metadata = Object.fromEntries(metadataItems.map((item) => [item.key, item.value ?? '']));
  const zoneUrl = gce.zoneUrl(zone);
  const resource: Json = {
    kind: 'compute#instance',
    id,
    creationTimestamp: now(),
    name,
    ...(body.description ? { description: body.description } : {}),
    tags: {
      ...nonEmpty('items', (body.tags as Json | undefined)?.items as string[] | undefined),
      fingerprint: randomBytes(8).toString('base64'),
    },
    machineType: `${zoneUrl}/machineTypes/${machineType}`,
    status: 'PROVISIONING',
    zone: zoneUrl,
    canIpForward: false,
    networkInterfaces: networkInterfacesOut.map((nic) => withAddress(nic, address)),
    disks: disks.map((disk, index) => ({
      kind: 'compute#attachedDisk',
      type: disk.type ?? 'PERSISTENT',
      mode: disk.mode ?? 'READ_WRITE',
      source: `${zoneUrl}/disks/${name}${index === 0 ? '' : `-${index}`}`,
      deviceName: disk.deviceName ?? `persistent-disk-${index}`,
      index,
      boot: disk.boot ?? index === 0,
      autoDelete: disk.autoDelete ?? false,
      interface: 'SCSI',
      diskSizeGb: String((disk.initializeParams as Json | undefined)?.diskSizeGb ?? '10'),
      architecture: 'X86_64',
    })),
    metadata: {
      kind: 'compute#metadata',
      fingerprint: randomBytes(8).toString('base64'),
      ...nonEmpty('items', metadataItems),
    },
    selfLink: `${zoneUrl}/instances/${name}`,
    scheduling: {
      onHostMaintenance: 'MIGRATE',
      automaticRestart: true,
      preemptible: false,
      provisioningModel: 'STANDARD',
      ...scheduling,
      // int64 travels as a string, whatever the request sent.
      ...(scheduling.maxRunDuration
        ? { maxRunDuration: { seconds: String((scheduling.maxRunDuration as Json).seconds) } }
        : {}),
    },
    cpuPlatform: 'Unknown CPU Platform',
    labels,
    labelFingerprint: randomBytes(8).toString('base64'),
    startRestricted: false,
    deletionProtection: false,
    fingerprint: randomBytes(8).toString('base64'),
    ...(accelerators.length > 0
      ? {
          guestAccelerators: accelerators.map((a) => ({
            acceleratorType: `${zoneUrl}/acceleratorTypes/${lastSegment(String(a.acceleratorType))}`,
            acceleratorCount: Number(a.acceleratorCount ?? 1),
          })),
        }
      : {}),
  };
  return {
    resource,
    name,
    zone,
    id,
    status: 'PROVISIONING',
    address,
    metadata,
    guest: undefined,
    booting: undefined,
    statusHistory: ['PROVISIONING'],
    guestAttributes: {},
    timers: [],
    preempted: false,
    deleting: false,
    busyWith: undefined,
    guestAgent: image.guestAgent !== false,
    imageUsers: (image.users as string[] | undefined) ?? [],
    serial: { text: '', start: 0 },
  };
}

function withAddress(nic: Json, address: string): Json {
  const accessConfigs = nic.accessConfigs as Json[] | undefined;
  return {
    ...nic,
    networkIP: address,
    ...(accessConfigs ? { accessConfigs: accessConfigs.map((ac) => ({ ...ac, natIP: address })) } : {}),
  };
}

function checkScheduling(scheduling: Json, accelerators: Json[]): void {
  const spotLike = scheduling.preemptible === true || scheduling.provisioningModel === 'SPOT';
  if ((spotLike || accelerators.length > 0) && scheduling.onHostMaintenance === 'MIGRATE') {
    throw badRequest(
      "Invalid value for field 'resource.scheduling.onHostMaintenance': 'MIGRATE'. Instances with guest accelerators or preemptible/Spot scheduling do not support live migration.",
    );
  }
  if (spotLike && scheduling.automaticRestart === true) {
    throw badRequest(
      "Invalid value for field 'resource.scheduling.automaticRestart': 'true'. Preemptible instances cannot be automatically restarted.",
    );
  }
  const maxRun = scheduling.maxRunDuration as { seconds?: string | number } | undefined;
  if (maxRun !== undefined && !(Number(maxRun.seconds) >= 30)) {
    throw badRequest(
      "Invalid value for field 'resource.scheduling.maxRunDuration': must be at least 30 seconds.",
    );
  }
}

/** The instance's NICs: every one on `address` (networkIP, and natIP with an access config). */
function networkInterfaces(gce: GceEmulatorState, zone: string, body: Json, address: string): Json[] {
  const project = `${API_BASE}projects/${gce.projectId}`;
  return ((body.networkInterfaces as Json[] | undefined) ?? [{}]).map((nic, index) => {
    const network = nic.network ? lastSegment(String(nic.network)) : 'default';
    if (!gce.networks.has(network)) throw notFound(`projects/${gce.projectId}/global/networks/${network}`);
    const accessConfigs = ((nic.accessConfigs as Json[] | undefined) ?? []).map((ac) => ({
      kind: 'compute#accessConfig',
      type: ac.type ?? 'ONE_TO_ONE_NAT',
      name: ac.name ?? 'External NAT',
      natIP: address,
      networkTier: 'PREMIUM',
    }));
    return {
      kind: 'compute#networkInterface',
      network: `${project}/global/networks/${network}`,
      subnetwork: `${project}/regions/${regionOf(zone)}/subnetworks/${nic.subnetwork ? checkSubnetwork(gce, zone, index, String(nic.subnetwork)) : network}`,
      networkIP: address,
      name: `nic${index}`,
      fingerprint: randomBytes(8).toString('base64'),
      stackType: 'IPV4_ONLY',
      ...(accessConfigs.length > 0 ? { accessConfigs } : {}),
    };
  });
}

function stringField(body: Json, field: string): string {
  const value = body[field];
  if (typeof value !== 'string' || value === '')
    throw badRequest(`Invalid value for field 'resource.${field}': ''. Must be specified.`);
  return value;
}

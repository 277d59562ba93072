import { badRequest, notFound } from './gce-emulator-http.js';
import { type GceEmulatorState, type Json, lastSegment, regionOf } from './gce-emulator-state.js';

const LABEL_KEY = /^[a-z][a-z0-9_-]{0,62}$/;
const LABEL_VALUE = /^[a-z0-9_-]{0,63}$/;
const MAX_LABELS = 64;
/** RFC 1035: what GCE accepts as a network tag. */
const NETWORK_TAG = /^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$/;
const MAX_TAGS = 64;
const METADATA_KEY = /^[a-zA-Z0-9_-]{1,128}$/;
const METADATA_VALUE_BYTES = 256 * 1024;
const METADATA_TOTAL_BYTES = 512 * 1024;
export const DISK_TYPES = new Set([
  'pd-standard',
  'pd-balanced',
  'pd-ssd',
  'pd-extreme',
  'hyperdisk-balanced',
  'hyperdisk-extreme',
  'hyperdisk-throughput',
]);

/**
 * Accelerator types and the machines that take them: N1 attaches T4/V100/P100/P4 in the listed
 * counts; G2 (L4) and A2 (A100) come with a fixed count per machine type.
 */
const ACCELERATORS: Record<string, { family: string; counts: (machineType: string) => number[] }> = {
  'nvidia-tesla-t4': { family: 'n1', counts: () => [1, 2, 4] },
  'nvidia-tesla-p4': { family: 'n1', counts: () => [1, 2, 4] },
  'nvidia-tesla-p100': { family: 'n1', counts: () => [1, 2, 4] },
  'nvidia-tesla-v100': { family: 'n1', counts: () => [1, 2, 4, 8] },
  'nvidia-l4': {
    family: 'g2',
    counts: (type) => [
      ({ 24: 2, 48: 4, 96: 8 } as Record<string, number>)[/-(\d+)$/.exec(type)?.[1] ?? ''] ?? 1,
    ],
  },
  'nvidia-tesla-a100': { family: 'a2', counts: (type) => [Number(/-(\d+)g$/.exec(type)?.[1] ?? 1)] },
};

/** Checks labels, network tags, metadata and disks of an insert as GCE does. */
export function checkInsertFields(zone: string, body: Json): void {
  const labels = (body.labels as Record<string, unknown> | undefined) ?? {};
  const labelEntries = Object.entries(labels);
  if (labelEntries.length > MAX_LABELS)
    throw badRequest(
      `Invalid value for field 'resource.labels': ${labelEntries.length} labels. At most ${MAX_LABELS} labels are allowed.`,
    );
  for (const [k, v] of labelEntries) {
    if (!LABEL_KEY.test(k) || typeof v !== 'string' || !LABEL_VALUE.test(v))
      throw badRequest(
        `Invalid value for field 'resource.labels': '${k}=${String(v)}'. Label keys must start with a lowercase letter; keys and values may contain only lowercase letters, digits, '_' and '-', at most 63 characters.`,
      );
  }
  const tags = ((body.tags as Json | undefined)?.items as unknown[] | undefined) ?? [];
  if (tags.length > MAX_TAGS)
    throw badRequest(`Invalid value for field 'resource.tags.items': at most ${MAX_TAGS} tags are allowed.`);
  for (const [i, tag] of tags.entries()) {
    if (typeof tag !== 'string' || !NETWORK_TAG.test(tag))
      throw badRequest(
        `Invalid value for field 'resource.tags.items[${i}]': '${String(tag)}'. Must be a match of regex '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'`,
      );
  }
  checkMetadata(body);
  checkDisks(zone, body);
}

function checkMetadata(body: Json): void {
  const items =
    ((body.metadata as Json | undefined)?.items as { key?: unknown; value?: unknown }[] | undefined) ?? [];
  const seen = new Set<string>();
  let total = 0;
  for (const [i, item] of items.entries()) {
    const key = typeof item.key === 'string' ? item.key : '';
    if (!METADATA_KEY.test(key))
      throw badRequest(
        `Invalid value for field 'resource.metadata.items[${i}].key': '${key}'. Must be a match of regex '[a-zA-Z0-9-_]{1,128}'`,
      );
    if (seen.has(key))
      throw badRequest(`Invalid value for field 'resource.metadata': duplicate key '${key}'.`);
    seen.add(key);
    const bytes = Buffer.byteLength(typeof item.value === 'string' ? item.value : '', 'utf8');
    if (bytes > METADATA_VALUE_BYTES)
      throw badRequest(
        `Invalid value for field 'resource.metadata.items[${i}].value': ${bytes} bytes. Metadata values are limited to ${METADATA_VALUE_BYTES} bytes.`,
      );
    total += bytes + Buffer.byteLength(key, 'utf8');
  }
  if (total > METADATA_TOTAL_BYTES)
    throw badRequest(
      `Invalid value for field 'resource.metadata': ${total} bytes. The total size of all metadata is limited to ${METADATA_TOTAL_BYTES} bytes.`,
    );
}

function checkDisks(zone: string, body: Json): void {
  for (const [i, disk] of ((body.disks as Json[] | undefined) ?? []).entries()) {
    const init = disk.initializeParams as Json | undefined;
    const diskType = init?.diskType;
    if (diskType !== undefined) {
      const url = String(diskType);
      const inZone = /zones\/([^/]+)\/diskTypes\//.exec(url)?.[1];
      if (!DISK_TYPES.has(lastSegment(url)) || (inZone !== undefined && inZone !== zone))
        throw badRequest(
          `Invalid value for field 'resource.disks[${i}].initializeParams.diskType': '${url}'. Disk type '${lastSegment(url)}' does not exist in zone '${zone}'.`,
        );
    }
    if (init?.diskSizeGb !== undefined) {
      const size = Number(init.diskSizeGb);
      if (!Number.isInteger(size) || size < 10 || size > 65_536)
        throw badRequest(
          `Invalid value for field 'resource.disks[${i}].initializeParams.diskSizeGb': '${String(init.diskSizeGb)}'. Must be an integer from 10 (the image's size) to 65536.`,
        );
    }
  }
}

/** The machine type's zone and the accelerators it can take. */
export function checkMachineAndAccelerators(
  gce: GceEmulatorState,
  zone: string,
  machineTypeUrl: string,
  accelerators: Json[],
): void {
  const machineType = lastSegment(machineTypeUrl);
  const machineZone = /zones\/([^/]+)\/machineTypes\//.exec(machineTypeUrl)?.[1];
  if (!gce.machineTypes.has(machineType) || (machineZone !== undefined && machineZone !== zone))
    throw badRequest(
      `Invalid value for field 'resource.machineType': '${machineTypeUrl}'. Machine type with name '${machineType}' does not exist in zone '${zone}'.`,
    );
  const family = machineType.split('-')[0]!;
  for (const [i, accelerator] of accelerators.entries()) {
    const url = String(accelerator.acceleratorType ?? '');
    const type = lastSegment(url);
    const known = ACCELERATORS[type];
    const acceleratorZone = /zones\/([^/]+)\/acceleratorTypes\//.exec(url)?.[1];
    if (
      !known ||
      !url.includes('acceleratorTypes/') ||
      (acceleratorZone !== undefined && acceleratorZone !== zone)
    )
      throw badRequest(
        `Invalid value for field 'resource.guestAccelerators[${i}].acceleratorType': '${url}'. Accelerator type '${type}' does not exist in zone '${zone}'.`,
      );
    if (known.family !== family)
      throw badRequest(
        `Invalid value for field 'resource.guestAccelerators[${i}].acceleratorType': '${url}'. Accelerator type '${type}' is not supported for machine type '${machineType}' (it needs a ${known.family.toUpperCase()} machine).`,
      );
    const count = Number(accelerator.acceleratorCount ?? 1);
    const allowed = known.counts(machineType);
    if (!allowed.includes(count))
      throw badRequest(
        `Invalid value for field 'resource.guestAccelerators[${i}].acceleratorCount': '${count}'. ${type} on ${machineType} takes ${allowed.join(', ')}.`,
      );
  }
}

/** A NIC's subnetwork must exist and be in the instance's region. */
export function checkSubnetwork(
  gce: GceEmulatorState,
  zone: string,
  index: number,
  subnetworkUrl: string,
): string {
  const name = lastSegment(subnetworkUrl);
  const region = /regions\/([^/]+)\/subnetworks\//.exec(subnetworkUrl)?.[1] ?? regionOf(zone);
  if (region !== regionOf(zone))
    throw badRequest(
      `Invalid value for field 'resource.networkInterfaces[${index}].subnetwork': '${subnetworkUrl}'. Subnetwork must be in the same region as the instance (${regionOf(zone)}).`,
    );
  if (!gce.subnetworks.has(`${region}/${name}`))
    throw notFound(`projects/${gce.projectId}/regions/${region}/subnetworks/${name}`);
  return name;
}

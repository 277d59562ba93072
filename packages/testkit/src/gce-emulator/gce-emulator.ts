import { randomBytes, randomInt } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateSshKey } from '../sshd/sshd-host-key.js';
import { GceEmulatorFaults } from './gce-emulator-faults.js';
import { FilterSyntaxError, parseFilter } from './gce-emulator-filter.js';
import type {
  GceEmulatorImage,
  GceEmulatorOptions,
  GceGuest,
  GceGuestBooter,
  GceGuestSpec,
} from './gce-emulator-types.js';

const API_BASE = 'https://www.googleapis.com/compute/v1/';
const NAME_PATTERN = /^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$/;
const LABEL_KEY = /^[a-z][a-z0-9_-]{0,62}$/;
const LABEL_VALUE = /^[a-z0-9_-]{0,63}$/;
const DEFAULT_ZONES = ['us-central1-a', 'us-central1-b', 'us-central1-c', 'us-east1-b'];
const DEFAULT_MACHINE_TYPES = [
  'e2-standard-2',
  ...[1, 2, 4, 8, 16].map((n) => `n1-standard-${n}`),
  ...[2, 4, 8, 16].map((n) => `n2-standard-${n}`),
];
const ACCELERATOR_TYPES = ['nvidia-tesla-t4', 'nvidia-tesla-v100', 'nvidia-tesla-p100', 'nvidia-l4'];

type Json = Record<string, unknown>;

export type GceInstanceStatus = 'PROVISIONING' | 'STAGING' | 'RUNNING' | 'STOPPING' | 'TERMINATED';

/** An emulated instance, as a test sees it. */
export interface GceEmulatorInstance {
  name: string;
  zone: string;
  id: string;
  status: GceInstanceStatus;
  address: string;
  sshPort: number;
  labels: Record<string, string>;
  metadata: Record<string, string>;
  /** The instance resource as `instances.get` returns it. */
  resource: Json;
  preempted: boolean;
}

interface InstanceRecord {
  resource: Json;
  name: string;
  zone: string;
  id: string;
  status: GceInstanceStatus;
  address: string;
  metadata: Record<string, string>;
  guest: GceGuest | undefined;
  guestAttributes: Record<string, string>;
  timers: NodeJS.Timeout[];
  preempted: boolean;
  deleting: boolean;
}

interface OperationRecord {
  resource: Json;
  zone: string | undefined;
  waiters: Set<() => void>;
}

export interface GceEmulatorCalls {
  /** Calls of one method (`instances.insert`, `zoneOperations.wait`, …), faulted ones included. */
  count(method: string): number;
  /** Every method called so far with its count. */
  snapshot(): Record<string, number>;
  total(): number;
  reset(): void;
}

export interface GceEmulator {
  /** Spread into the client options: `new InstancesClient({ ...emulator.endpoint, fallback: true, authClient })`. */
  endpoint: { apiEndpoint: string; port: number; protocol: 'http' };
  /** `http://127.0.0.1:<port>`: the backend's API_ENDPOINT. */
  url: string;
  projectId: string;
  /** Port every guest's sshd listens on. */
  sshPort: number;
  faults: GceEmulatorFaults;
  calls: GceEmulatorCalls;
  /** Instances that exist (any status). */
  instances(): GceEmulatorInstance[];
  /** Operations recorded so far (proto3-JSON). */
  operations(): Json[];
  /** Preempts an instance now: its guest dies, it goes TERMINATED, and a `compute.instances.preempted` operation appears. */
  preempt(name: string): Promise<void>;
  /** Adds an image (e.g. a newer one in a family). */
  addImage(image: GceEmulatorImage): void;
  /** Stops the server and every guest. */
  stop(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

const STATUS_NAMES: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ALREADY_EXISTS',
  412: 'FAILED_PRECONDITION',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  502: 'UNAVAILABLE',
  503: 'UNAVAILABLE',
};

/**
 * Starts a Compute Engine v1 REST emulator on 127.0.0.1 for the unmodified `@google-cloud/compute`
 * client (`fallback: true`, plain HTTP). Instances boot real guests (a private sshd each) on
 * their own 127.x.y.z address. See `GceEmulatorFaults` for fault injection.
 */
export async function startGceEmulator(options: GceEmulatorOptions = {}): Promise<GceEmulator> {
  const projectId = options.projectId ?? 'workerkit-emulator';
  const zones = options.zones ?? DEFAULT_ZONES;
  const downZones = new Set(options.downZones ?? []);
  const machineTypes = new Set(options.machineTypes ?? DEFAULT_MACHINE_TYPES);
  const networks = new Set(options.networks ?? ['default']);
  const subnetworks = new Set(options.subnetworks ?? zones.map((z) => `${regionOf(z)}/default`));
  const timings = {
    provisioningMs: 40,
    stagingMs: 40,
    stoppingMs: 20,
    runDurationSecondMs: 1000,
    ...options.timings,
  };
  const operationWaitMs = options.operationWaitMs ?? 10_000;
  const pageSize = options.defaultPageSize ?? 500;
  const sshPort = options.sshPort ?? randomInt(20_000, 60_000);
  const octet = options.addressOctet ?? randomInt(100, 200);
  const booter = options.guest ?? (await defaultBooter());
  const faults = new GceEmulatorFaults();
  const counts = new Map<string, number>();
  const instances = new Map<string, InstanceRecord>();
  const operations = new Map<string, OperationRecord>();
  const requests = new Map<string, OperationRecord>();
  const images: Json[] = [];
  const usedAddresses = new Set<string>();
  let nextId = BigInt(randomInt(1_000_000, 9_000_000)) * 1_000_000_000_000n;
  let stopped = false;

  const newId = () => {
    nextId += BigInt(randomInt(1, 1_000_000));
    return nextId.toString();
  };
  const now = () => new Date().toISOString();
  const zoneUrl = (zone: string) => `${API_BASE}projects/${projectId}/zones/${zone}`;

  function addImage(image: GceEmulatorImage): void {
    const project = image.project ?? projectId;
    images.push({
      kind: 'compute#image',
      id: newId(),
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
  for (const image of options.images ?? [
    { name: 'travis-ci-ubuntu-2204-1700000000', family: 'travis-ci-ubuntu-2204' },
    { name: 'travis-ci-ubuntu-2204-1710000000', family: 'travis-ci-ubuntu-2204' },
  ]) {
    addImage(image);
  }

  function allocateAddress(): string {
    for (let i = 0; i < 10_000; i++) {
      const address = `127.${octet}.${randomInt(0, 256)}.${randomInt(2, 255)}`;
      if (!usedAddresses.has(address)) {
        usedAddresses.add(address);
        return address;
      }
    }
    throw new HttpError(503, 'backendError', 'no guest address left');
  }

  // ---- operations ------------------------------------------------------------------------

  function createOperation(
    type: string,
    target: { zone: string; name: string; id: string },
    user = 'workerkit-emulator@example.iam.gserviceaccount.com',
  ): OperationRecord {
    const id = newId();
    const name = `operation-${Date.now()}-${randomBytes(6).toString('hex')}-${randomBytes(4).toString('hex')}`;
    const resource: Json = {
      kind: 'compute#operation',
      id,
      name,
      zone: zoneUrl(target.zone),
      operationType: type,
      targetLink: `${zoneUrl(target.zone)}/instances/${target.name}`,
      targetId: target.id,
      status: 'PENDING',
      user,
      progress: 0,
      insertTime: now(),
      selfLink: `${zoneUrl(target.zone)}/operations/${name}`,
    };
    const record: OperationRecord = { resource, zone: target.zone, waiters: new Set() };
    operations.set(name, record);
    return record;
  }

  function updateOperation(
    op: OperationRecord,
    status: 'RUNNING' | 'DONE',
    error?: { code: string; message: string; http?: number },
  ): void {
    op.resource.status = status;
    if (status === 'RUNNING') {
      op.resource.startTime ??= now();
      op.resource.progress = 0;
    } else {
      op.resource.startTime ??= now();
      op.resource.endTime = now();
      op.resource.progress = 100;
      if (error) {
        op.resource.error = { errors: [{ code: error.code, message: error.message }] };
        op.resource.httpErrorStatusCode = error.http ?? 400;
        op.resource.httpErrorMessage = error.http === 503 ? 'SERVICE UNAVAILABLE' : 'BAD REQUEST';
      }
      for (const wake of op.waiters) wake();
      op.waiters.clear();
    }
  }

  // ---- instances -------------------------------------------------------------------------

  function setStatus(record: InstanceRecord, status: GceInstanceStatus): void {
    record.status = status;
    record.resource.status = status;
    if (status === 'RUNNING') record.resource.lastStartTimestamp = now();
    if (status === 'TERMINATED') record.resource.lastStopTimestamp = now();
  }

  function later(record: InstanceRecord, ms: number, fn: () => void | Promise<void>): void {
    const timer = setTimeout(() => {
      record.timers = record.timers.filter((t) => t !== timer);
      if (stopped) return;
      void Promise.resolve()
        .then(fn)
        .catch(() => {});
    }, ms);
    timer.unref();
    record.timers.push(timer);
  }

  async function stopGuest(record: InstanceRecord): Promise<void> {
    const guest = record.guest;
    record.guest = undefined;
    if (guest) await guest.stop().catch(() => {});
  }

  /** GCE's `requestId`: a repeated mutation with the same id returns the first one's operation. */
  function once(query: URLSearchParams, mutate: () => Json): Json {
    const requestId = query.get('requestId');
    if (!requestId) return mutate();
    const earlier = requests.get(requestId);
    if (earlier) return earlier.resource;
    const resource = mutate();
    const op = operations.get(String(resource.name));
    if (op) requests.set(requestId, op);
    return resource;
  }

  function removeInstance(record: InstanceRecord): void {
    // An insert still in progress when its instance goes away ends now.
    for (const op of operations.values()) {
      if (
        op.resource.targetId === record.id &&
        op.resource.operationType === 'insert' &&
        op.resource.status !== 'DONE'
      ) {
        updateOperation(op, 'DONE');
      }
    }
    for (const timer of record.timers) clearTimeout(timer);
    record.timers = [];
    instances.delete(key(record.zone, record.name));
    usedAddresses.delete(record.address);
  }

  function insertInstance(zone: string, body: Json): Json {
    checkZone(zone, true);
    const name = stringField(body, 'name');
    if (!NAME_PATTERN.test(name))
      throw badRequest(
        `Invalid value for field 'resource.name': '${name}'. Must be a match of regex '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'`,
      );
    if (instances.has(key(zone, name))) {
      throw new HttpError(
        409,
        'alreadyExists',
        `The resource 'projects/${projectId}/zones/${zone}/instances/${name}' already exists`,
      );
    }
    const machineType = lastSegment(stringField(body, 'machineType'));
    if (!machineTypes.has(machineType))
      throw badRequest(
        `Invalid value for field 'resource.machineType': '${String(body.machineType)}'. Machine type with name '${machineType}' does not exist in zone '${zone}'.`,
      );
    const disks = (body.disks as Json[] | undefined) ?? [];
    const boot = disks.find((d) => d.boot === true) ?? disks[0];
    const init = boot?.initializeParams as Json | undefined;
    if (!init?.sourceImage)
      throw badRequest("Invalid value for field 'resource.disks': ''. Boot disk must be specified.");
    const image = findImageByUrl(String(init.sourceImage));
    if (!image)
      throw new HttpError(404, 'notFound', `The resource '${String(init.sourceImage)}' was not found`);
    const labels = (body.labels as Record<string, string> | undefined) ?? {};
    for (const [k, v] of Object.entries(labels)) {
      if (!LABEL_KEY.test(k) || !LABEL_VALUE.test(v))
        throw badRequest(
          `Invalid value for field 'resource.labels': '${k}=${v}'. Label keys and values must match [a-z0-9_-].`,
        );
    }
    const scheduling = { ...((body.scheduling as Json | undefined) ?? {}) };
    const accelerators = (body.guestAccelerators as Json[] | undefined) ?? [];
    for (const accelerator of accelerators) {
      if (!ACCELERATOR_TYPES.includes(lastSegment(String(accelerator.acceleratorType)))) {
        throw badRequest(
          `Invalid value for field 'resource.guestAccelerators[0].acceleratorType': '${String(accelerator.acceleratorType)}'.`,
        );
      }
    }
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
    const id = newId();
    const address = allocateAddress();
    const metadataItems =
      ((body.metadata as Json | undefined)?.items as { key: string; value?: string }[] | undefined) ?? [];
    const metadata = Object.fromEntries(metadataItems.map((item) => [item.key, item.value ?? '']));
    const interfaces = ((body.networkInterfaces as Json[] | undefined) ?? [{}]).map((nic, index) => {
      const network = nic.network ? lastSegment(String(nic.network)) : 'default';
      if (!networks.has(network))
        throw new HttpError(
          404,
          'notFound',
          `The resource 'projects/${projectId}/global/networks/${network}' was not found`,
        );
      const accessConfigs = ((nic.accessConfigs as Json[] | undefined) ?? []).map((ac) => ({
        kind: 'compute#accessConfig',
        type: ac.type ?? 'ONE_TO_ONE_NAT',
        name: ac.name ?? 'External NAT',
        natIP: address,
        networkTier: 'PREMIUM',
      }));
      return {
        kind: 'compute#networkInterface',
        network: `${API_BASE}projects/${projectId}/global/networks/${network}`,
        subnetwork: `${API_BASE}projects/${projectId}/regions/${regionOf(zone)}/subnetworks/${nic.subnetwork ? lastSegment(String(nic.subnetwork)) : network}`,
        networkIP: address,
        name: `nic${index}`,
        fingerprint: randomBytes(8).toString('base64'),
        stackType: 'IPV4_ONLY',
        ...(accessConfigs.length > 0 ? { accessConfigs } : {}),
      };
    });
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
      machineType: `${zoneUrl(zone)}/machineTypes/${machineType}`,
      status: 'PROVISIONING',
      zone: zoneUrl(zone),
      canIpForward: false,
      networkInterfaces: interfaces,
      disks: disks.map((disk, index) => ({
        kind: 'compute#attachedDisk',
        type: disk.type ?? 'PERSISTENT',
        mode: disk.mode ?? 'READ_WRITE',
        source: `${zoneUrl(zone)}/disks/${name}${index === 0 ? '' : `-${index}`}`,
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
      selfLink: `${zoneUrl(zone)}/instances/${name}`,
      scheduling: {
        onHostMaintenance: 'MIGRATE',
        automaticRestart: true,
        preemptible: false,
        provisioningModel: 'STANDARD',
        ...scheduling,
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
              acceleratorType: `${zoneUrl(zone)}/acceleratorTypes/${lastSegment(String(a.acceleratorType))}`,
              acceleratorCount: Number(a.acceleratorCount ?? 1),
            })),
          }
        : {}),
    };
    const record: InstanceRecord = {
      resource,
      name,
      zone,
      id,
      status: 'PROVISIONING',
      address,
      metadata,
      guest: undefined,
      guestAttributes: {},
      timers: [],
      preempted: false,
      deleting: false,
    };
    instances.set(key(zone, name), record);
    const op = createOperation('insert', record);
    const exhausted = faults.takeZoneExhausted(zone);
    const failed = exhausted ? undefined : faults.takeInsertOperation();
    const neverRunning = exhausted || failed ? undefined : faults.takeGuest('never-running');
    const sshNeverUp = exhausted || failed || neverRunning ? undefined : faults.takeGuest('ssh-never-up');
    later(record, 0, () => updateOperation(op, 'RUNNING'));
    if (exhausted) {
      later(record, timings.provisioningMs, () => {
        updateOperation(op, 'DONE', {
          code: 'ZONE_RESOURCE_POOL_EXHAUSTED',
          message: `The zone 'projects/${projectId}/zones/${zone}' does not have enough resources available to fulfill the request.  Try a different zone, or try again later.`,
          http: 503,
        });
        removeInstance(record);
      });
      return op.resource;
    }
    later(record, timings.provisioningMs, () => {
      if (record.deleting) return;
      setStatus(record, 'STAGING');
      if (failed) {
        later(record, timings.stagingMs, () => {
          if (record.deleting) return;
          updateOperation(op, 'DONE', { code: failed.code, message: failed.message, http: 403 });
          if (failed.leaveInstance) setStatus(record, 'TERMINATED');
          else removeInstance(record);
        });
        return;
      }
      if (neverRunning) return;
      later(record, timings.stagingMs, async () => {
        if (record.deleting) return;
        if (!sshNeverUp && booter !== 'none') {
          let guest: GceGuest;
          try {
            guest = await bootGuest(record);
          } catch (error) {
            // Not something GCE does: the emulator's own failure, reported loudly on the operation.
            setStatus(record, 'TERMINATED');
            updateOperation(op, 'DONE', {
              code: 'EMULATOR_GUEST_BOOT_FAILED',
              message: String(error),
              http: 500,
            });
            return;
          }
          if (record.deleting || stopped || !instances.has(key(zone, name))) {
            await guest.stop().catch(() => {});
            return;
          }
          record.guest = guest;
          publishHostKeys(record, guest.hostKeys);
        } else if (sshNeverUp) {
          // The guest agent still publishes a (valid) host key; only sshd never answers.
          const [type = 'ssh-ed25519', blob = ''] = (await generateSshKey('ed25519')).publicKey.split(' ');
          publishHostKeys(record, { [type]: blob });
        }
        setStatus(record, 'RUNNING');
        updateOperation(op, 'DONE');
        scheduleMaxRunDuration(record);
      });
    });
    return op.resource;
  }

  async function bootGuest(record: InstanceRecord): Promise<GceGuest> {
    const spec: GceGuestSpec = {
      name: record.name,
      address: record.address,
      port: sshPort,
      sshKeys: parseSshKeys(record.metadata['ssh-keys'] ?? ''),
      startupScript: record.metadata['startup-script'],
    };
    return (booter as GceGuestBooter)(spec);
  }

  function publishHostKeys(record: InstanceRecord, hostKeys: Record<string, string>): void {
    if ((record.metadata['enable-guest-attributes'] ?? '').toUpperCase() !== 'TRUE') return;
    for (const [type, blob] of Object.entries(hostKeys)) record.guestAttributes[`hostkeys/${type}`] = blob;
  }

  function scheduleMaxRunDuration(record: InstanceRecord): void {
    const scheduling = record.resource.scheduling as Json;
    const seconds = Number((scheduling.maxRunDuration as Json | undefined)?.seconds);
    if (!Number.isFinite(seconds)) return;
    later(record, seconds * timings.runDurationSecondMs, async () => {
      if (record.deleting) return;
      if (scheduling.instanceTerminationAction === 'DELETE') {
        record.deleting = true;
        await stopGuest(record);
        removeInstance(record);
      } else {
        await stopGuest(record);
        setStatus(record, 'TERMINATED');
      }
    });
  }

  function deleteInstance(zone: string, name: string): Json {
    const record = instances.get(key(zone, name));
    if (!record) throw notFound(`projects/${projectId}/zones/${zone}/instances/${name}`);
    const op = createOperation('delete', record);
    const alreadyDeleting = record.deleting;
    record.deleting = true;
    later(record, 0, () => updateOperation(op, 'RUNNING'));
    if (!alreadyDeleting) setStatus(record, 'STOPPING');
    const finish = async () => {
      if (!alreadyDeleting) {
        await stopGuest(record);
        removeInstance(record);
      }
      updateOperation(op, 'DONE');
    };
    // The delete must finish even though removeInstance clears the record's timers.
    const timer = setTimeout(() => void finish().catch(() => {}), timings.stoppingMs);
    timer.unref();
    return op.resource;
  }

  async function preempt(name: string): Promise<void> {
    const record = [...instances.values()].find((r) => r.name === name);
    if (!record) throw new Error(`no instance named ${name}`);
    if (record.preempted) return;
    record.preempted = true;
    // As on GCE, the preemption is recorded as it begins; then the guest goes down.
    const op = createOperation('compute.instances.preempted', record, 'system');
    op.resource.statusMessage = 'Instance was preempted.';
    updateOperation(op, 'RUNNING');
    setStatus(record, 'STOPPING');
    await stopGuest(record);
    setStatus(record, 'TERMINATED');
    updateOperation(op, 'DONE');
  }

  // ---- lookups ---------------------------------------------------------------------------

  function checkZone(zone: string, mustBeUp = false): void {
    if (!zones.includes(zone) && !downZones.has(zone)) throw notFound(`projects/${projectId}/zones/${zone}`);
    if (mustBeUp && downZones.has(zone))
      throw new HttpError(503, 'backendError', `The zone '${zone}' is currently unavailable.`);
  }

  function zoneResource(zone: string): Json {
    return {
      kind: 'compute#zone',
      id: String(2000 + [...zones, ...downZones].indexOf(zone)),
      creationTimestamp: '2015-01-01T00:00:00.000-08:00',
      name: zone,
      description: zone,
      status: downZones.has(zone) ? 'DOWN' : 'UP',
      region: `${API_BASE}projects/${projectId}/regions/${regionOf(zone)}`,
      selfLink: zoneUrl(zone),
      availableCpuPlatforms: ['Intel Cascade Lake'],
      supportsPzs: false,
    };
  }

  function machineTypeResource(zone: string, name: string): Json {
    const cpus = Number(/-(\d+)$/.exec(name)?.[1] ?? 2);
    return {
      kind: 'compute#machineType',
      id: String(3_000_000 + [...machineTypes].indexOf(name)),
      creationTimestamp: '2015-01-01T00:00:00.000-08:00',
      name,
      description: `${cpus} vCPU${cpus === 1 ? '' : 's'}, ${cpus * 3.75} GB RAM`,
      guestCpus: cpus,
      memoryMb: cpus * 3840,
      maximumPersistentDisks: 128,
      maximumPersistentDisksSizeGb: '263168',
      zone,
      selfLink: `${zoneUrl(zone)}/machineTypes/${name}`,
      isSharedCpu: false,
    };
  }

  function findImageByUrl(url: string): Json | undefined {
    const family = /projects\/([^/]+)\/global\/images\/family\/([^/]+)$/.exec(url);
    if (family) return newestInFamily(family[1]!, family[2]!);
    const direct = /(?:projects\/([^/]+)\/)?global\/images\/([^/]+)$/.exec(url);
    if (!direct) return undefined;
    return images.find((i) => i.name === direct[2] && i.project === (direct[1] ?? projectId));
  }

  function newestInFamily(project: string, family: string): Json | undefined {
    return images
      .filter((i) => i.project === project && i.family === family && i.status === 'READY')
      .sort((a, b) => String(a.creationTimestamp).localeCompare(String(b.creationTimestamp)))
      .at(-1);
  }

  function publicImage(image: Json): Json {
    const { project: _project, ...rest } = image;
    return rest;
  }

  // ---- HTTP ------------------------------------------------------------------------------

  function paginate(items: Json[], query: URLSearchParams): { items: Json[]; nextPageToken?: string } {
    const max = query.has('maxResults') ? Number(query.get('maxResults')) : pageSize;
    if (!Number.isInteger(max) || max < 0 || max > 500)
      throw badRequest(
        `Invalid value for field 'maxResults': '${query.get('maxResults')}'. Must be in the range [0, 500].`,
      );
    const start = query.has('pageToken') ? decodePageToken(query.get('pageToken')!) : 0;
    const size = max === 0 ? 500 : max;
    const page = items.slice(start, start + size);
    return start + size < items.length
      ? { items: page, nextPageToken: encodePageToken(start + size) }
      : { items: page };
  }

  function list(kind: string, selfLink: string, items: Json[], query: URLSearchParams): Json {
    const filter = compileFilter(query.get('filter'));
    const page = paginate(items.filter(filter), query);
    return {
      kind,
      id: selfLink.replace(API_BASE, ''),
      // proto3-JSON leaves empty repeated fields out, as GCE does.
      ...nonEmpty('items', page.items),
      ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}),
      selfLink,
    };
  }

  function aggregated(
    kind: string,
    selfLink: string,
    field: string,
    byZone: Map<string, Json[]>,
    query: URLSearchParams,
  ): Json {
    const filter = compileFilter(query.get('filter'));
    const flat: { scope: string; item: Json }[] = [];
    for (const zone of [...zones, ...downZones]) {
      for (const item of byZone.get(zone) ?? [])
        if (filter(item)) flat.push({ scope: `zones/${zone}`, item });
    }
    const page = paginate(flat as unknown as Json[], query) as unknown as {
      items: { scope: string; item: Json }[];
      nextPageToken?: string;
    };
    const items: Record<string, Json> = {};
    for (const zone of [...zones, ...downZones]) {
      const inZone = page.items.filter((entry) => entry.scope === `zones/${zone}`).map((entry) => entry.item);
      items[`zones/${zone}`] =
        inZone.length > 0
          ? { [field]: inZone }
          : {
              warning: {
                code: 'NO_RESULTS_ON_PAGE',
                message: `There are no results for scope 'zones/${zone}' on this page.`,
                data: [{ key: 'scope', value: `zones/${zone}` }],
              },
            };
    }
    return {
      kind,
      id: selfLink.replace(API_BASE, ''),
      items,
      ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}),
      selfLink,
    };
  }

  function zoneInstances(zone: string): Json[] {
    return [...instances.values()].filter((r) => r.zone === zone).map((r) => r.resource);
  }

  function zoneOperations(zone: string): Json[] {
    return [...operations.values()].filter((o) => o.zone === zone).map((o) => o.resource);
  }

  async function waitFor(op: OperationRecord): Promise<Json> {
    if (op.resource.status === 'DONE') return op.resource;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        op.waiters.delete(wake);
        resolve();
      }, operationWaitMs);
      timer.unref();
      const wake = () => {
        clearTimeout(timer);
        resolve();
      };
      op.waiters.add(wake);
    });
    return op.resource;
  }

  type Route = [
    method: string,
    pattern: RegExp,
    name: string,
    handler: (params: string[], query: URLSearchParams, body: Json, project: string) => Json | Promise<Json>,
  ];
  const P = '^/compute/v1/projects/([^/]+)';
  const routes: Route[] = [
    [
      'POST',
      new RegExp(`${P}/zones/([^/]+)/instances$`),
      'instances.insert',
      ([zone], q, body) => once(q, () => insertInstance(zone!, body)),
    ],
    [
      'GET',
      new RegExp(`${P}/zones/([^/]+)/instances$`),
      'instances.list',
      ([zone], q) => {
        checkZone(zone!);
        return list('compute#instanceList', `${zoneUrl(zone!)}/instances`, zoneInstances(zone!), q);
      },
    ],
    [
      'GET',
      new RegExp(`${P}/aggregated/instances$`),
      'instances.aggregatedList',
      (_m, q) =>
        aggregated(
          'compute#instanceAggregatedList',
          `${API_BASE}projects/${projectId}/aggregated/instances`,
          'instances',
          new Map([...zones, ...downZones].map((z) => [z, zoneInstances(z)])),
          q,
        ),
    ],
    [
      'GET',
      new RegExp(`${P}/zones/([^/]+)/instances/([^/]+)$`),
      'instances.get',
      ([zone, name]) => getInstance(zone!, name!).resource,
    ],
    [
      'DELETE',
      new RegExp(`${P}/zones/([^/]+)/instances/([^/]+)$`),
      'instances.delete',
      ([zone, name], q) => once(q, () => deleteInstance(zone!, name!)),
    ],
    [
      'GET',
      new RegExp(`${P}/zones/([^/]+)/instances/([^/]+)/getGuestAttributes$`),
      'instances.getGuestAttributes',
      ([zone, name], q) => guestAttributes(getInstance(zone!, name!), q),
    ],
    [
      'GET',
      new RegExp(`${P}/zones/([^/]+)/operations$`),
      'zoneOperations.list',
      ([zone], q) => {
        checkZone(zone!);
        return list('compute#operationList', `${zoneUrl(zone!)}/operations`, zoneOperations(zone!), q);
      },
    ],
    [
      'GET',
      new RegExp(`${P}/zones/([^/]+)/operations/([^/]+)$`),
      'zoneOperations.get',
      ([zone, name]) => getOperation(zone!, name!).resource,
    ],
    [
      'POST',
      new RegExp(`${P}/zones/([^/]+)/operations/([^/]+)/wait$`),
      'zoneOperations.wait',
      ([zone, name]) => waitFor(getOperation(zone!, name!)),
    ],
    [
      'GET',
      new RegExp(`${P}/global/operations$`),
      'globalOperations.list',
      (_m, q) =>
        list(
          'compute#operationList',
          `${API_BASE}projects/${projectId}/global/operations`,
          [...operations.values()].filter((o) => o.zone === undefined).map((o) => o.resource),
          q,
        ),
    ],
    [
      'GET',
      new RegExp(`${P}/global/operations/([^/]+)$`),
      'globalOperations.get',
      ([name]) => getOperation(undefined, name!).resource,
    ],
    [
      'POST',
      new RegExp(`${P}/global/operations/([^/]+)/wait$`),
      'globalOperations.wait',
      ([name]) => waitFor(getOperation(undefined, name!)),
    ],
    [
      'GET',
      new RegExp(`${P}/aggregated/operations$`),
      'globalOperations.aggregatedList',
      (_m, q) =>
        aggregated(
          'compute#operationAggregatedList',
          `${API_BASE}projects/${projectId}/aggregated/operations`,
          'operations',
          new Map([...zones, ...downZones].map((z) => [z, zoneOperations(z)])),
          q,
        ),
    ],
    [
      'GET',
      new RegExp(`${P}/global/images$`),
      'images.list',
      (_p, q, _b, project) =>
        list(
          'compute#imageList',
          `${API_BASE}projects/${project}/global/images`,
          images.filter((i) => i.project === project).map(publicImage),
          q,
        ),
    ],
    [
      'GET',
      new RegExp(`${P}/global/images/family/([^/]+)$`),
      'images.getFromFamily',
      ([family], _q, _b, project) => {
        const image = newestInFamily(project!, family!);
        if (!image) throw notFound(`projects/${project}/global/images/family/${family}`);
        return publicImage(image);
      },
    ],
    [
      'GET',
      new RegExp(`${P}/global/images/([^/]+)$`),
      'images.get',
      ([name], _q, _b, project) => {
        const image = images.find((i) => i.project === project && i.name === name);
        if (!image) throw notFound(`projects/${project}/global/images/${name}`);
        return publicImage(image);
      },
    ],
    [
      'GET',
      new RegExp(`${P}/zones/([^/]+)/machineTypes$`),
      'machineTypes.list',
      ([zone], q) => {
        checkZone(zone!);
        return list(
          'compute#machineTypeList',
          `${zoneUrl(zone!)}/machineTypes`,
          [...machineTypes].map((t) => machineTypeResource(zone!, t)),
          q,
        );
      },
    ],
    [
      'GET',
      new RegExp(`${P}/zones/([^/]+)/machineTypes/([^/]+)$`),
      'machineTypes.get',
      ([zone, name]) => {
        checkZone(zone!);
        if (!machineTypes.has(name!))
          throw notFound(`projects/${projectId}/zones/${zone}/machineTypes/${name}`);
        return machineTypeResource(zone!, name!);
      },
    ],
    [
      'GET',
      new RegExp(`${P}/zones$`),
      'zones.list',
      (_m, q) =>
        list(
          'compute#zoneList',
          `${API_BASE}projects/${projectId}/zones`,
          [...zones, ...downZones].map(zoneResource),
          q,
        ),
    ],
    [
      'GET',
      new RegExp(`${P}/zones/([^/]+)$`),
      'zones.get',
      ([zone]) => {
        checkZone(zone!);
        return zoneResource(zone!);
      },
    ],
    [
      'GET',
      new RegExp(`${P}/global/networks/([^/]+)$`),
      'networks.get',
      ([name]) => {
        if (!networks.has(name!)) throw notFound(`projects/${projectId}/global/networks/${name}`);
        return {
          kind: 'compute#network',
          id: String(4000 + [...networks].indexOf(name!)),
          name,
          autoCreateSubnetworks: true,
          selfLink: `${API_BASE}projects/${projectId}/global/networks/${name}`,
        };
      },
    ],
    [
      'GET',
      new RegExp(`${P}/regions/([^/]+)/subnetworks/([^/]+)$`),
      'subnetworks.get',
      ([region, name]) => {
        if (!subnetworks.has(`${region}/${name}`))
          throw notFound(`projects/${projectId}/regions/${region}/subnetworks/${name}`);
        return {
          kind: 'compute#subnetwork',
          id: String(5000 + [...subnetworks].indexOf(`${region}/${name}`)),
          name,
          region: `${API_BASE}projects/${projectId}/regions/${region}`,
          network: `${API_BASE}projects/${projectId}/global/networks/default`,
          ipCidrRange: '10.128.0.0/20',
          selfLink: `${API_BASE}projects/${projectId}/regions/${region}/subnetworks/${name}`,
        };
      },
    ],
  ];

  function getInstance(zone: string, name: string): InstanceRecord {
    checkZone(zone);
    const record = instances.get(key(zone, name));
    if (!record) throw notFound(`projects/${projectId}/zones/${zone}/instances/${name}`);
    return record;
  }

  function getOperation(zone: string | undefined, name: string): OperationRecord {
    if (zone !== undefined) checkZone(zone);
    const op = operations.get(name);
    if (!op || op.zone !== zone)
      throw notFound(
        `projects/${projectId}/${zone === undefined ? 'global' : `zones/${zone}`}/operations/${name}`,
      );
    return op;
  }

  function guestAttributes(record: InstanceRecord, query: URLSearchParams): Json {
    const variableKey = query.get('variableKey');
    const queryPath = query.get('queryPath');
    if (variableKey) {
      const value = record.guestAttributes[variableKey];
      if (value === undefined) throw notFound(`guest attribute ${variableKey}`);
      return {
        kind: 'compute#guestAttributes',
        variableKey,
        variableValue: value,
        selfLink: `${record.resource.selfLink}/guestAttributes/${variableKey}`,
      };
    }
    const prefix = queryPath ?? '';
    const items = Object.entries(record.guestAttributes)
      .filter(([k]) => k.startsWith(prefix))
      .map(([k, value]) => {
        const slash = k.lastIndexOf('/');
        return { namespace: k.slice(0, slash), key: k.slice(slash + 1), value };
      });
    if (items.length === 0) throw notFound(`guest attributes ${prefix}`);
    return {
      kind: 'compute#guestAttributes',
      queryPath: prefix,
      queryValue: { items },
      selfLink: `${record.resource.selfLink}/guestAttributes/${prefix}`,
    };
  }

  function compileFilter(filter: string | null) {
    try {
      return parseFilter(filter ?? undefined);
    } catch (error) {
      if (error instanceof FilterSyntaxError)
        throw badRequest(`Invalid value for field 'filter': '${filter}'. ${error.message}`);
      throw error;
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const route = routes.find(([method, pattern]) => method === req.method && pattern.test(url.pathname));
    try {
      // Read the whole request first, so every answer (errors included) leaves the connection reusable.
      const body = await readBody(req);
      if (!route)
        throw new HttpError(
          404,
          'notFound',
          `The requested URL ${url.pathname} was not found on this server.`,
        );
      const [, pattern, name, handler] = route;
      counts.set(name, (counts.get(name) ?? 0) + 1);
      if (!/^Bearer \S+/.test(req.headers.authorization ?? '')) {
        throw new HttpError(
          401,
          'authError',
          'Request is missing required authentication credential. Expected OAuth 2 access token.',
        );
      }
      const match = pattern.exec(url.pathname)!.map((part) => decodeURIComponent(part));
      if (match[1] !== projectId && !name.startsWith('images.')) throw notFound(`projects/${match[1]}`);
      const fault = faults.takeHttp(name);
      if (fault) throw new HttpError(fault.status, fault.reason, fault.message);
      const result = await handler(match.slice(2), url.searchParams, body, match[1]!);
      send(res, 200, result);
    } catch (error) {
      if (error instanceof HttpError) {
        send(res, error.status, {
          error: {
            code: error.status,
            message: error.message,
            errors: [
              {
                message: error.message,
                domain:
                  error.status === 403 && error.reason === 'rateLimitExceeded' ? 'usageLimits' : 'global',
                reason: error.reason,
              },
            ],
            status: STATUS_NAMES[error.status] ?? 'UNKNOWN',
          },
        });
      } else {
        const message = error instanceof Error ? error.message : String(error);
        send(res, 500, {
          error: {
            code: 500,
            message,
            errors: [{ message, domain: 'global', reason: 'backendError' }],
            status: 'INTERNAL',
          },
        });
      }
    }
  }

  const server = createServer((req, res) => void handle(req, res));
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    endpoint: { apiEndpoint: '127.0.0.1', port, protocol: 'http' },
    url: `http://127.0.0.1:${port}`,
    projectId,
    sshPort,
    faults,
    calls: {
      count: (method) => counts.get(method) ?? 0,
      snapshot: () => Object.fromEntries([...counts].sort(([a], [b]) => a.localeCompare(b))),
      total: () => [...counts.values()].reduce((a, b) => a + b, 0),
      reset: () => counts.clear(),
    },
    instances: () =>
      [...instances.values()].map((r) => ({
        name: r.name,
        zone: r.zone,
        id: r.id,
        status: r.status,
        address: r.address,
        sshPort,
        labels: { ...(r.resource.labels as Record<string, string>) },
        metadata: { ...r.metadata },
        resource: structuredClone(r.resource),
        preempted: r.preempted,
      })),
    operations: () => [...operations.values()].map((o) => structuredClone(o.resource)),
    preempt,
    addImage,
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const op of operations.values()) for (const wake of op.waiters) wake();
      const records = [...instances.values()];
      for (const record of records) removeInstance(record);
      await Promise.all(records.map((record) => stopGuest(record)));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function defaultBooter(): Promise<GceGuestBooter> {
  const { gceSshdGuestBooter } = await import('./gce-emulator-sshd.js');
  return gceSshdGuestBooter();
}

function nonEmpty<T>(field: string, items: T[] | undefined): Record<string, T[]> {
  return items && items.length > 0 ? { [field]: items } : {};
}

function key(zone: string, name: string): string {
  return `${zone}/${name}`;
}

function regionOf(zone: string): string {
  return zone.replace(/-[a-z]$/, '');
}

function lastSegment(url: string): string {
  return url.slice(url.lastIndexOf('/') + 1);
}

function stringField(body: Json, field: string): string {
  const value = body[field];
  if (typeof value !== 'string' || value === '')
    throw badRequest(`Invalid value for field 'resource.${field}': ''. Must be specified.`);
  return value;
}

function badRequest(message: string): HttpError {
  return new HttpError(400, 'invalid', message);
}

function notFound(resource: string): HttpError {
  return new HttpError(404, 'notFound', `The resource '${resource}' was not found`);
}

function encodePageToken(offset: number): string {
  return Buffer.from(`offset:${offset}`).toString('base64url');
}

function decodePageToken(token: string): number {
  const match = /^offset:(\d+)$/.exec(Buffer.from(token, 'base64url').toString());
  if (!match) throw badRequest(`Invalid value for field 'pageToken': '${token}'.`);
  return Number(match[1]);
}

async function readBody(req: IncomingMessage): Promise<Json> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  if (chunks.length === 0) return {};
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null ? (parsed as Json) : {};
  } catch {
    throw badRequest('Invalid JSON payload received.');
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=UTF-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** `user:ssh-ed25519 AAAA… comment` lines of the `ssh-keys` metadata item. */
export function parseSshKeys(value: string): { user: string; publicKey: string }[] {
  return value
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && line.includes(':'))
    .map((line) => {
      const colon = line.indexOf(':');
      return { user: line.slice(0, colon), publicKey: line.slice(colon + 1).trim() };
    });
}

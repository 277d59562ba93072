import { randomInt } from 'node:crypto';
import { GceEmulatorFaults } from './gce-emulator-faults.js';
import { HttpError } from './gce-emulator-http.js';
import {
  DEFAULT_TIME_FACTOR,
  type GceEmulatorTimings,
  type MsRange,
  resolveTimings,
} from './gce-emulator-timing.js';
import type {
  GceEmulatorOptions,
  GceGuest,
  GceGuestBooter,
  GceInstanceStatus,
} from './gce-emulator-types.js';

export const API_BASE = 'https://www.googleapis.com/compute/v1/';
const DEFAULT_ZONES = ['us-central1-a', 'us-central1-b', 'us-central1-c', 'us-east1-b'];
const DEFAULT_MACHINE_TYPES = [
  'e2-standard-2',
  ...[1, 2, 4, 8, 16].map((n) => `n1-standard-${n}`),
  ...[2, 4, 8, 16].map((n) => `n2-standard-${n}`),
  'g2-standard-4',
  'g2-standard-24',
  'a2-highgpu-1g',
];

export type Json = Record<string, unknown>;

export interface InstanceRecord {
  resource: Json;
  name: string;
  zone: string;
  id: string;
  status: GceInstanceStatus;
  address: string;
  metadata: Record<string, string>;
  guest: GceGuest | undefined;
  /** The guest while it boots (undefined once it failed). */
  booting: Promise<GceGuest | undefined> | undefined;
  /** Every status the instance had, in order. */
  statusHistory: GceInstanceStatus[];
  guestAttributes: Record<string, string>;
  timers: NodeJS.Timeout[];
  preempted: boolean;
  deleting: boolean;
  /** The operation still running on the instance: another mutation meanwhile is `resourceNotReady`. */
  busyWith: OperationRecord | undefined;
  /** Whether its image has the guest agent. */
  guestAgent: boolean;
  imageUsers: readonly string[];
  /** Serial port 1: what the guest wrote, and the byte offset of `text`'s first byte (older bytes dropped). */
  serial: { text: string; start: number };
}

export interface OperationRecord {
  resource: Json;
  zone: string | undefined;
  waiters: Set<() => void>;
  /** Lists show the operation only from this time on (`Date.now()` ms): GCE lists some events late. */
  listedFrom: number;
}

/** One emulator's configuration and everything it holds; the emulator's parts share it. */
export class GceEmulatorState {
  readonly projectId: string;
  readonly zones: readonly string[];
  readonly downZones: ReadonlySet<string>;
  readonly machineTypes: ReadonlySet<string>;
  readonly networks: ReadonlySet<string>;
  /** `region/name` pairs. */
  readonly subnetworks: ReadonlySet<string>;
  readonly timings: GceEmulatorTimings;
  readonly pageSize: number;
  readonly sshPort: number;
  readonly booter: GceGuestBooter | 'none';
  readonly faults = new GceEmulatorFaults();
  /** Calls per method. */
  readonly counts = new Map<string, number>();
  /** By `instanceKey(zone, name)`. */
  readonly instances = new Map<string, InstanceRecord>();
  /** By operation name. */
  readonly operations = new Map<string, OperationRecord>();
  /** The operation of each mutation's `requestId`. */
  readonly requests = new Map<string, OperationRecord>();
  /** Image resources with their owning `project` (which answers leave out). */
  readonly images: Json[] = [];
  stopped = false;
  readonly #addressOctet: number;
  readonly #usedAddresses = new Set<string>();
  #nextId: bigint;

  constructor(options: GceEmulatorOptions, booter: GceGuestBooter | 'none') {
    this.projectId = options.projectId ?? 'workerkit-emulator';
    this.zones = options.zones ?? DEFAULT_ZONES;
    this.downZones = new Set(options.downZones ?? []);
    this.machineTypes = new Set(options.machineTypes ?? DEFAULT_MACHINE_TYPES);
    this.networks = new Set(options.networks ?? ['default']);
    this.subnetworks = new Set(options.subnetworks ?? this.zones.map((z) => `${regionOf(z)}/default`));
    const overrides: Partial<GceEmulatorTimings> = {};
    for (const [key, value] of Object.entries(options.timings ?? {})) {
      if (value === undefined) continue;
      const range = key.endsWith('Ms') && key !== 'operationWaitMs' && key !== 'runDurationSecondMs';
      (overrides as Record<string, unknown>)[key] =
        range && typeof value === 'number' ? ([value, value] as MsRange) : value;
    }
    if (options.operationWaitMs !== undefined) overrides.operationWaitMs = options.operationWaitMs;
    this.timings = resolveTimings(
      options.profile ?? 'realistic',
      options.timeFactor ?? DEFAULT_TIME_FACTOR,
      overrides,
    );
    this.pageSize = options.defaultPageSize ?? 500;
    this.sshPort = options.sshPort ?? randomInt(20_000, 60_000);
    this.#addressOctet = options.addressOctet ?? randomInt(100, 200);
    this.booter = booter;
    this.#nextId = BigInt(randomInt(1_000_000, 9_000_000)) * 1_000_000_000_000n;
  }

  /** UP zones, then DOWN ones: the order lists and aggregated lists use. */
  get allZones(): string[] {
    return [...this.zones, ...this.downZones];
  }

  newId(): string {
    this.#nextId += BigInt(randomInt(1, 1_000_000));
    return this.#nextId.toString();
  }

  zoneUrl(zone: string): string {
    return `${API_BASE}projects/${this.projectId}/zones/${zone}`;
  }

  allocateAddress(): string {
    for (let i = 0; i < 10_000; i++) {
      const address = `127.${this.#addressOctet}.${randomInt(0, 256)}.${randomInt(2, 255)}`;
      if (!this.#usedAddresses.has(address)) {
        this.#usedAddresses.add(address);
        return address;
      }
    }
    throw new HttpError(503, 'backendError', 'no guest address left');
  }

  releaseAddress(address: string): void {
    this.#usedAddresses.delete(address);
  }
}

export function now(): string {
  return new Date().toISOString();
}

export function instanceKey(zone: string, name: string): string {
  return `${zone}/${name}`;
}

export function regionOf(zone: string): string {
  return zone.replace(/-[a-z]$/, '');
}

export function lastSegment(url: string): string {
  return url.slice(url.lastIndexOf('/') + 1);
}

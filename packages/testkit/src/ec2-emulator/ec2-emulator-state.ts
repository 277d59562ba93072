import { randomBytes } from 'node:crypto';
import { defaultImages, defaultSecurityGroups, defaultSubnets } from './ec2-catalog.js';
import type { Ec2EmulatorOptions } from './ec2-emulator.js';
import type {
  EmulatedImage,
  EmulatedInstance,
  EmulatedKeyPair,
  EmulatedSecurityGroup,
  EmulatedSubnet,
} from './ec2-emulator-types.js';
import { Ec2Faults } from './ec2-faults.js';
import { type Ec2Guest, type Ec2GuestBooter, ec2SshdGuestBooter } from './ec2-guest.js';
import { DEFAULT_INSTANCE_TYPES, type EmulatedInstanceType } from './ec2-instance-types.js';
import { DEFAULT_TIME_FACTOR, type Ec2TimingProfile, type Ec2Timings, resolveTimings } from './ec2-timing.js';

export interface InstanceRecord {
  data: EmulatedInstance;
  guest?: Ec2Guest;
  booting?: Promise<void>;
  timers: NodeJS.Timeout[];
  runningAt?: number;
  /** When it reached `terminated` (it still counts toward limits for `timings.quotaLinger`). */
  terminatedAt?: number;
  /** Aborted when the instance's scheduled lifecycle (its boot) is cancelled. */
  lifecycle: AbortController;
  /** Resolves once a spot interruption (notice, then reclaim) is over. */
  interrupted?: Promise<void>;
}

export interface Reservation {
  reservationId: string;
  instanceIds: string[];
  /** What RunInstances was asked (all but the ClientToken), to compare a repeated ClientToken. */
  fingerprint: string;
}

/** One emulator's configuration and everything it holds; the emulator's parts share it. */
export class Ec2EmulatorState {
  readonly region: string;
  readonly accountId: string;
  readonly credentials: { accessKeyId: string; secretAccessKey: string };
  readonly profile: Ec2TimingProfile;
  readonly timings: Ec2Timings;
  readonly instanceTypes: ReadonlyMap<string, EmulatedInstanceType>;
  readonly subnets: readonly EmulatedSubnet[];
  readonly securityGroups: readonly EmulatedSecurityGroup[];
  /** Running On-Demand vCPUs the account may have (undefined: no limit). */
  readonly vcpuLimit: number | undefined;
  readonly bootGuest: Ec2GuestBooter;
  /** Every instance's sshd listens on it, each on its own address. */
  readonly sshPort: number;
  /** Base URL of the emulator's HTTP server (instance metadata is served under it). */
  endpoint = '';
  readonly faults = new Ec2Faults();
  /** Calls per action. */
  readonly calls: Record<string, number> = {};
  /** Error answers per code. */
  readonly errors: Record<string, number> = {};
  /** By image id. */
  readonly images = new Map<string, EmulatedImage>();
  /** By key pair id. */
  readonly keyPairs = new Map<string, EmulatedKeyPair>();
  /** By instance id. */
  readonly instances = new Map<string, InstanceRecord>();
  /** By reservation id, in launch order. */
  readonly reservations = new Map<string, Reservation>();
  /** The reservation each RunInstances ClientToken made. */
  readonly clientTokens = new Map<string, Reservation>();
  /** Guests still being stopped. */
  readonly guestStops = new Set<Promise<void>>();
  stopped = false;
  readonly #addressBase = [64 + Math.floor(Math.random() * 190), Math.floor(Math.random() * 256)] as const;
  #nextHost = 0;

  constructor(options: Ec2EmulatorOptions, sshPort: number) {
    this.region = options.region ?? 'us-east-1';
    this.accountId = options.accountId ?? '123456789012';
    this.credentials = options.credentials ?? {
      accessKeyId: 'AKIAEMULATOR',
      secretAccessKey: 'emulator-secret',
    };
    this.profile = options.profile ?? 'realistic';
    this.timings = resolveTimings(
      this.profile,
      options.timeFactor ?? DEFAULT_TIME_FACTOR,
      options.timings ?? {},
    );
    this.instanceTypes = new Map(
      (options.instanceTypes ?? DEFAULT_INSTANCE_TYPES).map((type) => [type.instanceType, type]),
    );
    this.subnets = options.subnets ?? defaultSubnets(this.region);
    this.securityGroups = options.securityGroups ?? defaultSecurityGroups();
    this.vcpuLimit = options.vcpuLimit;
    this.bootGuest = options.bootGuest ?? ec2SshdGuestBooter;
    this.sshPort = sshPort;
    for (const image of options.images ?? defaultImages(this.accountId))
      this.images.set(image.imageId, image);
  }

  /** A 127.a.b.c address of its own for an instance (all share one SSH port). */
  allocateAddress(): string {
    this.#nextHost += 1;
    const third = Math.floor(this.#nextHost / 254);
    const fourth = (this.#nextHost % 254) + 1;
    return `127.${this.#addressBase[0]}.${(this.#addressBase[1] + third) % 256}.${fourth}`;
  }

  /**
   * The instance of an id as other calls see it: eventual consistency hides a new id for a
   * while after RunInstances.
   */
  visibleInstance(id: string, now = Date.now()): InstanceRecord | undefined {
    const record = this.instances.get(id);
    return record && record.data.visibleAt.getTime() <= now ? record : undefined;
  }
}

/** `bytes` random bytes as hex, for resource ids. */
export function hex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

import { randomBytes } from 'node:crypto';
import { DEFAULT_INSTANCE_TYPES, defaultImages } from './ec2-catalog.js';
import type { Ec2EmulatorOptions } from './ec2-emulator.js';
import type { EmulatedImage, EmulatedInstance, EmulatedKeyPair } from './ec2-emulator-types.js';
import { Ec2Faults } from './ec2-faults.js';
import { type Ec2Guest, type Ec2GuestBooter, ec2SshdGuestBooter } from './ec2-guest.js';

export interface InstanceRecord {
  data: EmulatedInstance;
  guest?: Ec2Guest;
  booting?: Promise<void>;
  timers: NodeJS.Timeout[];
  runningAt?: number;
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
  readonly bootDelayMs: number;
  readonly sshDelayMs: number;
  readonly terminateDelayMs: number;
  readonly instanceTypes: ReadonlySet<string>;
  readonly bootGuest: Ec2GuestBooter;
  /** Every instance's sshd listens on it, each on its own address. */
  readonly sshPort: number;
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
    this.bootDelayMs = options.bootDelayMs ?? 0;
    this.sshDelayMs = options.sshDelayMs ?? 0;
    this.terminateDelayMs = options.terminateDelayMs ?? 0;
    this.instanceTypes = new Set(options.instanceTypes ?? DEFAULT_INSTANCE_TYPES);
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
}

/** `bytes` random bytes as hex, for resource ids. */
export function hex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

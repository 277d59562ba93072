import type { GceEmulatorTimings, GceTimingProfile, MsRange } from './gce-emulator-timing.js';

/** Every status of compute.proto's `Instance.Status` (UNDEFINED_STATUS aside). */
export const GCE_INSTANCE_STATUSES = [
  'PENDING',
  'PROVISIONING',
  'STAGING',
  'RUNNING',
  'STOPPING',
  'STOPPED',
  'SUSPENDING',
  'SUSPENDED',
  'REPAIRING',
  'TERMINATED',
  'DEPROVISIONING',
] as const;

export type GceInstanceStatus = (typeof GCE_INSTANCE_STATUSES)[number];

/** What a booted guest exposes: where its sshd listens and the host keys the guest agent publishes. */
export interface GceGuest {
  /** Host public keys by type, as the guest agent writes them to `hostkeys/<type>`: base64 key blobs. */
  hostKeys: Record<string, string>;
  /** Stops the guest (its sshd, its startup script and whatever that left running); called on delete, preemption and emulator stop. */
  stop(): Promise<void>;
}

/** What the guest writes to the emulator: its serial console, and a guest-initiated power-off. */
export interface GceGuestHost {
  /** Appends to serial port 1 (`instances.getSerialPortOutput`). */
  console(text: string): void;
  /** The guest ran `poweroff` (or `shutdown`, `halt`): the instance stops (TERMINATED). */
  poweroff(): void;
  /** How long one second of the guest's `at now + N minutes` lasts, in ms. */
  secondMs: number;
}

/** What the emulator knows about an instance when it boots its guest. */
export interface GceGuestSpec {
  name: string;
  /** The instance's 127.x.y.z address (networkIP and natIP). */
  address: string;
  port: number;
  /** `user:ssh-ed25519 AAAA… comment` lines from the `ssh-keys` metadata item. */
  sshKeys: { user: string; publicKey: string }[];
  /** The `startup-script` metadata item; the guest runs it as root at boot, its output on the console. */
  startupScript: string | undefined;
  /**
   * Whether the image has the guest agent: it creates the `ssh-keys` users and publishes host
   * keys as guest attributes. Without it only the image's own `users` exist, with no keys.
   */
  guestAgent: boolean;
  /** Users the image has before any agent runs (e.g. `travis`). */
  imageUsers: readonly string[];
  host: GceGuestHost;
}

/** Boots one guest; the default starts a private OpenSSH sshd (testkit `startSshd`). */
export type GceGuestBooter = (spec: GceGuestSpec) => Promise<GceGuest>;

export interface GceEmulatorImage {
  name: string;
  family?: string;
  /** The project that owns it (default: the emulator's project). */
  project?: string;
  /** ISO time; newer images sort later (default: now, in insertion order). */
  creationTimestamp?: string;
  status?: 'READY' | 'PENDING' | 'FAILED';
  /**
   * Whether the image carries the guest agent (default true). Without it: no guest attributes
   * (no host keys there), the `ssh-keys` metadata is not applied; the startup script still runs.
   */
  guestAgent?: boolean;
  /** Users that exist in the image (default `travis`); their `~/.ssh/authorized_keys` is read by sshd. */
  users?: string[];
}

export interface GceEmulatorOptions {
  /** Default `workerkit-emulator`. */
  projectId?: string;
  /** Zones; all UP. Default `us-central1-a`, `us-central1-b`, `us-central1-c`, `us-east1-b`. */
  zones?: string[];
  /** Zones that exist but report status DOWN. */
  downZones?: string[];
  images?: GceEmulatorImage[];
  /** Machine types available in every zone (default: n1-/n2-standard-{1..16} and e2-standard-2). */
  machineTypes?: string[];
  networks?: string[];
  /** `region/name` pairs, e.g. `us-central1/default`. */
  subnetworks?: string[];
  /**
   * `realistic` (the default): Compute Engine's documented delays times `timeFactor`; `instant`:
   * no delays, on request. See `GceTimingProfile`.
   */
  profile?: GceTimingProfile;
  /** Multiplies the realistic profile's Google seconds (default 0.01: a 30 s insert takes 300 ms). */
  timeFactor?: number;
  /** Overrides single clocks of the profile, in ms (a number is a fixed delay, a pair a random range). */
  timings?: {
    [K in keyof GceEmulatorTimings]?: GceEmulatorTimings[K] extends MsRange
      ? number | MsRange
      : GceEmulatorTimings[K];
  };
  /** Shorthand for `timings.operationWaitMs`. */
  operationWaitMs?: number;
  /** The port every guest's sshd listens on (default: a random free-looking high port, one per emulator). */
  sshPort?: number;
  /** Boots guests; `'none'` runs instances without any guest (API-only tests). Default: a real sshd. */
  guest?: GceGuestBooter | 'none';
  /** The second octet of guest addresses 127.<n>.x.y (default: random 100–199, so emulators in parallel do not collide). */
  addressOctet?: number;
  /** Page size when a list request gives no `maxResults` (default 500, as GCE). */
  defaultPageSize?: number;
}

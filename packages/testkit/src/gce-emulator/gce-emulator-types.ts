export type GceInstanceStatus = 'PROVISIONING' | 'STAGING' | 'RUNNING' | 'STOPPING' | 'TERMINATED';

/** What a booted guest exposes: where its sshd listens and the host keys the guest agent publishes. */
export interface GceGuest {
  /** Host public keys by type, as the guest agent writes them to `hostkeys/<type>`: base64 key blobs. */
  hostKeys: Record<string, string>;
  /** Stops the guest (its sshd); called on delete, preemption and emulator stop. */
  stop(): Promise<void>;
}

/** What the emulator knows about an instance when it boots its guest. */
export interface GceGuestSpec {
  name: string;
  /** The instance's 127.x.y.z address (networkIP and natIP). */
  address: string;
  port: number;
  /** `user:ssh-ed25519 AAAA… comment` lines from the `ssh-keys` metadata item. */
  sshKeys: { user: string; publicKey: string }[];
  /** The `startup-script` metadata item. */
  startupScript: string | undefined;
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
   * The boot clock, in ms: PROVISIONING → STAGING after `provisioningMs`, STAGING → RUNNING
   * after `stagingMs` (the guest boots during it), delete finishes after `stoppingMs`.
   * Default 40/40/20 ms; all 0 for an instant boot. `runDurationSecondMs` is how long one second
   * of `scheduling.maxRunDuration` lasts (default 1000; 1 lets a test watch GCE's server-side
   * deletion happen within a second).
   */
  timings?: {
    provisioningMs?: number;
    stagingMs?: number;
    stoppingMs?: number;
    runDurationSecondMs?: number;
  };
  /** How long `operations.wait` holds a request before answering with the unfinished operation (default 10 s; GCE: 2 min). */
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

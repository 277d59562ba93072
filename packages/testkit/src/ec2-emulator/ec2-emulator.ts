import type { AddressInfo } from 'node:net';
import { freePort } from '../sshd/free-port.js';
import { Ec2EmulatorState } from './ec2-emulator-state.js';
import type {
  EmulatedImage,
  EmulatedInstance,
  EmulatedKeyPair,
  EmulatedSecurityGroup,
  EmulatedSubnet,
} from './ec2-emulator-types.js';
import type { Ec2Faults } from './ec2-faults.js';
import type { Ec2GuestBooter } from './ec2-guest.js';
import { createEc2Server } from './ec2-http.js';
import { cancelTimers, interrupt, type SpotInterruption, stopGuest } from './ec2-instance-lifecycle.js';
import type { EmulatedInstanceType } from './ec2-instance-types.js';
import { instanceMetadataEndpoint } from './ec2-metadata.js';
import type { Ec2TimingProfile, Ec2Timings } from './ec2-timing.js';

export interface Ec2EmulatorOptions {
  /** Default "us-east-1". */
  region?: string;
  /** The account id that owns everything created (default "123456789012"). */
  accountId?: string;
  /** Static credentials the emulator accepts (others get AuthFailure). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /**
   * `realistic` (default): pending, SSH-up, console posting, shutdown, eventual consistency and
   * the spot notice take AWS's documented times, multiplied by `timeFactor`. `instant`: no
   * delays at all — RunInstances answers (still "pending", as EC2 does) once the guest's sshd
   * is up, the console is posted at once, new ids are visible at once; for tests that ask.
   */
  profile?: Ec2TimingProfile;
  /** Scale of the realistic profile (default 0.01: a 60 s boot takes 0.6 s). */
  timeFactor?: number;
  /** Ranges in ms (not scaled) replacing the profile's, e.g. `{ consistency: [500, 500] }`. */
  timings?: Partial<Ec2Timings>;
  /** AMIs (default: the account's x86_64 and arm64 build images and a public Amazon Linux one). */
  images?: EmulatedImage[];
  /** Instance types RunInstances accepts (default: Xen, Nitro and Graviton types, `DEFAULT_INSTANCE_TYPES`). */
  instanceTypes?: readonly EmulatedInstanceType[];
  /** Subnets (default: two in the default VPC, `subnet-0123abcd` first). */
  subnets?: readonly EmulatedSubnet[];
  /** Security groups (default: the default VPC's `default` and `builds` = `sg-0123abcd`). */
  securityGroups?: readonly EmulatedSecurityGroup[];
  /** On-Demand vCPUs the account may run at once; over it RunInstances answers `VcpuLimitExceeded`. */
  vcpuLimit?: number;
  /** Boots an instance's guest (default: a private OpenSSH sshd on the instance's address). */
  bootGuest?: Ec2GuestBooter;
}

export interface Ec2Emulator {
  /** `http://127.0.0.1:<port>`: the `endpoint` for `EC2Client`. */
  readonly endpoint: string;
  readonly region: string;
  readonly credentials: { accessKeyId: string; secretAccessKey: string };
  readonly accountId: string;
  /** The port every instance's sshd listens on (its address differs per instance). */
  readonly sshPort: number;
  /** The timings in force (the profile's, scaled, with overrides). */
  readonly timings: Readonly<Ec2Timings>;
  readonly faults: Ec2Faults;
  /** Calls per action, failed and throttled ones included. */
  readonly calls: Readonly<Record<string, number>>;
  /** Error answers per code (RequestLimitExceeded, InsufficientInstanceCapacity, …). */
  readonly errors: Readonly<Record<string, number>>;
  /** Sum of `calls`. */
  totalCalls(): number;
  /** Zeroes `calls` and `errors`. */
  resetCalls(): void;
  instances(): EmulatedInstance[];
  /**
   * Instances that still run or can run again: pending, running, stopping or stopped (not
   * those shutting down or terminated, which EC2 finishes on its own).
   */
  liveInstances(): EmulatedInstance[];
  keyPairs(): EmulatedKeyPair[];
  images(): EmulatedImage[];
  addImage(image: EmulatedImage): void;
  /**
   * Reclaims a spot instance as EC2 does: the interruption notice (metadata
   * `spot/instance-action`) for `noticeMs` (default the profile's two minutes), then
   * `shutting-down` with state reason `Server.SpotInstanceTermination`, the guest shut down
   * (by default its processes get SIGTERM first), then terminated. Resolves when the guest is gone.
   */
  interruptSpot(instanceId: string, options?: SpotInterruption): Promise<void>;
  /** The instance metadata endpoint of an instance (what its guest finds in `AWS_EC2_METADATA_SERVICE_ENDPOINT`). */
  metadataEndpoint(instanceId: string): string;
  /** Waits until every guest process started so far has exited. */
  settled(): Promise<void>;
  /** Kills every guest and closes the server. */
  stop(): Promise<void>;
}

/** Starts an EC2 API emulator on 127.0.0.1; see `Ec2EmulatorOptions`. */
export async function startEc2Emulator(options: Ec2EmulatorOptions = {}): Promise<Ec2Emulator> {
  // Every instance gets its own 127.a.b.c address; all share one SSH port, free on 127.0.0.1.
  const ec2 = new Ec2EmulatorState(options, await freePort('127.0.0.1'));
  const server = createEc2Server(ec2);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  ec2.endpoint = `http://127.0.0.1:${port}`;
  const { calls, errors, images, instances, keyPairs, guestStops } = ec2;

  const snapshot = (data: EmulatedInstance): EmulatedInstance => structuredClone(data);

  return {
    endpoint: `http://127.0.0.1:${port}`,
    region: ec2.region,
    credentials: ec2.credentials,
    accountId: ec2.accountId,
    sshPort: ec2.sshPort,
    timings: ec2.timings,
    faults: ec2.faults,
    calls,
    errors,
    totalCalls: () => Object.values(calls).reduce((sum, n) => sum + n, 0),
    resetCalls() {
      for (const key of Object.keys(calls)) delete calls[key];
      for (const key of Object.keys(errors)) delete errors[key];
    },
    instances: () => [...instances.values()].map((record) => snapshot(record.data)),
    liveInstances: () =>
      [...instances.values()]
        .filter((record) => record.data.state !== 'terminated' && record.data.state !== 'shutting-down')
        .map((record) => snapshot(record.data)),
    keyPairs: () => [...keyPairs.values()].map((pair) => structuredClone(pair)),
    images: () => [...images.values()].map((image) => structuredClone(image)),
    addImage(image) {
      images.set(image.imageId, image);
    },
    async interruptSpot(instanceId, interruption) {
      const record = instances.get(instanceId);
      if (!record) throw new Error(`no instance ${instanceId}`);
      if (record.data.market !== 'spot') throw new Error(`${instanceId} is not a spot instance`);
      await interrupt(ec2, record, interruption);
    },
    metadataEndpoint: (instanceId) => instanceMetadataEndpoint(ec2, instanceId),
    async settled() {
      await Promise.all([...instances.values()].map((record) => record.booting));
      while (guestStops.size > 0) await Promise.all([...guestStops]);
    },
    async stop() {
      ec2.stopped = true;
      for (const record of instances.values()) cancelTimers(record);
      await Promise.all([...instances.values()].map((record) => record.booting?.catch(() => {})));
      for (const record of instances.values()) stopGuest(ec2, record);
      while (guestStops.size > 0) await Promise.all([...guestStops]);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

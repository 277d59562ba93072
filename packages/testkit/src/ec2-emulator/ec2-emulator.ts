import type { AddressInfo } from 'node:net';
import { freePort } from '../sshd/free-port.js';
import { Ec2EmulatorState } from './ec2-emulator-state.js';
import type { EmulatedImage, EmulatedInstance, EmulatedKeyPair } from './ec2-emulator-types.js';
import type { Ec2Faults } from './ec2-faults.js';
import type { Ec2GuestBooter } from './ec2-guest.js';
import { createEc2Server } from './ec2-http.js';
import { cancelTimers, interrupt, stopGuest } from './ec2-instance-lifecycle.js';

export interface Ec2EmulatorOptions {
  /** Default "us-east-1". */
  region?: string;
  /** The account id that owns everything created (default "123456789012"). */
  accountId?: string;
  /** Static credentials the emulator accepts (others get AuthFailure). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /**
   * How long an instance stays `pending` (default 0: instant boot — RunInstances answers, still
   * "pending" as EC2 does, once the guest's sshd is up, so the next DescribeInstances sees it running).
   */
  bootDelayMs?: number;
  /** How long after `running` its sshd starts (default 0). */
  sshDelayMs?: number;
  /** How long `shutting-down` lasts before `terminated` (default 0). */
  terminateDelayMs?: number;
  /** AMIs (default: one Ubuntu-like image owned by the account, plus an older one). */
  images?: EmulatedImage[];
  /** Instance types RunInstances accepts (default: a common set incl. t2/t3/m5/m6g/c5). */
  instanceTypes?: string[];
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
  /** The user the guests accept logins for. */
  readonly sshUser: string;
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
  /** Instances not yet `terminated` (pending, running or shutting-down). */
  liveInstances(): EmulatedInstance[];
  keyPairs(): EmulatedKeyPair[];
  images(): EmulatedImage[];
  addImage(image: EmulatedImage): void;
  /**
   * Reclaims a spot instance now, as EC2 does: state-reason `Server.SpotInstanceTermination`,
   * its sshd and every session killed, then terminated.
   */
  interruptSpot(instanceId: string): Promise<void>;
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
  const { calls, errors, images, instances, keyPairs, guestStops } = ec2;

  const snapshot = (data: EmulatedInstance): EmulatedInstance => structuredClone(data);

  return {
    endpoint: `http://127.0.0.1:${port}`,
    region: ec2.region,
    credentials: ec2.credentials,
    accountId: ec2.accountId,
    sshPort: ec2.sshPort,
    sshUser: guestUser(),
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
        .filter((record) => record.data.state !== 'terminated')
        .map((record) => snapshot(record.data)),
    keyPairs: () => [...keyPairs.values()].map((pair) => structuredClone(pair)),
    images: () => [...images.values()].map((image) => structuredClone(image)),
    addImage(image) {
      images.set(image.imageId, image);
    },
    async interruptSpot(instanceId) {
      const record = instances.get(instanceId);
      if (!record) throw new Error(`no instance ${instanceId}`);
      if (record.data.market !== 'spot') throw new Error(`${instanceId} is not a spot instance`);
      await interrupt(ec2, record);
    },
    async settled() {
      await Promise.all([...instances.values()].map((record) => record.booting));
      await Promise.all([...guestStops]);
    },
    async stop() {
      ec2.stopped = true;
      for (const record of instances.values()) cancelTimers(record);
      await Promise.all([...instances.values()].map((record) => record.booting?.catch(() => {})));
      for (const record of instances.values()) stopGuest(ec2, record);
      await Promise.all([...guestStops]);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Guests run sshd as this process's user, so that is who logs in. */
function guestUser(): string {
  return process.env.USER ?? 'root';
}

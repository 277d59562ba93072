import { setTimeout as sleep } from 'node:timers/promises';
import type { Ec2EmulatorState, InstanceRecord } from './ec2-emulator-state.js';
import type { EmulatedImage, EmulatedKeyPair, InstanceStateName } from './ec2-emulator-types.js';
import { generateKeyMaterial } from './ec2-key-material.js';
import { instanceMetadataEndpoint } from './ec2-metadata.js';
import { draw } from './ec2-timing.js';

/** How long an OS shutdown gives processes between SIGTERM and the end (real time). */
const SHUTDOWN_GRACE_MS = 300;
/** How often a running guest's power requests (`shutdown`, `poweroff`) are read. */
const POWER_POLL_MS = 100;

export const USER_SHUTDOWN = {
  code: 'Client.UserInitiatedShutdown',
  message: 'Client.UserInitiatedShutdown: User initiated shutdown',
};
export const INSTANCE_SHUTDOWN = {
  code: 'Client.InstanceInitiatedShutdown',
  message: 'Client.InstanceInitiatedShutdown: Instance initiated shutdown',
};
export const SPOT_TERMINATION = {
  code: 'Server.SpotInstanceTermination',
  message: 'Server.SpotInstanceTermination: Spot instance termination',
};

/**
 * Boots a new instance on the emulator's clock: `pending`, then `running`; then the guest boots
 * (the key pair's key for the image's default user, the user data as root, then sshd) and
 * cloud-init prints the host keys to the console, which is posted a while later. The injected
 * faults (stuck in pending, SSH never up, forged console keys, spot interruption) take their turn.
 */
export function boot(
  ec2: Ec2EmulatorState,
  record: InstanceRecord,
  image: EmulatedImage,
  keyPair: EmulatedKeyPair | undefined,
): void {
  const { faults, timings } = ec2;
  const stuck = faults.stuckInPending;
  const sshNeverUp = faults.sshNeverUp;
  const forged = faults.forgedConsoleHostKeys;
  const interruptAfter = record.data.market === 'spot' ? faults.spotInterruptionAfterMs : undefined;
  if (stuck) return;
  const signal = record.lifecycle.signal;
  record.booting = (async () => {
    if (!(await wait(draw(timings.pending), signal))) return;
    setState(record, 'running');
    record.data.consoleOutput =
      `[    0.000000] Linux version 6.1.0-emulated (ec2-emulator)\r\n` +
      `Cloud-init v. 23.1 running 'init' at ${new Date().toUTCString()}\r\n`;
    if (interruptAfter !== undefined) later(record, interruptAfter, () => void interrupt(ec2, record));
    if (sshNeverUp) {
      later(record, draw(timings.consolePost), () => post(record));
      return;
    }
    if (!(await wait(draw(timings.sshUp), signal))) return;
    let guest: Awaited<ReturnType<Ec2EmulatorState['bootGuest']>>;
    try {
      guest = await ec2.bootGuest({
        addresses: [
          record.data.privateIpAddress,
          ...(record.data.publicIpAddress ? [record.data.publicIpAddress] : []),
        ],
        port: ec2.sshPort,
        defaultUser: image.defaultUser ?? 'ubuntu',
        keyPairPublicKey: keyPair?.publicKey,
        imageUsers: image.users ?? [],
        userData: record.data.userData,
        environment: {
          AWS_EC2_METADATA_SERVICE_ENDPOINT: instanceMetadataEndpoint(ec2, record.data.instanceId),
        },
        name: record.data.instanceId,
      });
    } catch (error) {
      record.data.consoleOutput += `ec2-emulator: guest failed to boot: ${String(error)}\r\n`;
      return;
    }
    record.guest = guest;
    if (record.data.state !== 'running' || ec2.stopped) {
      stopGuest(ec2, record);
      return;
    }
    record.data.sshUp = true;
    const exitCode = guest.userDataExitCode();
    if (exitCode !== undefined) record.data.userDataExitCode = exitCode;
    const printed = forged
      ? guest.hostPublicKeys.map(
          () => generateKeyMaterial('ed25519', `root@${record.data.instanceId}`).publicKey,
        )
      : guest.hostPublicKeys;
    record.data.consoleOutput +=
      guest.firstBootOutput().replace(/\r?\n/g, '\r\n') +
      `ec2: #############################################################\r\n` +
      `-----BEGIN SSH HOST KEY KEYS-----\r\n${printed.map((k) => `${k}\r\n`).join('')}` +
      `-----END SSH HOST KEY KEYS-----\r\n` +
      `ec2: #############################################################\r\n` +
      `Cloud-init v. 23.1 finished at ${new Date().toUTCString()}. Datasource DataSourceEc2.\r\n`;
    later(record, draw(timings.consolePost), () => post(record));
    watchPowerRequests(ec2, record);
  })();
}

/** Shutting-down (its guest shut down), then terminated after the shutdown time. */
export function terminate(
  ec2: Ec2EmulatorState,
  record: InstanceRecord,
  reason: { code: string; message: string },
  transition: string,
  { graceful = true }: { graceful?: boolean } = {},
): void {
  if (record.data.state === 'terminated' || record.data.state === 'shutting-down') return;
  cancelTimers(record);
  setState(record, 'shutting-down');
  record.data.stateReason = reason;
  record.data.stateTransitionReason = transition;
  endGuest(ec2, record, graceful);
  later(record, draw(ec2.timings.shutdown), () => {
    if (record.data.state !== 'shutting-down') return;
    setState(record, 'terminated');
    post(record);
  });
}

/** Stopping (its guest shut down), then stopped: an instance-initiated shutdown with behaviour "stop". */
function stop(ec2: Ec2EmulatorState, record: InstanceRecord): void {
  if (record.data.state !== 'running' && record.data.state !== 'pending') return;
  cancelTimers(record);
  setState(record, 'stopping');
  record.data.stateReason = INSTANCE_SHUTDOWN;
  record.data.stateTransitionReason = `User initiated (${new Date().toISOString()})`;
  endGuest(ec2, record, true);
  later(record, draw(ec2.timings.shutdown), () => {
    if (record.data.state !== 'stopping') return;
    setState(record, 'stopped');
    post(record);
  });
}

export interface SpotInterruption {
  /** Between the notice (`spot/instance-action`) and the reclaim; default: the profile's two minutes. */
  noticeMs?: number;
  /**
   * `sessions-first` (default): the guest shuts down as an OS does, SIGTERM to every process,
   * so a running script exits 143 before the connection drops. `connection-first`: the machine
   * is gone at once and the connection drops with the script still running.
   */
  order?: 'sessions-first' | 'connection-first';
}

/**
 * Reclaims a spot instance as EC2 does: the interruption notice (instance metadata
 * `spot/instance-action`), then after it `shutting-down` with state reason
 * `Server.SpotInstanceTermination`; resolves once its guest is gone.
 */
export function interrupt(
  ec2: Ec2EmulatorState,
  record: InstanceRecord,
  { noticeMs = draw(ec2.timings.spotNotice), order = 'sessions-first' }: SpotInterruption = {},
): Promise<void> {
  record.interrupted ??= (async () => {
    record.data.spotInstanceAction = {
      action: 'terminate',
      time: new Date(Date.now() + noticeMs).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    };
    await sleep(noticeMs);
    terminate(ec2, record, SPOT_TERMINATION, `Service initiated (${new Date().toISOString()})`, {
      graceful: order === 'sessions-first',
    });
    await Promise.all([...ec2.guestStops]);
  })();
  return record.interrupted;
}

/** Ends the guest: gracefully (SIGTERM to sessions, then the machine is gone) or at once. */
function endGuest(ec2: Ec2EmulatorState, record: InstanceRecord, graceful: boolean): void {
  const guest = record.guest;
  if (!guest || !graceful) {
    stopGuest(ec2, record);
    return;
  }
  record.data.sshUp = false;
  guest.terminateSessions();
  const ending = sleep(SHUTDOWN_GRACE_MS).then(() => stopGuest(ec2, record));
  ec2.guestStops.add(ending);
  void ending.finally(() => ec2.guestStops.delete(ending));
}

/** Kills the instance's guest; `guestStops` holds the stop until it is done. */
export function stopGuest(ec2: Ec2EmulatorState, record: InstanceRecord): void {
  const guest = record.guest;
  record.guest = undefined;
  record.data.sshUp = false;
  if (!guest) return;
  const stopping = guest.stop().catch(() => {});
  ec2.guestStops.add(stopping);
  void stopping.finally(() => ec2.guestStops.delete(stopping));
}

/** Cancels everything scheduled for the instance (its boot included). */
export function cancelTimers(record: InstanceRecord): void {
  for (const timer of record.timers) clearTimeout(timer);
  record.timers = [];
  record.lifecycle.abort();
  record.lifecycle = new AbortController();
}

/** Posts the console output: what a `GetConsoleOutput` without `Latest` returns from now on. */
function post(record: InstanceRecord): void {
  record.data.postedConsoleOutput = record.data.consoleOutput;
}

/**
 * Turns the guest's power commands into what EC2 does: `shutdown +N` powers off N (real)
 * minutes later, `shutdown -c` cancels it, `shutdown now` / `poweroff` / `halt` power off now;
 * powering off stops or terminates the instance by its `InstanceInitiatedShutdownBehavior`.
 */
function watchPowerRequests(ec2: Ec2EmulatorState, record: InstanceRecord): void {
  let scheduled: NodeJS.Timeout | undefined;
  const powerOff = () => {
    if (record.data.shutdownBehavior === 'terminate') {
      terminate(ec2, record, INSTANCE_SHUTDOWN, `User initiated (${new Date().toISOString()})`);
    } else {
      stop(ec2, record);
    }
  };
  const poll = setInterval(() => {
    for (const request of record.guest?.takePowerRequests() ?? []) {
      const [command = '', ...args] = request.split(/\s+/).filter((word) => word !== '');
      if (command === 'reboot' || (command === 'systemctl' && args[0] === 'reboot')) continue;
      if (command === 'shutdown' && args.includes('-c')) {
        if (scheduled) clearTimeout(scheduled);
        scheduled = undefined;
        delete record.data.scheduledShutdownAt;
        continue;
      }
      const minutes =
        command === 'shutdown' ? Number(/^\+(\d+)$/.exec(args.find((a) => a.startsWith('+')) ?? '')?.[1]) : 0;
      if (command === 'shutdown' && Number.isInteger(minutes) && minutes > 0) {
        if (scheduled) clearTimeout(scheduled);
        record.data.scheduledShutdownAt = new Date(Date.now() + minutes * 60_000);
        scheduled = later(record, minutes * 60_000, powerOff);
        continue;
      }
      if (command === 'systemctl' && !['poweroff', 'halt'].includes(args[0] ?? '')) continue;
      powerOff();
    }
  }, POWER_POLL_MS);
  poll.unref();
  record.timers.push(poll);
}

function setState(record: InstanceRecord, state: InstanceStateName): void {
  record.data.state = state;
  if (state === 'running') record.runningAt = Date.now();
  if (state === 'terminated') record.terminatedAt = Date.now();
}

function later(record: InstanceRecord, ms: number, fn: () => void): NodeJS.Timeout {
  const timer = setTimeout(fn, ms);
  timer.unref();
  record.timers.push(timer);
  return timer;
}

/** Waits `ms`; false when the instance's lifecycle was cancelled meanwhile. */
async function wait(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return false;
  if (ms <= 0) return true;
  try {
    await sleep(ms, undefined, { signal, ref: false });
    return true;
  } catch {
    return false;
  }
}

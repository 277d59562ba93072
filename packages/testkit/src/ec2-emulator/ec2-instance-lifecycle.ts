import type { Ec2EmulatorState, InstanceRecord } from './ec2-emulator-state.js';
import type { EmulatedKeyPair, InstanceStateName } from './ec2-emulator-types.js';
import { generateKeyMaterial } from './ec2-key-material.js';

/**
 * Boots a new instance: pending, then running with its guest (an sshd accepting the key pair)
 * and the guest's host keys on the console, on the emulator's clock; the injected faults
 * (stuck in pending, SSH never up, forged console keys, spot interruption) take their turn.
 */
export function boot(
  ec2: Ec2EmulatorState,
  record: InstanceRecord,
  keyPair: EmulatedKeyPair | undefined,
): void {
  const { faults, bootDelayMs, sshDelayMs } = ec2;
  const stuck = faults.stuckInPending;
  const sshNeverUp = faults.sshNeverUp;
  const forged = faults.forgedConsoleHostKeys;
  const interruptAfter = record.data.market === 'spot' ? faults.spotInterruptionAfterMs : undefined;
  const started = Date.now();
  const bootLog = `[    0.000000] Linux version 6.1.0-emulated (ec2-emulator)\r\nCloud-init v. 23.1 running 'init' at ${new Date().toUTCString()}\r\n`;
  record.data.consoleOutput = bootLog;
  if (stuck) return;
  const becomeRunning = () => {
    if (record.data.state !== 'pending') return;
    setState(record, 'running');
    if (interruptAfter !== undefined) later(record, interruptAfter, () => void interrupt(ec2, record));
  };
  if (sshNeverUp) {
    later(record, bootDelayMs, becomeRunning);
    return;
  }
  const startSshd = async () => {
    const guest = await ec2.bootGuest({
      addresses: [
        record.data.privateIpAddress,
        ...(record.data.publicIpAddress ? [record.data.publicIpAddress] : []),
      ],
      port: ec2.sshPort,
      authorizedKeys: keyPair ? [keyPair.publicKey] : [],
      name: record.data.instanceId,
    });
    if (record.data.state === 'shutting-down' || record.data.state === 'terminated' || ec2.stopped) {
      record.guest = guest;
      stopGuest(ec2, record);
      return;
    }
    record.guest = guest;
    record.data.sshUp = true;
    const printed = forged
      ? guest.hostPublicKeys.map(
          () => generateKeyMaterial('ed25519', `root@${record.data.instanceId}`).publicKey,
        )
      : guest.hostPublicKeys;
    record.data.consoleOutput +=
      `ec2: #############################################################\r\n` +
      `-----BEGIN SSH HOST KEY KEYS-----\r\n${printed.map((k) => `${k}\r\n`).join('')}` +
      `-----END SSH HOST KEY KEYS-----\r\n` +
      `ec2: #############################################################\r\n` +
      `Cloud-init v. 23.1 finished at ${new Date().toUTCString()}. Datasource DataSourceEc2.\r\n`;
  };
  // Pending lasts bootDelayMs and at least until the machine is up (its sshd started) unless
  // sshd is delayed after running.
  record.booting = (async () => {
    try {
      if (sshDelayMs === 0) {
        await startSshd();
        const remaining = bootDelayMs - (Date.now() - started);
        if (remaining > 0) later(record, remaining, becomeRunning);
        else becomeRunning();
      } else {
        later(record, bootDelayMs, () => {
          becomeRunning();
          later(record, sshDelayMs, () => {
            if (record.data.state === 'running') record.booting = startSshd().catch(bootFailed);
          });
        });
      }
    } catch (error) {
      bootFailed(error);
    }
  })();
  function bootFailed(error: unknown) {
    record.data.consoleOutput += `ec2-emulator: guest failed to boot: ${String(error)}\r\n`;
  }
}

/** Shutting-down (its guest killed), then terminated after `terminateDelayMs`. */
export function terminate(
  ec2: Ec2EmulatorState,
  record: InstanceRecord,
  reason: { code: string; message: string },
  transition: string,
): void {
  if (record.data.state === 'terminated' || record.data.state === 'shutting-down') return;
  cancelTimers(record);
  setState(record, 'shutting-down');
  record.data.stateReason = reason;
  record.data.stateTransitionReason = transition;
  stopGuest(ec2, record);
  const finish = () => {
    if (record.data.state === 'shutting-down') setState(record, 'terminated');
  };
  if (ec2.terminateDelayMs > 0) later(record, ec2.terminateDelayMs, finish);
  else finish();
}

/** Reclaims a spot instance as EC2 does; resolves once its guest is gone. */
export async function interrupt(ec2: Ec2EmulatorState, record: InstanceRecord): Promise<void> {
  terminate(
    ec2,
    record,
    {
      code: 'Server.SpotInstanceTermination',
      message: 'Server.SpotInstanceTermination: Spot instance termination',
    },
    `Service initiated (${new Date().toISOString()})`,
  );
  await Promise.all([...ec2.guestStops]);
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

export function cancelTimers(record: InstanceRecord): void {
  for (const timer of record.timers) clearTimeout(timer);
  record.timers = [];
}

function setState(record: InstanceRecord, state: InstanceStateName): void {
  record.data.state = state;
  if (state === 'running') record.runningAt = Date.now();
}

function later(record: InstanceRecord, ms: number, fn: () => void): void {
  const timer = setTimeout(fn, ms);
  timer.unref();
  record.timers.push(timer);
}

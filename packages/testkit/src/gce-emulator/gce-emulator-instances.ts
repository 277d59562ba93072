import { generateSshKey } from '../sshd/sshd-host-key.js';
import { checkZone } from './gce-emulator-catalog.js';
import { writeConsole } from './gce-emulator-console.js';
import { notFound, resourceNotReady } from './gce-emulator-http.js';
import { newInstanceRecord } from './gce-emulator-instance-resource.js';
import { hostKeyAttributes, parseSshKeys, publishHostKeys } from './gce-emulator-metadata.js';
import { createOperation, type OperationError, updateOperation } from './gce-emulator-operations.js';
import {
  type GceEmulatorState,
  type InstanceRecord,
  instanceKey,
  type Json,
  now,
  type OperationRecord,
} from './gce-emulator-state.js';
import { type MsRange, sample } from './gce-emulator-timing.js';
import type { GceGuest, GceGuestBooter, GceInstanceStatus } from './gce-emulator-types.js';

/**
 * `instances.insert`: the instance appears PROVISIONING (PENDING first when queued), goes
 * STAGING and then RUNNING, when the insert operation is DONE; its guest's sshd answers
 * `sshdUpMs` later. The injected faults (exhausted zone, failed operation, never running, SSH
 * never up) take their turn on the way. Until the operation is DONE, other mutations of the
 * instance are `resourceNotReady`. Answers the insert operation.
 */
export function insertInstance(gce: GceEmulatorState, zone: string, body: Json): Json {
  const { faults, timings } = gce;
  const record = newInstanceRecord(gce, zone, body);
  gce.instances.set(instanceKey(zone, record.name), record);
  const op = createOperation(gce, 'insert', record);
  record.busyWith = op;
  const exhausted = faults.takeZoneExhausted(zone);
  const failed = exhausted ? undefined : faults.takeInsertOperation();
  const neverRunning = exhausted || failed ? undefined : faults.takeGuest('never-running');
  const sshNeverUp = exhausted || failed || neverRunning ? undefined : faults.takeGuest('ssh-never-up');
  const queued = faults.takeGuest('queued');
  later(gce, record, 0, () => updateOperation(op, 'RUNNING'));
  if (queued) {
    record.statusHistory.length = 0;
    setStatus(record, 'PENDING');
  }
  const provisioned = () => {
    if (record.deleting) return;
    if (exhausted) {
      finish(record, op, zoneExhaustedError(gce, zone, exhausted.withDetails));
      removeInstance(gce, record);
      return;
    }
    setStatus(record, 'STAGING');
    const stuckMs = neverRunning?.forMs ?? 0;
    if (!Number.isFinite(stuckMs)) return;
    later(gce, record, stuckMs + sample(timings.stagingMs), () => {
      if (record.deleting) return;
      if (failed) {
        finish(record, op, failed);
        if (failed.leaveInstance) setStatus(record, 'TERMINATED');
        else removeInstance(gce, record);
        return;
      }
      setStatus(record, 'RUNNING');
      writeConsole(record, bootMessages(record));
      finish(record, op);
      scheduleMaxRunDuration(gce, record);
      later(gce, record, sample(timings.sshdUpMs), () => bootGuestOf(gce, record, Boolean(sshNeverUp)));
    });
  };
  const queuedMs = queued ? sample(timings.provisioningMs) : 0;
  if (queued) later(gce, record, queuedMs, () => setStatus(record, 'PROVISIONING'));
  later(gce, record, queuedMs + sample(timings.provisioningMs), provisioned);
  return op.resource;
}

/**
 * `instances.delete`: `resourceNotReady` while another operation on the instance runs (its
 * insert, another delete, a preemption); else STOPPING, DEPROVISIONING, then gone with its guest
 * after `stoppingMs`. Answers the delete operation.
 */
export function deleteInstance(gce: GceEmulatorState, zone: string, name: string): Json {
  const record = gce.instances.get(instanceKey(zone, name));
  if (!record) throw notFound(`projects/${gce.projectId}/zones/${zone}/instances/${name}`);
  if (record.busyWith) throw resourceNotReady(`projects/${gce.projectId}/zones/${zone}/instances/${name}`);
  const op = createOperation(gce, 'delete', record);
  record.busyWith = op;
  record.deleting = true;
  for (const timer of record.timers) clearTimeout(timer);
  record.timers = [];
  updateOperation(op, 'RUNNING');
  setStatus(record, 'STOPPING');
  void stopGuest(record);
  // removeInstance clears the record's timers: the delete's own clock runs beside them.
  tearDown(gce, record, gce.timings.stoppingMs, () => {
    removeInstance(gce, record);
    finish(record, op);
  });
  return op.resource;
}

/**
 * Preempts a preemptible or Spot instance now: a `compute.instances.preempted` operation starts
 * (listed only after `preemptedListingMs`), the guest dies, the instance goes STOPPING and then,
 * per `scheduling.instanceTerminationAction`, is deleted (DELETE) or TERMINATED (STOP, the default).
 * Resolves when that is over.
 */
export async function preempt(gce: GceEmulatorState, name: string): Promise<void> {
  const record = [...gce.instances.values()].find((r) => r.name === name);
  if (!record) throw new Error(`no instance named ${name}`);
  const scheduling = record.resource.scheduling as Json;
  if (scheduling.preemptible !== true && scheduling.provisioningModel !== 'SPOT')
    throw new Error(`instance ${name} is neither preemptible nor Spot: GCE does not preempt it`);
  if (record.preempted || record.deleting) return;
  // GCE preempts running VMs; one still being inserted is not handed out yet.
  if (record.status !== 'RUNNING') throw new Error(`instance ${name} is ${record.status}, not RUNNING`);
  record.preempted = true;
  const op = createOperation(gce, 'compute.instances.preempted', record, 'system');
  op.resource.statusMessage = 'Instance was preempted.';
  op.listedFrom = Date.now() + sample(gce.timings.preemptedListingMs);
  updateOperation(op, 'RUNNING');
  record.busyWith = op;
  for (const timer of record.timers) clearTimeout(timer);
  record.timers = [];
  setStatus(record, 'STOPPING');
  await stopGuest(record);
  await new Promise<void>((resolve) =>
    terminate(gce, record, scheduling.instanceTerminationAction === 'DELETE', () => {
      finish(record, op);
      resolve();
    }),
  );
}

/**
 * A host event: `suspend` (SUSPENDING → SUSPENDED) or `repair` (REPAIRING after a host error,
 * then TERMINATED, or RUNNING again with `automaticRestart`). The guest dies either way.
 */
export async function hostEvent(
  gce: GceEmulatorState,
  name: string,
  event: 'suspend' | 'repair',
): Promise<void> {
  const record = [...gce.instances.values()].find((r) => r.name === name);
  if (!record) throw new Error(`no instance named ${name}`);
  if (record.status !== 'RUNNING') throw new Error(`instance ${name} is ${record.status}, not RUNNING`);
  setStatus(record, event === 'suspend' ? 'SUSPENDING' : 'REPAIRING');
  await stopGuest(record);
  await new Promise<void>((resolve) =>
    later(gce, record, sample(gce.timings.stoppingMs), () => {
      if (event === 'suspend') setStatus(record, 'SUSPENDED');
      else if ((record.resource.scheduling as Json).automaticRestart === true) {
        setStatus(record, 'RUNNING');
        writeConsole(record, bootMessages(record));
        void bootGuestOf(gce, record, false);
      } else setStatus(record, 'TERMINATED');
      resolve();
    }),
  );
}

export function getInstance(gce: GceEmulatorState, zone: string, name: string): InstanceRecord {
  checkZone(gce, zone);
  const record = gce.instances.get(instanceKey(zone, name));
  if (!record) throw notFound(`projects/${gce.projectId}/zones/${zone}/instances/${name}`);
  return record;
}

export function zoneInstances(gce: GceEmulatorState, zone: string): Json[] {
  return [...gce.instances.values()].filter((r) => r.zone === zone).map((r) => r.resource);
}

/** Forgets an instance (its timers, its address); an operation still running on it ends now. */
export function removeInstance(gce: GceEmulatorState, record: InstanceRecord): void {
  if (record.busyWith && record.busyWith.resource.operationType === 'insert') finish(record, record.busyWith);
  for (const timer of record.timers) clearTimeout(timer);
  record.timers = [];
  gce.instances.delete(instanceKey(record.zone, record.name));
  gce.releaseAddress(record.address);
}

/** Stops the guest, or the one still booting once it is up. */
export async function stopGuest(record: InstanceRecord): Promise<void> {
  const { guest, booting } = record;
  record.guest = undefined;
  record.booting = undefined;
  const stopping = guest ?? (await booting);
  if (stopping) await stopping.stop().catch(() => {});
}

function finish(record: InstanceRecord, op: OperationRecord, error?: OperationError): void {
  updateOperation(op, 'DONE', error);
  if (record.busyWith === op) record.busyWith = undefined;
}

function zoneExhaustedError(gce: GceEmulatorState, zone: string, withDetails: boolean): OperationError {
  const message = `The zone 'projects/${gce.projectId}/zones/${zone}' does not have enough resources available to fulfill the request.  Try a different zone, or try again later.`;
  if (!withDetails) return { code: 'ZONE_RESOURCE_POOL_EXHAUSTED', message, http: 503 };
  return {
    code: 'ZONE_RESOURCE_POOL_EXHAUSTED_WITH_DETAILS',
    message: `The zone 'projects/${gce.projectId}/zones/${zone}' does not have enough resources available to fulfill the request.  '(resource type:compute)'.`,
    http: 503,
    errorDetails: [
      {
        errorInfo: {
          reason: 'RESOURCE_AVAILABILITY',
          domain: 'compute.googleapis.com',
          metadatas: { zone, vmType: 'n1-standard-2' },
        },
      },
      {
        help: {
          links: [
            {
              description: 'Troubleshooting documentation',
              url: 'https://cloud.google.com/compute/docs/resource-error',
            },
          ],
        },
      },
    ],
  };
}

function setStatus(record: InstanceRecord, status: GceInstanceStatus): void {
  if (record.status !== status || record.statusHistory.length === 0) record.statusHistory.push(status);
  record.status = status;
  record.resource.status = status;
  if (status === 'RUNNING') record.resource.lastStartTimestamp = now();
  if (status === 'TERMINATED') record.resource.lastStopTimestamp = now();
  if (status === 'SUSPENDED') record.resource.lastSuspendedTimestamp = now();
}

/** Runs `fn` after `ms` unless the emulator stopped first; removeInstance cancels it. */
function later(
  gce: GceEmulatorState,
  record: InstanceRecord,
  ms: number,
  fn: () => void | Promise<void>,
): void {
  const timer = setTimeout(() => {
    record.timers = record.timers.filter((t) => t !== timer);
    if (gce.stopped) return;
    void Promise.resolve()
      .then(fn)
      .catch(() => {});
  }, ms);
  timer.unref();
  record.timers.push(timer);
}

/** STOPPING → DEPROVISIONING halfway → `done` after a draw of `stoppingMs`, on a clock of its own. */
function tearDown(gce: GceEmulatorState, record: InstanceRecord, range: MsRange, done: () => void): void {
  const total = sample(range);
  const half = setTimeout(() => {
    if (gce.instances.get(instanceKey(record.zone, record.name)) === record)
      setStatus(record, 'DEPROVISIONING');
  }, total / 2);
  const end = setTimeout(done, total);
  half.unref();
  end.unref();
}

/** A guest-side stop: deleted (DEPROVISIONING, gone) or TERMINATED. */
function terminate(gce: GceEmulatorState, record: InstanceRecord, deleteIt: boolean, done: () => void): void {
  if (deleteIt) {
    record.deleting = true;
    tearDown(gce, record, gce.timings.stoppingMs, () => {
      removeInstance(gce, record);
      done();
    });
  } else {
    const end = setTimeout(() => {
      setStatus(record, 'TERMINATED');
      done();
    }, sample(gce.timings.stoppingMs));
    end.unref();
  }
}

/** The guest comes up: sshd, startup script, and (with the agent) host keys as guest attributes. */
async function bootGuestOf(
  gce: GceEmulatorState,
  record: InstanceRecord,
  sshNeverUp: boolean,
): Promise<void> {
  if (record.deleting || record.status !== 'RUNNING') return;
  if (sshNeverUp) {
    // The guest agent still publishes a (valid) host key; only sshd never answers.
    if (record.guestAgent)
      publishHostKeys(record, hostKeyAttributes((await generateSshKey('ed25519')).publicKey));
    return;
  }
  if (gce.booter === 'none') return;
  let guest: GceGuest;
  const booting = (gce.booter as GceGuestBooter)({
    name: record.name,
    address: record.address,
    port: gce.sshPort,
    sshKeys: parseSshKeys(record.metadata['ssh-keys'] ?? ''),
    startupScript: record.metadata['startup-script'],
    guestAgent: record.guestAgent,
    imageUsers: record.imageUsers,
    host: {
      console: (text) => writeConsole(record, text),
      poweroff: () => guestPoweroff(gce, record),
      secondMs: gce.timings.runDurationSecondMs,
    },
  });
  record.booting = booting.catch(() => undefined);
  try {
    guest = await booting;
  } catch (error) {
    // Not something GCE does: the emulator's own failure, reported loudly on the console.
    writeConsole(record, `workerkit emulator: the guest could not boot: ${String(error)}\n`);
    setStatus(record, 'TERMINATED');
    return;
  }
  // Deleted, preempted or stopped while booting: the guest is not wanted any more.
  if (
    record.deleting ||
    gce.stopped ||
    record.status !== 'RUNNING' ||
    gce.instances.get(instanceKey(record.zone, record.name)) !== record
  ) {
    await guest.stop().catch(() => {});
    return;
  }
  record.booting = undefined;
  record.guest = guest;
  if (record.guestAgent) publishHostKeys(record, guest.hostKeys);
}

/** The guest powered itself off: STOPPING, then TERMINATED (GCE keeps the instance). */
function guestPoweroff(gce: GceEmulatorState, record: InstanceRecord): void {
  if (record.deleting || record.status !== 'RUNNING') return;
  setStatus(record, 'STOPPING');
  void stopGuest(record);
  later(gce, record, sample(gce.timings.stoppingMs), () => setStatus(record, 'TERMINATED'));
}

function bootMessages(record: InstanceRecord): string {
  return [
    'SeaBIOS (version 1.8.2-google)',
    'Booting from Hard Disk 0...',
    '[    0.000000] Linux version 6.1.0-workerkit-emulator (gce emulator guest)',
    `[    1.204518] Run /sbin/init as init process (instance ${record.name})`,
    '',
  ].join('\n');
}

/** `scheduling.maxRunDuration`: when it is over, GCE deletes or stops the instance itself. */
function scheduleMaxRunDuration(gce: GceEmulatorState, record: InstanceRecord): void {
  const scheduling = record.resource.scheduling as Json;
  const seconds = Number((scheduling.maxRunDuration as Json | undefined)?.seconds);
  if (!Number.isFinite(seconds)) return;
  later(gce, record, seconds * gce.timings.runDurationSecondMs, async () => {
    if (record.deleting || record.busyWith) return;
    setStatus(record, 'STOPPING');
    await stopGuest(record);
    terminate(gce, record, scheduling.instanceTerminationAction === 'DELETE', () => {});
  });
}

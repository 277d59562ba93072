import { generateSshKey } from '../sshd/sshd-host-key.js';
import { checkZone } from './gce-emulator-catalog.js';
import { notFound } from './gce-emulator-http.js';
import { newInstanceRecord } from './gce-emulator-instance-resource.js';
import { hostKeyAttributes, parseSshKeys, publishHostKeys } from './gce-emulator-metadata.js';
import { createOperation, updateOperation } from './gce-emulator-operations.js';
import {
  type GceEmulatorState,
  type InstanceRecord,
  instanceKey,
  type Json,
  now,
} from './gce-emulator-state.js';
import type { GceGuest, GceGuestBooter, GceInstanceStatus } from './gce-emulator-types.js';

/**
 * `instances.insert`: the instance appears PROVISIONING, goes STAGING and then RUNNING with its
 * guest booted, on the emulator's clock; the injected faults (exhausted zone, failed operation,
 * never running, SSH never up) take their turn on the way. Answers the insert operation.
 */
export function insertInstance(state: GceEmulatorState, zone: string, body: Json): Json {
  const { faults, timings } = state;
  const record = newInstanceRecord(state, zone, body);
  state.instances.set(instanceKey(zone, record.name), record);
  const op = createOperation(state, 'insert', record);
  const exhausted = faults.takeZoneExhausted(zone);
  const failed = exhausted ? undefined : faults.takeInsertOperation();
  const neverRunning = exhausted || failed ? undefined : faults.takeGuest('never-running');
  const sshNeverUp = exhausted || failed || neverRunning ? undefined : faults.takeGuest('ssh-never-up');
  later(state, record, 0, () => updateOperation(op, 'RUNNING'));
  if (exhausted) {
    later(state, record, timings.provisioningMs, () => {
      updateOperation(op, 'DONE', {
        code: 'ZONE_RESOURCE_POOL_EXHAUSTED',
        message: `The zone 'projects/${state.projectId}/zones/${zone}' does not have enough resources available to fulfill the request.  Try a different zone, or try again later.`,
        http: 503,
      });
      removeInstance(state, record);
    });
    return op.resource;
  }
  later(state, record, timings.provisioningMs, () => {
    if (record.deleting) return;
    setStatus(record, 'STAGING');
    if (failed) {
      later(state, record, timings.stagingMs, () => {
        if (record.deleting) return;
        updateOperation(op, 'DONE', { code: failed.code, message: failed.message, http: 403 });
        if (failed.leaveInstance) setStatus(record, 'TERMINATED');
        else removeInstance(state, record);
      });
      return;
    }
    if (neverRunning) return;
    later(state, record, timings.stagingMs, async () => {
      if (record.deleting) return;
      if (!sshNeverUp && state.booter !== 'none') {
        let guest: GceGuest;
        try {
          guest = await bootGuest(state, record);
        } catch (error) {
          // Not something GCE does: the emulator's own failure, reported loudly on the operation.
          setStatus(record, 'TERMINATED');
          updateOperation(op, 'DONE', {
            code: 'EMULATOR_GUEST_BOOT_FAILED',
            message: String(error),
            http: 500,
          });
          return;
        }
        if (record.deleting || state.stopped || !state.instances.has(instanceKey(zone, record.name))) {
          await guest.stop().catch(() => {});
          return;
        }
        record.guest = guest;
        publishHostKeys(record, guest.hostKeys);
      } else if (sshNeverUp) {
        // The guest agent still publishes a (valid) host key; only sshd never answers.
        publishHostKeys(record, hostKeyAttributes((await generateSshKey('ed25519')).publicKey));
      }
      setStatus(record, 'RUNNING');
      updateOperation(op, 'DONE');
      scheduleMaxRunDuration(state, record);
    });
  });
  return op.resource;
}

/** `instances.delete`: STOPPING, then gone with its guest after `stoppingMs`. Answers the delete operation. */
export function deleteInstance(state: GceEmulatorState, zone: string, name: string): Json {
  const record = state.instances.get(instanceKey(zone, name));
  if (!record) throw notFound(`projects/${state.projectId}/zones/${zone}/instances/${name}`);
  const op = createOperation(state, 'delete', record);
  const alreadyDeleting = record.deleting;
  record.deleting = true;
  later(state, record, 0, () => updateOperation(op, 'RUNNING'));
  if (!alreadyDeleting) setStatus(record, 'STOPPING');
  const finish = async () => {
    if (!alreadyDeleting) {
      await stopGuest(record);
      removeInstance(state, record);
    }
    updateOperation(op, 'DONE');
  };
  // The delete must finish even though removeInstance clears the record's timers.
  const timer = setTimeout(() => void finish().catch(() => {}), state.timings.stoppingMs);
  timer.unref();
  return op.resource;
}

/** Preempts an instance now: its guest dies, it goes TERMINATED, and a `compute.instances.preempted` operation appears. */
export async function preempt(state: GceEmulatorState, name: string): Promise<void> {
  const record = [...state.instances.values()].find((r) => r.name === name);
  if (!record) throw new Error(`no instance named ${name}`);
  if (record.preempted) return;
  record.preempted = true;
  // As on GCE, the preemption is recorded as it begins; then the guest goes down.
  const op = createOperation(state, 'compute.instances.preempted', record, 'system');
  op.resource.statusMessage = 'Instance was preempted.';
  updateOperation(op, 'RUNNING');
  setStatus(record, 'STOPPING');
  await stopGuest(record);
  setStatus(record, 'TERMINATED');
  updateOperation(op, 'DONE');
}

export function getInstance(state: GceEmulatorState, zone: string, name: string): InstanceRecord {
  checkZone(state, zone);
  const record = state.instances.get(instanceKey(zone, name));
  if (!record) throw notFound(`projects/${state.projectId}/zones/${zone}/instances/${name}`);
  return record;
}

export function zoneInstances(state: GceEmulatorState, zone: string): Json[] {
  return [...state.instances.values()].filter((r) => r.zone === zone).map((r) => r.resource);
}

/** Forgets an instance (its timers, its address); an insert still in progress ends now. */
export function removeInstance(state: GceEmulatorState, record: InstanceRecord): void {
  for (const op of state.operations.values()) {
    if (
      op.resource.targetId === record.id &&
      op.resource.operationType === 'insert' &&
      op.resource.status !== 'DONE'
    ) {
      updateOperation(op, 'DONE');
    }
  }
  for (const timer of record.timers) clearTimeout(timer);
  record.timers = [];
  state.instances.delete(instanceKey(record.zone, record.name));
  state.releaseAddress(record.address);
}

export async function stopGuest(record: InstanceRecord): Promise<void> {
  const guest = record.guest;
  record.guest = undefined;
  if (guest) await guest.stop().catch(() => {});
}

function setStatus(record: InstanceRecord, status: GceInstanceStatus): void {
  record.status = status;
  record.resource.status = status;
  if (status === 'RUNNING') record.resource.lastStartTimestamp = now();
  if (status === 'TERMINATED') record.resource.lastStopTimestamp = now();
}

/** Runs `fn` after `ms` unless the emulator stopped first; removeInstance cancels it. */
function later(
  state: GceEmulatorState,
  record: InstanceRecord,
  ms: number,
  fn: () => void | Promise<void>,
): void {
  const timer = setTimeout(() => {
    record.timers = record.timers.filter((t) => t !== timer);
    if (state.stopped) return;
    void Promise.resolve()
      .then(fn)
      .catch(() => {});
  }, ms);
  timer.unref();
  record.timers.push(timer);
}

async function bootGuest(state: GceEmulatorState, record: InstanceRecord): Promise<GceGuest> {
  return (state.booter as GceGuestBooter)({
    name: record.name,
    address: record.address,
    port: state.sshPort,
    sshKeys: parseSshKeys(record.metadata['ssh-keys'] ?? ''),
    startupScript: record.metadata['startup-script'],
  });
}

/** `scheduling.maxRunDuration`: when it is over, GCE deletes or stops the instance itself. */
function scheduleMaxRunDuration(state: GceEmulatorState, record: InstanceRecord): void {
  const scheduling = record.resource.scheduling as Json;
  const seconds = Number((scheduling.maxRunDuration as Json | undefined)?.seconds);
  if (!Number.isFinite(seconds)) return;
  later(state, record, seconds * state.timings.runDurationSecondMs, async () => {
    if (record.deleting) return;
    if (scheduling.instanceTerminationAction === 'DELETE') {
      record.deleting = true;
      await stopGuest(record);
      removeInstance(state, record);
    } else {
      await stopGuest(record);
      setStatus(record, 'TERMINATED');
    }
  });
}

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
export function insertInstance(gce: GceEmulatorState, zone: string, body: Json): Json {
  const { faults, timings } = gce;
  const record = newInstanceRecord(gce, zone, body);
  gce.instances.set(instanceKey(zone, record.name), record);
  const op = createOperation(gce, 'insert', record);
  const exhausted = faults.takeZoneExhausted(zone);
  const failed = exhausted ? undefined : faults.takeInsertOperation();
  const neverRunning = exhausted || failed ? undefined : faults.takeGuest('never-running');
  const sshNeverUp = exhausted || failed || neverRunning ? undefined : faults.takeGuest('ssh-never-up');
  later(gce, record, 0, () => updateOperation(op, 'RUNNING'));
  if (exhausted) {
    later(gce, record, timings.provisioningMs, () => {
      updateOperation(op, 'DONE', {
        code: 'ZONE_RESOURCE_POOL_EXHAUSTED',
        message: `The zone 'projects/${gce.projectId}/zones/${zone}' does not have enough resources available to fulfill the request.  Try a different zone, or try again later.`,
        http: 503,
      });
      removeInstance(gce, record);
    });
    return op.resource;
  }
  later(gce, record, timings.provisioningMs, () => {
    if (record.deleting) return;
    setStatus(record, 'STAGING');
    if (failed) {
      later(gce, record, timings.stagingMs, () => {
        if (record.deleting) return;
        updateOperation(op, 'DONE', { code: failed.code, message: failed.message, http: 403 });
        if (failed.leaveInstance) setStatus(record, 'TERMINATED');
        else removeInstance(gce, record);
      });
      return;
    }
    if (neverRunning) return;
    later(gce, record, timings.stagingMs, async () => {
      if (record.deleting) return;
      if (!sshNeverUp && gce.booter !== 'none') {
        let guest: GceGuest;
        try {
          guest = await bootGuest(gce, record);
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
        if (record.deleting || gce.stopped || !gce.instances.has(instanceKey(zone, record.name))) {
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
      scheduleMaxRunDuration(gce, record);
    });
  });
  return op.resource;
}

/** `instances.delete`: STOPPING, then gone with its guest after `stoppingMs`. Answers the delete operation. */
export function deleteInstance(gce: GceEmulatorState, zone: string, name: string): Json {
  const record = gce.instances.get(instanceKey(zone, name));
  if (!record) throw notFound(`projects/${gce.projectId}/zones/${zone}/instances/${name}`);
  const op = createOperation(gce, 'delete', record);
  const alreadyDeleting = record.deleting;
  record.deleting = true;
  later(gce, record, 0, () => updateOperation(op, 'RUNNING'));
  if (!alreadyDeleting) setStatus(record, 'STOPPING');
  const finish = async () => {
    if (!alreadyDeleting) {
      await stopGuest(record);
      removeInstance(gce, record);
    }
    updateOperation(op, 'DONE');
  };
  // The delete must finish even though removeInstance clears the record's timers.
  const timer = setTimeout(() => void finish().catch(() => {}), gce.timings.stoppingMs);
  timer.unref();
  return op.resource;
}

/** Preempts an instance now: its guest dies, it goes TERMINATED, and a `compute.instances.preempted` operation appears. */
export async function preempt(gce: GceEmulatorState, name: string): Promise<void> {
  const record = [...gce.instances.values()].find((r) => r.name === name);
  if (!record) throw new Error(`no instance named ${name}`);
  if (record.preempted) return;
  record.preempted = true;
  // As on GCE, the preemption is recorded as it begins; then the guest goes down.
  const op = createOperation(gce, 'compute.instances.preempted', record, 'system');
  op.resource.statusMessage = 'Instance was preempted.';
  updateOperation(op, 'RUNNING');
  setStatus(record, 'STOPPING');
  await stopGuest(record);
  setStatus(record, 'TERMINATED');
  updateOperation(op, 'DONE');
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

/** Forgets an instance (its timers, its address); an insert still in progress ends now. */
export function removeInstance(gce: GceEmulatorState, record: InstanceRecord): void {
  for (const op of gce.operations.values()) {
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
  gce.instances.delete(instanceKey(record.zone, record.name));
  gce.releaseAddress(record.address);
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

async function bootGuest(gce: GceEmulatorState, record: InstanceRecord): Promise<GceGuest> {
  return (gce.booter as GceGuestBooter)({
    name: record.name,
    address: record.address,
    port: gce.sshPort,
    sshKeys: parseSshKeys(record.metadata['ssh-keys'] ?? ''),
    startupScript: record.metadata['startup-script'],
  });
}

/** `scheduling.maxRunDuration`: when it is over, GCE deletes or stops the instance itself. */
function scheduleMaxRunDuration(gce: GceEmulatorState, record: InstanceRecord): void {
  const scheduling = record.resource.scheduling as Json;
  const seconds = Number((scheduling.maxRunDuration as Json | undefined)?.seconds);
  if (!Number.isFinite(seconds)) return;
  later(gce, record, seconds * gce.timings.runDurationSecondMs, async () => {
    if (record.deleting) return;
    if (scheduling.instanceTerminationAction === 'DELETE') {
      record.deleting = true;
      await stopGuest(record);
      removeInstance(gce, record);
    } else {
      await stopGuest(record);
      setStatus(record, 'TERMINATED');
    }
  });
}

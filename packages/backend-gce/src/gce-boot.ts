import { randomUUID } from 'node:crypto';
import {
  formatDuration,
  type Logger,
  type Progresser,
  ProviderApiError,
  type StartAttributes,
  sleep,
} from '@workerkit/core';
import type { GceApi, IInstance } from './gce-client.js';
import { deleteInstance } from './gce-delete.js';
import { isZoneCapacityError } from './gce-errors.js';
import { instanceName } from './gce-instance-spec.js';
import { waitForOperation } from './gce-operations.js';
import type { GceOptions } from './gce-options.js';

/** The instance a start created so far: what a failure must delete. */
export interface GceStartResources {
  instance: { zone: string; name: string } | undefined;
}

export interface BootRequest {
  /** Zones in the order to try: the next one when a zone is out of capacity. */
  zones: readonly string[];
  attributes: StartAttributes;
  /** The insert request for an instance of that name in that zone. */
  instanceFor(name: string, zone: string): IInstance;
  /** Filled in as soon as an insert is sent, so a failure deletes even an unanswered one. */
  created: GceStartResources;
  progress: Progresser;
  /** The caller's signal joined with BOOT_TIMEOUT. */
  signal: AbortSignal;
}

/**
 * Inserts the instance and waits for the insert operation (no fixed sleeps unless
 * BOOT_PRE_POLL_SLEEP asks for one). A zone out of capacity is cleaned up and the next zone
 * tried; any other error ends the start.
 */
export async function bootInZones(
  { api, options: o, logger }: { api: GceApi; options: GceOptions; logger: Logger },
  { zones, attributes, instanceFor, created, progress, signal: bootSignal }: BootRequest,
): Promise<{ zone: string; name: string; startupDuration: number }> {
  for (const [index, zone] of zones.entries()) {
    const name = instanceName(o, attributes);
    const spec = instanceFor(name, zone);
    const bootStart = Date.now();
    // From here on a failure deletes the instance, even if the insert's answer never arrived.
    created.instance = { zone, name };
    let operation = await api
      .insertInstance(zone, spec, randomUUID(), { signal: bootSignal, abortInFlight: false })
      .catch((error: unknown) => {
        if (!bootSignal.aborted)
          progress.progress({ message: 'could not insert instance', state: 'failure' });
        throw error;
      });
    progress.progress({ message: 'inserted instance', state: 'success' });
    bootSignal.throwIfAborted();
    if (o.BOOT_PRE_POLL_SLEEP > 0) {
      progress.progress({
        message: `sleeping ${formatDuration(o.BOOT_PRE_POLL_SLEEP)} before checking instance insert`,
      });
      await sleep(o.BOOT_PRE_POLL_SLEEP, bootSignal);
    }
    progress.progress({ message: 'polling for instance insert completion...', continues: true });
    try {
      operation = await waitForOperation(api, zone, operation, {
        signal: bootSignal,
        pollSleepMs: o.BOOT_POLL_SLEEP,
        onPending: () => progress.progress({ message: '.', raw: true }),
      });
    } catch (error) {
      if (bootSignal.aborted) throw error;
      const next = zones[index + 1];
      if (isZoneCapacityError(error) && next !== undefined) {
        logger.warn('gce: switching zones due to error', { zone, next, error: String(error) });
        progress.progress({
          message: `zone ${zone} is out of capacity, trying ${next}`,
          interrupts: true,
        });
        await deleteInstance(api, o, zone, name);
        created.instance = undefined;
        continue;
      }
      progress.progress({
        message: 'instance could not be inserted',
        state: 'failure',
        interrupts: true,
      });
      throw error;
    }
    const startupDuration = Date.now() - bootStart;
    progress.progress({
      message: `instance is ready (${formatDuration(startupDuration)})`,
      state: 'success',
      interrupts: true,
    });
    return { zone, name, startupDuration };
  }
  throw new ProviderApiError({
    provider: 'gce',
    operation: 'start',
    message: 'no zone left to try',
    retryable: true,
  });
}

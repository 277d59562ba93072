import { randomUUID } from 'node:crypto';
import { backoffDelay, type SignalOptions, sleep } from '@workerkit/core';
import type { GceApi, IOperation } from './gce-client.js';
import { gceErrorClass } from './gce-errors.js';
import { waitForOperation } from './gce-operations.js';
import type { GceOptions } from './gce-options.js';

/**
 * Deletes an instance and, unless SKIP_STOP_POLL, waits for the deletion to finish; all of it
 * bounded by STOP_TIMEOUT. An instance that is already gone counts as deleted. While another
 * operation on the instance runs (its insert, a preemption) GCE answers `resourceNotReady`: the
 * delete is sent again, with a backoff starting at STOP_POLL_SLEEP, until it is accepted or
 * STOP_TIMEOUT passes.
 */
export async function deleteInstance(
  api: GceApi,
  options: GceOptions,
  zone: string,
  name: string,
  { signal }: SignalOptions = {},
): Promise<void> {
  const deadline = AbortSignal.timeout(options.STOP_TIMEOUT);
  const bounded = signal ? AbortSignal.any([signal, deadline]) : deadline;
  let operation: IOperation | undefined;
  for (let attempt = 1; operation === undefined; attempt++) {
    try {
      // A delete already sent is waited for: whether it happened must be known.
      operation = await api.deleteInstance(zone, name, randomUUID(), {
        signal: bounded,
        abortInFlight: false,
      });
    } catch (error) {
      const kind = gceErrorClass(error);
      if (kind === 'not-found') return;
      if (kind !== 'not-ready' || bounded.aborted) throw error;
      const pollSleepMs = options.STOP_POLL_SLEEP;
      await sleep(backoffDelay(attempt, { initialMs: pollSleepMs, maxMs: pollSleepMs * 10 }), bounded);
    }
  }
  if (options.SKIP_STOP_POLL) return;
  if (options.STOP_PRE_POLL_SLEEP > 0) await sleep(options.STOP_PRE_POLL_SLEEP, bounded);
  try {
    await waitForOperation(api, zone, operation, { signal: bounded, pollSleepMs: options.STOP_POLL_SLEEP });
  } catch (error) {
    if (gceErrorClass(error) === 'not-found') return;
    throw error;
  }
}

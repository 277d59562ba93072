import { backoffDelay, sleep } from '@workerkit/core';
import type { GceApi, IOperation } from './gce-client.js';
import { gceOperationError } from './gce-errors.js';

export interface WaitOperationOptions {
  signal?: AbortSignal | undefined;
  /** First backoff step when a long poll comes back unfinished (BOOT_POLL_SLEEP / STOP_POLL_SLEEP); doubles up to 10x. */
  pollSleepMs: number;
  /** Called after each unfinished poll (progress dots). */
  onPending?: () => void;
}

/**
 * Waits for a zone operation to finish with `zoneOperations.wait` long polls: one call when the
 * operation finishes within the server's wait window (2 min on GCE). An unfinished answer is
 * followed by a jittered backoff before the next poll, so an early-returning server is never
 * hammered. A finished operation with an error rejects with a `ProviderApiError` whose `code` is
 * the GCE error code.
 */
export async function waitForOperation(
  api: GceApi,
  zone: string,
  operation: IOperation,
  options: WaitOperationOptions,
): Promise<IOperation> {
  let current = operation;
  for (let attempt = 1; current.status !== 'DONE'; attempt++) {
    const started = Date.now();
    current = await api.waitOperation(zone, current.name!, { signal: options.signal });
    if (current.status === 'DONE') break;
    options.onPending?.();
    // A wait that returned quickly (server with a short window) must not turn into a busy loop.
    const step = backoffDelay(attempt, { initialMs: options.pollSleepMs, maxMs: options.pollSleepMs * 10 });
    await sleep(Math.max(0, step - (Date.now() - started)), options.signal);
  }
  if (current.error?.errors?.length)
    throw gceOperationError(String(current.operationType ?? 'operation'), current);
  return current;
}

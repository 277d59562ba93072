import { setTimeout as delay } from 'node:timers/promises';

/** Thrown (as the abort reason) when a run's hard timeout passes. */
export class HardTimeoutError extends Error {
  override readonly name = 'HardTimeoutError';
  readonly timeoutMs: number;

  constructor(timeoutMs: number) {
    super(`hard timeout of ${timeoutMs} ms reached`);
    this.timeoutMs = timeoutMs;
  }
}

/** True when the signal was aborted by a timeout rather than by a caller's cancel. */
export function abortedByTimeout(signal: AbortSignal | undefined): boolean {
  const reason: unknown = signal?.reason;
  return (
    reason instanceof HardTimeoutError ||
    (typeof reason === 'object' && reason !== null && (reason as { name?: unknown }).name === 'TimeoutError')
  );
}

/** A signal that also aborts with a `HardTimeoutError` after `timeoutMs` (none when absent or 0). */
export function withHardTimeout(
  signal: AbortSignal | undefined,
  timeoutMs: number | undefined,
): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const signals = [controller.signal, ...(signal ? [signal] : [])];
  let timer: NodeJS.Timeout | undefined;
  if (timeoutMs !== undefined && timeoutMs > 0) {
    timer = setTimeout(() => controller.abort(new HardTimeoutError(timeoutMs)), timeoutMs);
    timer.unref();
  }
  return {
    signal: AbortSignal.any(signals),
    dispose: () => clearTimeout(timer),
  };
}

/** Sleeps, rejecting with the signal's reason as soon as it aborts. */
export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  try {
    await delay(ms, undefined, signal ? { signal } : undefined);
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    throw error;
  }
}

/** Resolves when the signal aborts; the returned `cancel` removes the listener. */
export function whenAborted(signal: AbortSignal): { promise: Promise<unknown>; cancel(): void } {
  let cancel = () => {};
  const promise = new Promise<unknown>((resolve) => {
    if (signal.aborted) return resolve(signal.reason);
    const onAbort = () => resolve(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    cancel = () => signal.removeEventListener('abort', onAbort);
  });
  return { promise, cancel: () => cancel() };
}

/**
 * Settles with `promise`, or rejects with the signal's reason as soon as it aborts (or at once
 * when it already has). The work behind `promise` is left to finish unobserved.
 */
export async function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  promise.catch(() => {});
  signal.throwIfAborted();
  const aborted = whenAborted(signal);
  try {
    return await Promise.race([promise, aborted.promise.then((reason) => Promise.reject(reason))]);
  } finally {
    aborted.cancel();
  }
}

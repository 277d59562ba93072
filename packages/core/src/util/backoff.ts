import { sleep } from './abort.js';

export interface BackoffOptions {
  /** First delay in ms. */
  initialMs: number;
  /** Largest single delay in ms. */
  maxMs: number;
  /** Growth per attempt (default 2). */
  factor?: number;
  /** Give up once this much time has passed since the first attempt (default: never). */
  maxElapsedMs?: number;
  /** Random share of each delay, 0..1 (default 0.5): spreads retries of many workers apart. */
  jitter?: number;
  signal?: AbortSignal;
  /** Called before each wait with the error that caused it; `elapsedMs` counts from the first attempt. */
  onRetry?: (info: { attempt: number; delayMs: number; elapsedMs: number; error: unknown }) => void;
}

/** The delay before retry number `attempt` (1-based), jittered. */
export function backoffDelay(attempt: number, options: BackoffOptions, random = Math.random): number {
  const factor = options.factor ?? 2;
  const jitter = options.jitter ?? 0.5;
  const base = Math.min(options.maxMs, options.initialMs * factor ** (attempt - 1));
  return Math.round(base * (1 - jitter + jitter * 2 * random()));
}

/**
 * Runs `fn` until it succeeds, `isRetryable` says no, or `maxElapsedMs` passes; waits with
 * jittered exponential backoff in between. Aborting rejects at once with the signal's reason.
 */
export async function retryWithBackoff<T>(
  fn: (attempt: number) => Promise<T>,
  isRetryable: (error: unknown) => boolean,
  options: BackoffOptions,
): Promise<T> {
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    options.signal?.throwIfAborted();
    try {
      return await fn(attempt);
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason;
      if (!isRetryable(error)) throw error;
      const delayMs = backoffDelay(attempt, options);
      const elapsedMs = Date.now() - started;
      if (options.maxElapsedMs !== undefined && elapsedMs + delayMs > options.maxElapsedMs) throw error;
      options.onRetry?.({ attempt, delayMs, elapsedMs, error });
      await sleep(delayMs, options.signal);
    }
  }
}

import { sleep } from '@workerkit/core';

export interface GceRateLimiterOptions {
  /** Calls let through per `durationMs` (RATE_LIMIT_MAX_CALLS). */
  maxCalls: number;
  /** The window (RATE_LIMIT_DURATION). */
  durationMs: number;
  now?: () => number;
}

/**
 * A client-side limit in front of every GCE API call: at most `maxCalls` calls start in any
 * sliding window of `durationMs`, first come first served. When the API throttles or fails
 * with 5xx, `pause` holds every caller back for a jittered backoff, so a worker's instances do
 * not all retry at once.
 */
export class GceRateLimiter {
  readonly #maxCalls: number;
  readonly #durationMs: number;
  readonly #now: () => number;
  /** Start times of the calls in the current window, oldest first. */
  readonly #recent: number[] = [];
  #resumeAt = 0;
  #queue: Promise<void> = Promise.resolve();
  #waiting = 0;

  constructor(options: GceRateLimiterOptions) {
    this.#maxCalls = options.maxCalls;
    this.#durationMs = options.durationMs;
    this.#now = options.now ?? Date.now;
  }

  /** Callers waiting for a slot. */
  get queueLength(): number {
    return this.#waiting;
  }

  /** Resolves when the caller may make one call; rejects with the signal's reason on abort. */
  acquire(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    this.#waiting += 1;
    const turn = this.#queue.then(() => this.#waitForSlot(signal));
    // The next caller waits for this one's slot, whether it got it or was aborted.
    this.#queue = turn.catch(() => {});
    return turn.finally(() => {
      this.#waiting -= 1;
    });
  }

  /** Holds every caller back for `ms` (throttling or server trouble seen). */
  pause(ms: number): void {
    this.#resumeAt = Math.max(this.#resumeAt, this.#now() + ms);
  }

  async #waitForSlot(signal?: AbortSignal): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      const now = this.#now();
      while (this.#recent.length > 0 && this.#recent[0]! <= now - this.#durationMs) this.#recent.shift();
      const pausedFor = this.#resumeAt - now;
      const windowWait =
        this.#recent.length >= this.#maxCalls ? this.#recent[0]! + this.#durationMs - now : 0;
      const wait = Math.max(pausedFor, windowWait);
      if (wait <= 0) {
        this.#recent.push(now);
        return;
      }
      await sleep(wait, signal);
    }
  }
}

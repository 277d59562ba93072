import { sleep } from '@workerkit/core';

/**
 * A token bucket shared by every call of one provider, which halves its rate when EC2 answers
 * `RequestLimitExceeded` and creeps back up on success (AIMD), so many concurrent starts settle
 * just under the account's limit instead of hammering it.
 */
export class AdaptiveRateLimiter {
  readonly #maxRate: number;
  readonly #minRate: number;
  #rate: number;
  #tokens: number;
  #refilledAt = performance.now();
  // -Infinity, not 0: performance.now() counts from process start, so a first throttle within
  // the first second of a process must still count.
  #lastDecrease = Number.NEGATIVE_INFINITY;

  /** `perSecond`: the configured ceiling (RATE_LIMIT_MAX_CALLS / RATE_LIMIT_DURATION). */
  constructor(perSecond: number, { minRate = 0.2 }: { minRate?: number } = {}) {
    this.#maxRate = perSecond;
    this.#minRate = Math.min(minRate, perSecond);
    this.#rate = perSecond;
    this.#tokens = this.#burst();
  }

  /** Calls per second currently let through. */
  get rate(): number {
    return this.#rate;
  }

  #burst(): number {
    return Math.max(1, Math.floor(this.#rate));
  }

  #refill(now: number): void {
    this.#tokens = Math.min(this.#burst(), this.#tokens + ((now - this.#refilledAt) / 1000) * this.#rate);
    this.#refilledAt = now;
  }

  /** Waits for a token (a reservation: callers are served in order). */
  async acquire(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    this.#refill(performance.now());
    this.#tokens -= 1;
    if (this.#tokens >= 0) return;
    const waitMs = (-this.#tokens / this.#rate) * 1000;
    try {
      await sleep(waitMs, signal);
    } catch (error) {
      this.#tokens += 1;
      throw error;
    }
  }

  /** EC2 throttled a call: halve the rate (at most once per second, as one burst is one signal). */
  onThrottled(): void {
    const now = performance.now();
    if (now - this.#lastDecrease < 1000) return;
    this.#lastDecrease = now;
    this.#refill(now);
    this.#rate = Math.max(this.#minRate, this.#rate / 2);
    this.#tokens = Math.min(this.#tokens, 0);
  }

  /** A call went through: raise the rate a little, up to the ceiling. */
  onSuccess(): void {
    if (this.#rate >= this.#maxRate) return;
    this.#refill(performance.now());
    this.#rate = Math.min(this.#maxRate, this.#rate + 0.05 * Math.max(1, this.#rate / 4));
  }
}

import {
  dynamicConfigTtl,
  type FleetLink,
  fleetLinkFor,
  type Logger,
  type OwnerLeaseStore,
  type RateLimiterKind,
  recordApiCallAdmitted,
  recordApiThrottled,
  sleep,
} from '@workerkit/core';
import type { Ec2Options } from './ec2-options.js';

/** The key part of the shared limit in Redis (`<prefix>:ec2-api:…`). */
export const EC2_RATE_LIMIT_NAME = 'ec2-api';

export interface Ec2RateLimiterOptions {
  /** The lowest rate (calls/s) throttling can push this process down to (default 0.2). */
  minRate?: number;
  /**
   * RATE_LIMIT_REDIS_URL: the configured RATE_LIMIT_MAX_CALLS per RATE_LIMIT_DURATION is shared
   * by every worker on that Redis; this process's adaptive bucket is then the fallback while
   * Redis cannot be reached.
   */
  fleet?: FleetLink | undefined;
  /** With `fleet`: the window and its calls (the bucket only knows their ratio). */
  maxCalls?: number;
  durationMs?: number;
  /** RATE_LIMIT_DYNAMIC_CONFIG(_TTL): with `fleet`, read the limits from Redis, cached this long. */
  dynamicConfigTtlMs?: number | undefined;
}

/**
 * The rate limit in front of every EC2 call. Per process, a token bucket which halves its rate
 * when EC2 answers `RequestLimitExceeded` and creeps back up on success (AIMD), so many
 * concurrent starts settle just under the account's limit instead of hammering it. With a
 * fleet link, the limit is shared through Redis instead (a sliding window of
 * RATE_LIMIT_DURATION), the bucket serving as fallback. Every admitted call and every throttle
 * is counted in telemetry.
 */
export class Ec2RateLimiter {
  readonly #maxRate: number;
  readonly #minRate: number;
  readonly #fleet: FleetLink | undefined;
  readonly #shared: { acquire(signal?: AbortSignal): Promise<RateLimiterKind> } | undefined;
  #rate: number;
  #tokens: number;
  #refilledAt = performance.now();
  // -Infinity, not 0: performance.now() counts from process start, so a first throttle within
  // the first second of a process must still count.
  #lastDecrease = Number.NEGATIVE_INFINITY;

  /** `perSecond`: the configured ceiling (RATE_LIMIT_MAX_CALLS / RATE_LIMIT_DURATION). */
  constructor(perSecond: number, options: Ec2RateLimiterOptions = {}) {
    this.#maxRate = perSecond;
    this.#minRate = Math.min(options.minRate ?? 0.2, perSecond);
    this.#rate = perSecond;
    this.#tokens = this.#burst();
    this.#fleet = options.fleet;
    this.#shared = options.fleet?.rateLimiter({
      name: EC2_RATE_LIMIT_NAME,
      maxCalls: options.maxCalls ?? Math.max(1, Math.round(perSecond)),
      durationMs: options.durationMs ?? 1000,
      dynamicConfigTtlMs: options.dynamicConfigTtlMs,
      fallback: async (signal) => {
        await this.#acquireLocal(signal);
      },
    });
  }

  /** Calls per second this process's bucket lets through. */
  get rate(): number {
    return this.#rate;
  }

  /** Owner leases in the fleet's Redis; undefined without RATE_LIMIT_REDIS_URL. */
  get ownerLeases(): OwnerLeaseStore | undefined {
    return this.#fleet?.ownerLeases;
  }

  #burst(): number {
    return Math.max(1, Math.floor(this.#rate));
  }

  #refill(now: number): void {
    this.#tokens = Math.min(this.#burst(), this.#tokens + ((now - this.#refilledAt) / 1000) * this.#rate);
    this.#refilledAt = now;
  }

  /** Waits for a slot (shared or local; local ones are reservations served in order). */
  async acquire(signal?: AbortSignal): Promise<void> {
    const started = performance.now();
    const kind = this.#shared ? await this.#shared.acquire(signal) : await this.#acquireLocal(signal);
    recordApiCallAdmitted('ec2', kind, performance.now() - started);
  }

  async #acquireLocal(signal?: AbortSignal): Promise<'local'> {
    signal?.throwIfAborted();
    this.#refill(performance.now());
    this.#tokens -= 1;
    if (this.#tokens >= 0) return 'local';
    const waitMs = (-this.#tokens / this.#rate) * 1000;
    try {
      await sleep(waitMs, signal);
    } catch (error) {
      this.#tokens += 1;
      throw error;
    }
    return 'local';
  }

  /** EC2 throttled a call: halve the rate (at most once per second, as one burst is one signal). */
  onThrottled(): void {
    recordApiThrottled('ec2');
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

  /** Closes the fleet link, if any (its owner lease then expires). */
  async close(): Promise<void> {
    await this.#fleet?.close();
  }
}

// A variable specifier: TypeScript must not resolve (or require) the optional package at build.
const FLEET_MODULE: string = '@workerkit/redis';

/** The limiter for a configuration: shared through Redis when RATE_LIMIT_REDIS_URL is set. */
export function createEc2RateLimiter(
  config: Ec2Options,
  context: { ownerId: string; logger: Logger },
): Ec2RateLimiter {
  return new Ec2RateLimiter(config.RATE_LIMIT_MAX_CALLS / (config.RATE_LIMIT_DURATION / 1000), {
    maxCalls: config.RATE_LIMIT_MAX_CALLS,
    durationMs: config.RATE_LIMIT_DURATION,
    dynamicConfigTtlMs: dynamicConfigTtl(config),
    fleet: fleetLinkFor(config, {
      backend: 'ec2',
      backendPackage: '@workerkit/backend-ec2',
      importFleet: () => import(FLEET_MODULE),
      ...context,
    }),
  });
}

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
import type { GceOptions } from './gce-options.js';

export interface GceRateLimiterOptions {
  /** Calls let through per `durationMs` (RATE_LIMIT_MAX_CALLS). */
  maxCalls: number;
  /** The window (RATE_LIMIT_DURATION). */
  durationMs: number;
  now?: () => number;
  /**
   * RATE_LIMIT_REDIS_URL: the limit is shared by every worker on that Redis (this process's
   * own window is then the fallback while Redis cannot be reached).
   */
  fleet?: FleetLink | undefined;
  /** RATE_LIMIT_DYNAMIC_CONFIG(_TTL): with `fleet`, read the limits from Redis, cached this long. */
  dynamicConfigTtlMs?: number | undefined;
}

/** The key part of the shared limit in Redis, as the Go worker names it. */
export const GCE_RATE_LIMIT_NAME = 'gce-api';

/**
 * A client-side limit in front of every GCE API call: at most `maxCalls` calls start in any
 * sliding window of `durationMs`, first come first served — per worker process, or per fleet
 * when a Redis link is given. When the API throttles or fails with 5xx, `pause` holds every
 * caller of this process back for a jittered backoff, so a worker's instances do not all retry
 * at once. Every admitted call and every throttle is counted in telemetry.
 */
export class GceRateLimiter {
  readonly #maxCalls: number;
  readonly #durationMs: number;
  readonly #now: () => number;
  readonly #fleet: FleetLink | undefined;
  readonly #shared: { acquire(signal?: AbortSignal): Promise<RateLimiterKind> } | undefined;
  /** Start times of the calls in the current window, oldest first. */
  readonly #recent: number[] = [];
  #resumeAt = 0;
  #queue: Promise<void> = Promise.resolve();
  #waiting = 0;

  constructor(options: GceRateLimiterOptions) {
    this.#maxCalls = options.maxCalls;
    this.#durationMs = options.durationMs;
    this.#now = options.now ?? Date.now;
    this.#fleet = options.fleet;
    this.#shared = options.fleet?.rateLimiter({
      name: GCE_RATE_LIMIT_NAME,
      maxCalls: options.maxCalls,
      durationMs: options.durationMs,
      dynamicConfigTtlMs: options.dynamicConfigTtlMs,
      fallback: (signal) => this.#acquireLocal(signal),
    });
  }

  /** Owner leases in the fleet's Redis; undefined without RATE_LIMIT_REDIS_URL. */
  get ownerLeases(): OwnerLeaseStore | undefined {
    return this.#fleet?.ownerLeases;
  }

  /** Callers waiting for a slot in this process's window. */
  get queueLength(): number {
    return this.#waiting;
  }

  /** Resolves when the caller may make one call; rejects with the signal's reason on abort. */
  async acquire(signal?: AbortSignal): Promise<void> {
    const started = performance.now();
    let kind: RateLimiterKind = 'local';
    if (this.#shared) {
      await this.#waitOutPause(signal);
      kind = await this.#shared.acquire(signal);
    } else {
      await this.#acquireLocal(signal);
    }
    recordApiCallAdmitted('gce', kind, performance.now() - started);
  }

  /**
   * Holds every caller of this process back for `ms`: the API throttled (`throttled`, counted
   * in telemetry) or failed on its side (`server-error`).
   */
  pause(ms: number, cause: 'throttled' | 'server-error' = 'throttled'): void {
    if (cause === 'throttled') recordApiThrottled('gce');
    this.#resumeAt = Math.max(this.#resumeAt, this.#now() + ms);
  }

  /** Closes the fleet link, if any (its owner lease then expires). */
  async close(): Promise<void> {
    await this.#fleet?.close();
  }

  #acquireLocal(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    this.#waiting += 1;
    const turn = this.#queue.then(() => this.#waitForSlot(signal));
    // The next caller waits for this one's slot, whether it got it or was aborted.
    this.#queue = turn.catch(() => {});
    return turn.finally(() => {
      this.#waiting -= 1;
    });
  }

  async #waitOutPause(signal?: AbortSignal): Promise<void> {
    for (let wait = this.#resumeAt - this.#now(); wait > 0; wait = this.#resumeAt - this.#now()) {
      await sleep(wait, signal);
    }
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

// A variable specifier: TypeScript must not resolve (or require) the optional package at build.
const FLEET_MODULE: string = '@workerkit/redis';

/** The limiter for a provider's options: shared through Redis when RATE_LIMIT_REDIS_URL is set. */
export function createGceRateLimiter(
  options: GceOptions,
  context: { ownerId: string; logger: Logger },
): GceRateLimiter {
  return new GceRateLimiter({
    maxCalls: options.RATE_LIMIT_MAX_CALLS,
    durationMs: options.RATE_LIMIT_DURATION,
    dynamicConfigTtlMs: dynamicConfigTtl(options),
    fleet: fleetLinkFor(options, {
      backend: 'gce',
      backendPackage: '@workerkit/backend-gce',
      importFleet: () => import(FLEET_MODULE),
      ...context,
    }),
  });
}

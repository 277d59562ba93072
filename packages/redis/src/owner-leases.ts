import {
  abortable,
  type Logger,
  leaseOwnerId,
  type OwnerLeaseState,
  type OwnerLeaseStore,
  type SignalOptions,
} from '@workerkit/core';
import type { Redis } from 'ioredis';
import { whenReady } from './redis-connection.js';

/** How long a lease lookup waits for the connection before failing. */
const READY_WAIT_MS = 2000;

/** How long Redis remembers that an owner once held a lease: longer than any resource lives. */
export const OWNER_SEEN_TTL_MS = 7 * 24 * 3_600_000;

/**
 * Owner leases in Redis. `<prefix>:owner:<id>:lease` lives `ttlMs` past each renewal;
 * `<prefix>:owner:<id>:seen` remembers for a week that the owner used leases at all, so an
 * owner without a live lease is "expired" only if it once had one. Ids are stored in their
 * label form (`leaseOwnerId`), as gc reads them from resource labels.
 */
export class RedisOwnerLeases implements OwnerLeaseStore {
  readonly #client: Redis;
  readonly #prefix: string;

  constructor(client: Redis, prefix: string) {
    this.#client = client;
    this.#prefix = prefix;
  }

  #keys(ownerId: string): { lease: string; seen: string } {
    const base = `${this.#prefix}:owner:${leaseOwnerId(ownerId)}`;
    return { lease: `${base}:lease`, seen: `${base}:seen` };
  }

  /** Writes (or extends) the lease of `ownerId` for `ttlMs`. */
  async renew(ownerId: string, ttlMs: number, signal?: AbortSignal): Promise<void> {
    await abortable(whenReady(this.#client, READY_WAIT_MS), signal);
    const keys = this.#keys(ownerId);
    const renewed = this.#client
      .multi()
      .set(keys.lease, String(Date.now() + ttlMs), 'PX', Math.ceil(ttlMs))
      .set(keys.seen, String(Date.now()), 'PX', OWNER_SEEN_TTL_MS)
      .exec();
    const results = await abortable(renewed, signal);
    const failed = results?.find(([error]) => error);
    if (!results || failed) throw failed?.[0] ?? new Error('lease renewal transaction was aborted');
  }

  async leaseStates(
    ownerIds: readonly string[],
    options: SignalOptions = {},
  ): Promise<Map<string, OwnerLeaseState>> {
    const states = new Map<string, OwnerLeaseState>();
    if (ownerIds.length === 0) return states;
    // A fresh process (workerkit gc) may ask before its connection is up: give it a moment.
    await abortable(whenReady(this.#client, READY_WAIT_MS), options.signal);
    const pipeline = this.#client.pipeline();
    for (const ownerId of ownerIds) {
      const keys = this.#keys(ownerId);
      pipeline.exists(keys.lease).exists(keys.seen);
    }
    const results = await abortable(pipeline.exec(), options.signal);
    if (!results) throw new Error('owner lease lookup was aborted');
    ownerIds.forEach((ownerId, index) => {
      const [leaseError, lease] = results[2 * index]!;
      const [seenError, seen] = results[2 * index + 1]!;
      if (leaseError || seenError) throw leaseError ?? seenError;
      states.set(ownerId, lease === 1 ? 'live' : seen === 1 ? 'expired' : 'unknown');
    });
    return states;
  }
}

/**
 * Renews one owner's lease every third of its TTL, from `start()` to `stop()`. A failed renewal
 * (Redis down) is retried at the next tick; the lease survives outages shorter than two thirds
 * of the TTL.
 */
export class OwnerLeaseKeeper {
  readonly #leases: RedisOwnerLeases;
  readonly #ownerId: string;
  readonly #ttlMs: number;
  readonly #logger: Logger;
  #timer: NodeJS.Timeout | undefined;
  #renewing: Promise<void> | undefined;

  constructor(options: { leases: RedisOwnerLeases; ownerId: string; ttlMs: number; logger: Logger }) {
    this.#leases = options.leases;
    this.#ownerId = options.ownerId;
    this.#ttlMs = options.ttlMs;
    this.#logger = options.logger;
  }

  start(): void {
    if (this.#timer) return;
    this.renewNow();
    this.#timer = setInterval(() => this.#tick(), Math.max(50, this.#ttlMs / 3));
    // Renewing a lease is no reason to keep a process alive.
    this.#timer.unref();
  }

  /** The renewal in flight, if any (tests wait for the first one). */
  get renewing(): Promise<void> | undefined {
    return this.#renewing;
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#renewing;
  }

  /** Renews at once (the session calls it when Redis is back, so a restarted Redis learns the lease early). */
  renewNow(): void {
    this.#tick();
  }

  #tick(): void {
    if (this.#renewing) return;
    this.#renewing = this.#leases
      .renew(this.#ownerId, this.#ttlMs)
      .catch((error: unknown) =>
        this.#logger.debug('redis: owner lease renewal failed', {
          owner: this.#ownerId,
          error: String(error),
        }),
      )
      .finally(() => {
        this.#renewing = undefined;
      });
  }
}

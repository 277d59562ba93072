import type { ConnectionOptions } from 'node:tls';
import type { FleetRateLimiterOptions, FleetSession, FleetSessionOptions } from '@workerkit/core';
import type { Redis } from 'ioredis';
import { OwnerLeaseKeeper, RedisOwnerLeases } from './owner-leases.js';
import { connectRedis } from './redis-connection.js';
import { SharedRateLimiter } from './shared-rate-limiter.js';

export interface OpenFleetSessionOptions extends FleetSessionOptions {
  /** Extra TLS options for `rediss://` (a private CA); backends rely on the system's CAs. */
  tls?: ConnectionOptions;
  commandTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** Passed to each rate limiter (see `SharedRateLimiterOptions`). */
  probeIntervalMs?: number;
}

/**
 * One worker's (one provider's) link to the fleet: a Redis connection, its owner lease kept
 * alive from now until `close()`, and the shared rate limiters it asks for.
 */
export class RedisFleetSession implements FleetSession {
  readonly client: Redis;
  readonly ownerLeases: RedisOwnerLeases;
  readonly #options: OpenFleetSessionOptions;
  readonly #keeper: OwnerLeaseKeeper;
  #closed = false;

  constructor(options: OpenFleetSessionOptions) {
    this.#options = options;
    this.client = connectRedis({
      url: options.url,
      provider: options.backend,
      logger: options.logger,
      ...(options.tls ? { tls: options.tls } : {}),
      ...(options.commandTimeoutMs ? { commandTimeoutMs: options.commandTimeoutMs } : {}),
      ...(options.connectTimeoutMs ? { connectTimeoutMs: options.connectTimeoutMs } : {}),
    });
    this.ownerLeases = new RedisOwnerLeases(this.client, options.prefix);
    this.#keeper = new OwnerLeaseKeeper({
      leases: this.ownerLeases,
      ownerId: options.ownerId,
      ttlMs: options.ownerLeaseTtlMs,
      logger: options.logger,
    });
    this.#keeper.start();
    // A reconnect may be to a Redis that lost its data (restarted without persistence).
    this.client.on('ready', () => {
      if (!this.#closed) this.#keeper.renewNow();
    });
  }

  rateLimiter(options: FleetRateLimiterOptions): SharedRateLimiter {
    return new SharedRateLimiter({
      ...options,
      client: this.client,
      prefix: this.#options.prefix,
      backend: this.#options.backend,
      logger: this.#options.logger,
      ...(this.#options.probeIntervalMs ? { probeIntervalMs: this.#options.probeIntervalMs } : {}),
    });
  }

  /** The first lease renewal (or the one in flight), for callers that must know it was written. */
  async leaseWritten(): Promise<void> {
    await this.#keeper.renewing;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#keeper.stop();
    this.client.disconnect();
  }
}

export function openFleetSession(options: OpenFleetSessionOptions): RedisFleetSession {
  return new RedisFleetSession(options);
}

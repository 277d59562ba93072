import { randomUUID } from 'node:crypto';
import {
  abortable,
  type FleetRateLimiter,
  type FleetRateLimiterOptions,
  type Logger,
  type RateLimiterKind,
  recordRateLimitFallback,
  sleep,
} from '@workerkit/core';
import type { Redis } from 'ioredis';
import { DynamicLimits, type Limits } from './dynamic-limits.js';
import { takeSlot } from './sliding-window.js';

export interface SharedRateLimiterOptions extends FleetRateLimiterOptions {
  client: Redis;
  /** RATE_LIMIT_PREFIX. */
  prefix: string;
  /** Backend alias, for logs and telemetry. */
  backend: string;
  logger: Logger;
  /** While on the fallback, how often to check whether Redis answers again (default 1000 ms). */
  probeIntervalMs?: number;
  /** How long the first call waits for the first connection before falling back (default 2000 ms). */
  firstConnectWaitMs?: number;
}

/**
 * A rate limit shared by every worker using the same Redis, prefix and name: at most
 * `maxCalls` calls in any window of `durationMs` on the Redis server's clock (a sliding log).
 *
 * Redis trouble never fails or stalls a call: when Redis cannot be reached, answers with an
 * error or does not answer within the command timeout, the limiter warns once and lets calls
 * through the per-process `fallback` limiter instead; a background probe switches back as soon
 * as Redis answers again. Within a process, callers queue for the shared limiter one at a
 * time, so at most one Redis command per limiter is in flight and no queue grows inside the
 * Redis client.
 */
export class SharedRateLimiter implements FleetRateLimiter {
  readonly #client: Redis;
  readonly #key: string;
  readonly #configured: Limits;
  readonly #dynamic: DynamicLimits | undefined;
  readonly #fallback: (signal?: AbortSignal) => Promise<void>;
  readonly #backend: string;
  readonly #logger: Logger;
  readonly #probeIntervalMs: number;
  readonly #callPrefix = randomUUID();
  #callCount = 0;
  #queue: Promise<unknown> = Promise.resolve();
  #mode: RateLimiterKind = 'redis';
  #firstConnect: Promise<true | Error> | undefined;
  #lastProbe = 0;
  #probing = false;
  /** The client's last connection error: says why commands fail while it reconnects. */
  #connectionError: Error | undefined;

  constructor(options: SharedRateLimiterOptions) {
    this.#client = options.client;
    const keyBase = `${options.prefix}:${options.name}`;
    this.#key = `${keyBase}:window`;
    this.#configured = { maxCalls: options.maxCalls, durationMs: options.durationMs };
    this.#fallback = options.fallback;
    this.#backend = options.backend;
    this.#logger = options.logger;
    this.#probeIntervalMs = options.probeIntervalMs ?? 1000;
    if (options.dynamicConfigTtlMs !== undefined) {
      this.#dynamic = new DynamicLimits({
        client: options.client,
        keyBase,
        configured: this.#configured,
        ttlMs: options.dynamicConfigTtlMs,
        logger: options.logger,
      });
    }
    options.client.on('error', (error: Error) => {
      this.#connectionError = error;
    });
    options.client.on('ready', () => {
      this.#connectionError = undefined;
    });
    const waitMs = options.firstConnectWaitMs ?? 2000;
    this.#firstConnect = waitForFirstConnection(options.client, waitMs);
  }

  /** Which limiter lets calls through now. */
  get mode(): RateLimiterKind {
    return this.#mode;
  }

  async acquire(signal?: AbortSignal): Promise<RateLimiterKind> {
    signal?.throwIfAborted();
    if (this.#firstConnect) {
      const connected = await abortable(this.#firstConnect, signal);
      this.#firstConnect = undefined;
      if (!connected && this.#mode === 'redis')
        this.#fallBack(new Error(`not connected (${this.#client.status})`));
    }
    if (this.#mode === 'local') return this.#acquireLocal(signal);
    const turn = abortable(this.#queue, signal).then(() => this.#acquireShared(signal));
    // The next caller waits for this one, whether it got its slot, fell back or was aborted.
    this.#queue = turn.catch(() => {});
    return turn;
  }

  async #acquireShared(signal?: AbortSignal): Promise<RateLimiterKind> {
    for (;;) {
      signal?.throwIfAborted();
      if (this.#mode === 'local') return this.#acquireLocal(signal);
      let limits: Limits;
      let waitMs: number;
      try {
        limits = this.#dynamic ? await this.#dynamic.current() : this.#configured;
        waitMs = await takeSlot(
          this.#client,
          this.#key,
          limits.maxCalls,
          limits.durationMs,
          this.#nextCallId(),
        );
      } catch (error) {
        this.#fallBack(error);
        return this.#acquireLocal(signal);
      }
      if (waitMs <= 0) return 'redis';
      // Sleep until the oldest call leaves the window; a little jitter spreads the workers
      // that all saw the same answer.
      await sleep(Math.min(waitMs, limits.durationMs) + Math.random() * 5, signal);
    }
  }

  async #acquireLocal(signal?: AbortSignal): Promise<RateLimiterKind> {
    this.#maybeProbe();
    await this.#fallback(signal);
    return 'local';
  }

  #fallBack(error: unknown): void {
    if (this.#mode === 'local') return;
    this.#mode = 'local';
    this.#lastProbe = performance.now();
    recordRateLimitFallback(this.#backend);
    this.#logger.warn(
      `${this.#backend}: shared rate limiter unavailable (Redis: ${this.#describe(error)}); limiting this process alone until Redis answers again`,
    );
  }

  /** On the fallback, at most once per interval: a PING in the background; its answer switches back. */
  #maybeProbe(): void {
    if (this.#probing || performance.now() - this.#lastProbe < this.#probeIntervalMs) return;
    this.#probing = true;
    this.#lastProbe = performance.now();
    this.#client
      .ping()
      .then(() => {
        if (this.#mode === 'local') {
          this.#mode = 'redis';
          this.#logger.info(`${this.#backend}: Redis answers again; the rate limit is shared again`);
        }
      })
      .catch(() => {})
      .finally(() => {
        this.#probing = false;
      });
  }

  #describe(error: unknown): string {
    const message = errorMessage(error);
    const cause = this.#connectionError?.message;
    return cause && cause !== message ? `${message}; last connection error: ${cause}` : message;
  }

  #nextCallId(): string {
    this.#callCount += 1;
    return `${this.#callPrefix}:${this.#callCount}`;
  }
}

/** True once connected; the first connection error, or a timeout error, otherwise. */
function waitForFirstConnection(client: Redis, timeoutMs: number): Promise<true | Error> {
  if (client.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ready: true | Error) => {
      clearTimeout(timer);
      client.off('ready', onReady);
      client.off('error', onError);
      resolve(ready);
    };
    const onReady = () => done(true);
    // A refused or failed first attempt means "down": no need to wait out the timeout.
    const onError = (error: Error) => done(error);
    const timer = setTimeout(
      () => done(new Error(`not connected after ${timeoutMs} ms (${client.status})`)),
      timeoutMs,
    );
    client.on('ready', onReady);
    client.on('error', onError);
  });
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

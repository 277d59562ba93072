import { type Logger, parseDuration } from '@workerkit/core';
import type { Redis } from 'ioredis';

export interface Limits {
  maxCalls: number;
  durationMs: number;
}

/**
 * RATE_LIMIT_DYNAMIC_CONFIG as on Go master: `<prefix>:<name>:max_calls` (an integer) and
 * `<prefix>:<name>:duration` (a Go duration such as "100s") override the configured limits,
 * each on its own; read at most once per `ttlMs`. An unreadable value is ignored with one
 * warning per distinct value.
 */
export class DynamicLimits {
  readonly #client: Redis;
  readonly #keys: [string, string];
  readonly #configured: Limits;
  readonly #ttlMs: number;
  readonly #logger: Logger;
  readonly #warned = new Set<string>();
  #cached: { limits: Limits; until: number } | undefined;

  constructor(options: {
    client: Redis;
    keyBase: string;
    configured: Limits;
    ttlMs: number;
    logger: Logger;
  }) {
    this.#client = options.client;
    this.#keys = [`${options.keyBase}:max_calls`, `${options.keyBase}:duration`];
    this.#configured = options.configured;
    this.#ttlMs = options.ttlMs;
    this.#logger = options.logger;
  }

  /** The limits in force; throws when Redis cannot be read and nothing is cached. */
  async current(): Promise<Limits> {
    const now = performance.now();
    if (this.#cached && now < this.#cached.until) return this.#cached.limits;
    const [rawMax, rawDuration] = await this.#client.mget(...this.#keys);
    const limits = { ...this.#configured };
    if (rawMax != null) {
      const max = /^\d+$/.test(rawMax.trim()) ? Number(rawMax.trim()) : Number.NaN;
      if (Number.isSafeInteger(max) && max >= 1) limits.maxCalls = max;
      else this.#warnOnce(this.#keys[0], rawMax, 'an integer of at least 1');
    }
    if (rawDuration != null) {
      const ms = parseDuration(rawDuration);
      if (ms !== undefined && ms > 0) limits.durationMs = ms;
      else this.#warnOnce(this.#keys[1], rawDuration, 'a positive Go duration such as "1s" or "100s"');
    }
    if (
      !this.#cached ||
      this.#cached.limits.maxCalls !== limits.maxCalls ||
      this.#cached.limits.durationMs !== limits.durationMs
    ) {
      this.#logger.info('rate limiter: dynamic config in force', { ...limits });
    }
    this.#cached = { limits, until: now + this.#ttlMs };
    return limits;
  }

  #warnOnce(key: string, value: string, expected: string): void {
    if (this.#warned.has(`${key}=${value}`)) return;
    this.#warned.add(`${key}=${value}`);
    this.#logger.warn(`rate limiter: ignoring ${key}=${JSON.stringify(value)}: expected ${expected}`);
  }
}

import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import {
  InvalidConfigError,
  type Logger,
  parseRedisUrl,
  REDIS_URL_EXPECTED,
  redactRedisUrl,
} from '@workerkit/core';
import { Redis } from 'ioredis';

export interface RedisConnectionOptions {
  /** `redis://[user][:password]@host[:port][/db]`, or `rediss://` for TLS. */
  url: string;
  /** Extra TLS options for `rediss://` (e.g. `ca` for a private certificate authority). */
  tls?: ConnectionOptions;
  /** A command unanswered this long fails (and the caller falls back); default 1000 ms. */
  commandTimeoutMs?: number;
  /** A connection attempt that takes longer fails; default 2000 ms. */
  connectTimeoutMs?: number;
  /** Longest pause between reconnection attempts; default 2000 ms. */
  maxReconnectDelayMs?: number;
  logger?: Logger;
  /** Names who reports a bad URL (a backend alias), default "redis". */
  provider?: string;
}

/**
 * An ioredis client set up for a limiter that must never make a job wait on Redis: commands
 * fail at once while disconnected (no offline queue), time out when the server hangs, and the
 * client reconnects in the background forever with capped backoff.
 */
export function connectRedis(options: RedisConnectionOptions): Redis {
  const parsed = parseRedisUrl(options.url);
  if (!parsed) {
    throw new InvalidConfigError({
      provider: options.provider ?? 'redis',
      option: 'RATE_LIMIT_REDIS_URL',
      value: redactRedisUrl(options.url),
      expected: REDIS_URL_EXPECTED,
    });
  }
  const maxDelay = options.maxReconnectDelayMs ?? 2000;
  const client = new Redis({
    host: parsed.host,
    port: parsed.port,
    db: parsed.db,
    ...(parsed.username ? { username: parsed.username } : {}),
    ...(parsed.password ? { password: parsed.password } : {}),
    // SNI takes host names only; for an IP address the certificate's IP SAN is checked.
    ...(parsed.tls
      ? { tls: { ...(isIP(parsed.host) ? {} : { servername: parsed.host }), ...options.tls } }
      : {}),
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: options.commandTimeoutMs ?? 1000,
    connectTimeout: options.connectTimeoutMs ?? 2000,
    retryStrategy: (attempt) => Math.min(maxDelay, 50 * 2 ** Math.min(attempt, 10)),
    // Reads-after-reconnect are ours to retry; ioredis must not replay a rate-limit script.
    autoResendUnfulfilledCommands: false,
    autoResubscribe: false,
  });
  // Without a listener ioredis prints every connection error; the limiter reports outages itself.
  client.on('error', (error: Error) =>
    options.logger?.debug('redis: connection error', {
      url: redactRedisUrl(options.url),
      error: error.message,
    }),
  );
  client.connect().catch(() => {
    // The first attempt failed: retryStrategy keeps trying; callers see `status` and fall back.
  });
  return client;
}

/** Resolves true once `client` is ready, false after `timeoutMs` (or when it was closed). */
export function whenReady(client: Redis, timeoutMs: number): Promise<boolean> {
  if (client.status === 'ready') return Promise.resolve(true);
  if (client.status === 'end') return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (ready: boolean) => {
      clearTimeout(timer);
      client.off('ready', onReady);
      client.off('end', onEnd);
      resolve(ready);
    };
    const onReady = () => done(true);
    const onEnd = () => done(false);
    const timer = setTimeout(() => done(false), timeoutMs);
    client.on('ready', onReady);
    client.on('end', onEnd);
  });
}

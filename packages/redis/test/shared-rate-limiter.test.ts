import { InvalidConfigError } from '@workerkit/core';
import { type RedisHandle, startRedis } from '@workerkit/testkit';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis, openFleetSession, type RedisFleetSession, takeSlot } from '../src/index.js';
import { inspector, RecordingLogger, session, uniquePrefix } from './redis-test-helpers.js';

/** A per-process limiter that counts the calls it let through (the fallback under test). */
function countingFallback() {
  const counter = {
    calls: 0,
    acquire: async () => {
      counter.calls += 1;
    },
  };
  return counter;
}

describe('shared rate limiter on a real redis-server', () => {
  let redis: RedisHandle;
  let client: Redis;
  const sessions: RedisFleetSession[] = [];
  const open = (options: Parameters<typeof session>[1]) => {
    const made = session(redis, options);
    sessions.push(made);
    return made;
  };

  beforeAll(async () => {
    redis = await startRedis();
    client = inspector(redis.url);
  });
  afterEach(async () => {
    for (const made of sessions.splice(0)) await made.close();
  });
  afterAll(async () => {
    client?.disconnect();
    await redis?.stop();
  });

  it('takes at most maxCalls slots per window across clients, on the server clock', async () => {
    const key = `${uniquePrefix()}:burst:window`;
    const other = inspector(redis.url);
    try {
      const answers = await Promise.all(
        Array.from({ length: 12 }, (_, i) => takeSlot(i % 2 ? client : other, key, 5, 10_000, `call-${i}`)),
      );
      expect(answers.filter((wait) => wait === 0)).toHaveLength(5);
      for (const wait of answers.filter((w) => w !== 0)) {
        expect(wait).toBeGreaterThan(0);
        expect(wait).toBeLessThanOrEqual(10_000);
      }
      expect(await client.zcard(key)).toBe(5);
      expect(await client.pttl(key)).toBeGreaterThan(0);
    } finally {
      other.disconnect();
    }
  });

  it('spreads calls of two workers over windows: 12 calls at 4 per 400 ms take at least two windows', async () => {
    const prefix = uniquePrefix();
    const limiters = [open({ prefix }), open({ prefix })].map((s) =>
      s.rateLimiter({ name: 'api', maxCalls: 4, durationMs: 400, fallback: countingFallback().acquire }),
    );
    const started = performance.now();
    const kinds = await Promise.all(Array.from({ length: 12 }, (_, i) => limiters[i % 2]!.acquire()));
    const elapsed = performance.now() - started;
    expect(kinds.every((kind) => kind === 'redis')).toBe(true);
    // Calls 1-4 in the first window, 5-8 no earlier than 400 ms later, 9-12 no earlier than 800.
    expect(elapsed).toBeGreaterThanOrEqual(790);
  });

  it('reads RATE_LIMIT_DYNAMIC_CONFIG keys, caches them, and ignores unreadable values with a warning', async () => {
    const prefix = uniquePrefix();
    await client.mset(`${prefix}:api:max_calls`, '2', `${prefix}:api:duration`, '300ms');
    const logger = new RecordingLogger();
    const limiter = open({ prefix, logger }).rateLimiter({
      name: 'api',
      maxCalls: 1000,
      durationMs: 60_000,
      dynamicConfigTtlMs: 200,
      fallback: countingFallback().acquire,
    });
    const started = performance.now();
    for (let i = 0; i < 6; i++) await limiter.acquire();
    // 2 per 300 ms: calls 3-4 wait one window, 5-6 two.
    expect(performance.now() - started).toBeGreaterThanOrEqual(590);
    expect(logger.lines).toContainEqual(
      expect.objectContaining({ level: 'info', fields: { maxCalls: 2, durationMs: 300 } }),
    );

    await client.mset(`${prefix}:api:max_calls`, 'lots', `${prefix}:api:duration`, '5s');
    await new Promise((resolve) => setTimeout(resolve, 250));
    await limiter.acquire();
    expect(logger.lines.filter((line) => line.level === 'warn').map((line) => line.message)).toEqual([
      `rate limiter: ignoring ${prefix}:api:max_calls="lots": expected an integer of at least 1`,
    ]);
    expect(logger.lines.at(-1)).toMatchObject({
      level: 'info',
      fields: { maxCalls: 1000, durationMs: 5000 },
    });
  });

  it('refuses a bad URL with a config error naming the option and what is expected', () => {
    for (const url of [
      'http://127.0.0.1:6379',
      'redis://',
      'redis://127.0.0.1:99999',
      'redis://h/x',
      'redis://h?db=2',
    ]) {
      expect(() => connectRedis({ url, provider: 'gce' })).toThrow(InvalidConfigError);
    }
    expect(() => connectRedis({ url: 'redis://:hunter2@127.0.0.1/x' })).toThrow(
      /RATE_LIMIT_REDIS_URL.*redis:\/\/:\*\*\*@127\.0\.0\.1\/x.*rediss:\/\//,
    );
  });

  it('honours the password and database number in the URL', async () => {
    const secured = await startRedis({ password: 's3cret/+' });
    const prefix = uniquePrefix();
    const fleet = openFleetSession({
      url: `${secured.url}/3`,
      prefix,
      ownerId: 'db-test_1',
      ownerLeaseTtlMs: 60_000,
      backend: 'test',
      logger: new RecordingLogger(),
    });
    const look = inspector(`${secured.url}/3`);
    try {
      const limiter = fleet.rateLimiter({
        name: 'api',
        maxCalls: 5,
        durationMs: 1000,
        fallback: countingFallback().acquire,
      });
      expect(await limiter.acquire()).toBe('redis');
      expect(await look.zcard(`${prefix}:api:window`)).toBe(1);
      await look.select(0);
      expect(await look.exists(`${prefix}:api:window`)).toBe(0);
    } finally {
      look.disconnect();
      await fleet.close();
      await secured.stop();
    }
  });

  it('speaks TLS for rediss:// URLs', async () => {
    const secured = await startRedis({ tls: true, password: 'pw' });
    const prefix = uniquePrefix();
    expect(secured.url).toMatch(/^rediss:\/\/:pw@127\.0\.0\.1:\d+$/);
    const fleet = openFleetSession({
      url: secured.url,
      prefix,
      ownerId: 'tls-test_1',
      ownerLeaseTtlMs: 60_000,
      backend: 'test',
      logger: new RecordingLogger(),
      tls: { ca: secured.caCertificate! },
    });
    try {
      const fallback = countingFallback();
      const limiter = fleet.rateLimiter({
        name: 'api',
        maxCalls: 5,
        durationMs: 1000,
        fallback: fallback.acquire,
      });
      expect(await limiter.acquire()).toBe('redis');
      expect(await fleet.client.zcard(`${prefix}:api:window`)).toBe(1);
      expect(fallback.calls).toBe(0);
    } finally {
      await fleet.close();
      await secured.stop();
    }
  });
});

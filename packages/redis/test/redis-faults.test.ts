import { freePort, type RedisHandle, startRedis } from '@workerkit/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RedisFleetSession, SharedRateLimiter } from '../src/index.js';
import { RecordingLogger, session, uniquePrefix } from './redis-test-helpers.js';

/** Acquires until the limiter says Redis let the call through again (or gives up after 20 s). */
async function untilShared(limiter: SharedRateLimiter): Promise<void> {
  const deadline = Date.now() + 20_000;
  while ((await limiter.acquire()) !== 'redis') {
    if (Date.now() > deadline) throw new Error('the limiter did not return to Redis within 20 s');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function warnings(logger: RecordingLogger): string[] {
  return logger.lines.filter((line) => line.level === 'warn').map((line) => line.message);
}

describe('the shared limiter through Redis faults', () => {
  let redis: RedisHandle;
  const sessions: RedisFleetSession[] = [];
  const fallbackCalls = { count: 0 };
  const fallback = async () => {
    fallbackCalls.count += 1;
  };

  function limiterOn(url: string, logger: RecordingLogger, prefix = uniquePrefix()): SharedRateLimiter {
    const made = session({ url }, { prefix, logger });
    sessions.push(made);
    return made.rateLimiter({ name: 'api', maxCalls: 50, durationMs: 200, fallback });
  }

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterEach(async () => {
    fallbackCalls.count = 0;
    for (const made of sessions.splice(0)) await made.close();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('falls back at once when Redis is down at start, warns once, and goes back when it comes up', async () => {
    await redis.kill();
    const logger = new RecordingLogger();
    const limiter = limiterOn(redis.url, logger);
    const started = performance.now();
    const kinds = await Promise.all(Array.from({ length: 20 }, () => limiter.acquire()));
    expect(kinds.every((kind) => kind === 'local')).toBe(true);
    expect(fallbackCalls.count).toBe(20);
    // Bounded by the first-connection wait (500 ms here), whatever the load: never a hang.
    expect(performance.now() - started).toBeLessThan(10_000);

    await redis.restart();
    await untilShared(limiter);
    expect(warnings(logger)).toHaveLength(1);
    expect(warnings(logger)[0]).toMatch(
      /^test: shared rate limiter unavailable \(Redis: .+\); limiting this process alone/,
    );
    expect(logger.lines).toContainEqual(
      expect.objectContaining({ level: 'info', message: expect.stringMatching(/answers again/) }),
    );
  });

  it('keeps every caller going when Redis is killed mid-run, and shares again after a restart', async () => {
    const loggers = [new RecordingLogger(), new RecordingLogger(), new RecordingLogger()];
    const prefix = uniquePrefix();
    const limiters = loggers.map((logger) => limiterOn(redis.url, logger, prefix));
    await Promise.all(limiters.map(untilShared));
    let done = 0;
    const workers = limiters.map(async (limiter) => {
      for (let i = 0; i < 40; i++) {
        await limiter.acquire();
        done += 1;
      }
    });
    while (done < 20) await new Promise((resolve) => setTimeout(resolve, 5));
    await redis.kill('SIGKILL');
    await Promise.all(workers);
    expect(done).toBe(120);
    expect(fallbackCalls.count).toBeGreaterThan(0);
    for (const logger of loggers) expect(warnings(logger)).toHaveLength(1);

    await redis.restart();
    await Promise.all(limiters.map(untilShared));
    for (const logger of loggers) expect(warnings(logger)).toHaveLength(1);
  });

  it('does not wait on a hung Redis: calls fall back after the command timeout, with no queue building up', async () => {
    const logger = new RecordingLogger();
    const made = session(redis, { prefix: uniquePrefix(), logger });
    sessions.push(made);
    const limiter = made.rateLimiter({ name: 'api', maxCalls: 50, durationMs: 200, fallback });
    await untilShared(limiter);
    redis.freeze();
    try {
      const started = performance.now();
      const kinds = await Promise.all(Array.from({ length: 50 }, () => limiter.acquire()));
      expect(kinds.filter((kind) => kind === 'local')).toHaveLength(50);
      // One command timeout (300 ms here) and the callers queued behind it, however loaded.
      expect(performance.now() - started).toBeLessThan(10_000);
      // One script call timed out; the probe sends at most one PING per interval.
      expect(made.client.commandQueue.length).toBeLessThanOrEqual(3);
      expect(warnings(logger)).toEqual([expect.stringMatching(/Command timed out/)]);
    } finally {
      redis.thaw();
    }
    await untilShared(limiter);
  });

  it('falls back, with one warning naming the cause, for a wrong password or a port nobody listens on', async () => {
    const secured = await startRedis({ password: 'right' });
    try {
      const wrongPassword = new RecordingLogger();
      const limiter = limiterOn(`redis://:wrong@127.0.0.1:${secured.port}`, wrongPassword);
      expect(await limiter.acquire()).toBe('local');
      expect(await limiter.acquire()).toBe('local');
      expect(warnings(wrongPassword)).toEqual([expect.stringMatching(/WRONGPASS|NOAUTH|invalid password/i)]);
    } finally {
      await secured.stop();
    }
    const nobody = new RecordingLogger();
    const port = await freePort('127.0.0.1');
    const started = performance.now();
    expect(await limiterOn(`redis://127.0.0.1:${port}`, nobody).acquire()).toBe('local');
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(warnings(nobody)).toEqual([expect.stringMatching(/ECONNREFUSED/)]);
  });
});

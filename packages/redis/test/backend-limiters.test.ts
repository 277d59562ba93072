import { createEc2RateLimiter, parseEc2Options } from '@workerkit/backend-ec2';
import { createGceRateLimiter, parseGceOptions } from '@workerkit/backend-gce';
import { InvalidConfigError, ProviderConfig } from '@workerkit/core';
import { type RedisHandle, startRedis } from '@workerkit/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../src/index.js';
import { inspector, RecordingLogger, uniquePrefix } from './redis-test-helpers.js';

const gceBase = { PROJECT_ID: 'fleet-project', ACCESS_TOKEN: 'token' };

describe('the gce and ec2 rate limiters with RATE_LIMIT_REDIS_URL', () => {
  let redis: RedisHandle;

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('refuse a malformed URL at option parsing, naming the option without printing the password', () => {
    for (const parse of [
      (url: string) => parseGceOptions(ProviderConfig.fromMap({ ...gceBase, RATE_LIMIT_REDIS_URL: url })),
      (url: string) => parseEc2Options(ProviderConfig.fromMap({ RATE_LIMIT_REDIS_URL: url })),
    ]) {
      expect(() => parse('redis://:pw-secret@127.0.0.1:6379/zero')).toThrow(InvalidConfigError);
      expect(() => parse('redis://:pw-secret@127.0.0.1:6379/zero')).toThrow(/RATE_LIMIT_REDIS_URL/);
      expect(() => parse('redis://:pw-secret@127.0.0.1:6379/zero')).not.toThrow(/pw-secret/);
    }
  });

  it('share one window between a gce limiter of two workers, and expose owner leases', async () => {
    const prefix = uniquePrefix();
    const options = parseGceOptions(
      ProviderConfig.fromMap({
        ...gceBase,
        RATE_LIMIT_REDIS_URL: redis.url,
        RATE_LIMIT_PREFIX: prefix,
        RATE_LIMIT_MAX_CALLS: '4',
        RATE_LIMIT_DURATION: '400ms',
      }),
    );
    const limiters = ['gce-a_1', 'gce-b_2'].map((ownerId) =>
      createGceRateLimiter(options, { ownerId, logger: new RecordingLogger() }),
    );
    const client = inspector(redis.url);
    try {
      const started = performance.now();
      await Promise.all(Array.from({ length: 12 }, (_, i) => limiters[i % 2]!.acquire()));
      expect(performance.now() - started).toBeGreaterThanOrEqual(790);
      expect(await client.exists(`${prefix}:gce-api:window`)).toBe(1);
      const states = await limiters[0]!.ownerLeases!.leaseStates(['gce-a_1', 'gce-b_2']);
      expect(states).toEqual(
        new Map([
          ['gce-a_1', 'live'],
          ['gce-b_2', 'live'],
        ]),
      );
    } finally {
      client.disconnect();
      for (const limiter of limiters) await limiter.close();
    }
  });

  it('use the ec2 key and dynamic config, and have no lease store without a URL', async () => {
    const prefix = uniquePrefix();
    const client = inspector(redis.url);
    await client.set(`${prefix}:ec2-api:max_calls`, '2');
    const config = parseEc2Options(
      ProviderConfig.fromMap({
        RATE_LIMIT_REDIS_URL: redis.url,
        RATE_LIMIT_PREFIX: prefix,
        RATE_LIMIT_MAX_CALLS: '100',
        RATE_LIMIT_DURATION: '300ms',
        RATE_LIMIT_DYNAMIC_CONFIG: 'true',
      }),
    );
    const limiter = createEc2RateLimiter(config, { ownerId: 'ec2-a_1', logger: new RecordingLogger() });
    try {
      const started = performance.now();
      for (let i = 0; i < 6; i++) await limiter.acquire();
      // 2 per 300 ms from Redis, not the configured 100.
      expect(performance.now() - started).toBeGreaterThanOrEqual(590);
      expect(await client.zcard(`${prefix}:ec2-api:window`)).toBeGreaterThan(0);
    } finally {
      client.disconnect();
      await limiter.close();
    }
    const alone = createEc2RateLimiter(parseEc2Options(ProviderConfig.fromMap({})), {
      ownerId: 'x_1',
      logger: new RecordingLogger(),
    });
    expect(alone.ownerLeases).toBeUndefined();
  });
});

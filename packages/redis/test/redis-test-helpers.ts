import type { Logger } from '@workerkit/core';
import { RecordingLogger, type RedisHandle, startRedis } from '@workerkit/testkit';
import { Redis } from 'ioredis';
import { openFleetSession, type RedisFleetSession } from '../src/index.js';

export { RecordingLogger };

/** A plain client for inspecting what the code under test wrote. */
export function inspector(url: string): Redis {
  const client = new Redis(url, { maxRetriesPerRequest: 0, retryStrategy: () => 200 });
  // Tests kill this Redis on purpose; its connection errors are expected.
  client.on('error', () => {});
  return client;
}

let prefixCount = 0;

/** A key prefix no other test in this file uses. */
export function uniquePrefix(): string {
  prefixCount += 1;
  return `t${process.pid}-${prefixCount}`;
}

/** A session as a worker process would open it, with fault-test timings. */
export function session(
  redis: Pick<RedisHandle, 'url'>,
  options: { prefix: string; ownerId?: string; logger?: Logger; leaseTtlMs?: number },
): RedisFleetSession {
  return openFleetSession({
    url: redis.url,
    prefix: options.prefix,
    ownerId: options.ownerId ?? `test-host_${process.pid}`,
    ownerLeaseTtlMs: options.leaseTtlMs ?? 60_000,
    backend: 'test',
    logger: options.logger ?? new RecordingLogger(),
    commandTimeoutMs: 300,
    connectTimeoutMs: 500,
    probeIntervalMs: 100,
  });
}

export { startRedis };

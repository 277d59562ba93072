import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type Ec2Emulator, type RedisHandle, startRedis } from '@workerkit/testkit';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspector } from '../redis-test-helpers.js';
import {
  busiestWindow,
  type FleetWorker,
  fleetConfig,
  startFleetEmulator,
  startFleetWorker,
} from './fleet-helpers.js';

const run = promisify(execFile);
const PACKAGE_DIR = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(dirname(createRequire(import.meta.url).resolve('workerkit/package.json')), 'dist', 'bin.js');

const LIMIT = { maxCalls: 6, durationMs: 1000 };
const WORKERS = 2;
const PREFIX = 'fleet-test';
const WINDOW_KEY = `${PREFIX}:ec2-api:window`;

/**
 * Collects the shared limiter's grants (member → Redis server time) by reading its window
 * often: an entry lives a whole window, so a read every 50 ms sees every one of them.
 */
function grantRecorder(client: Redis) {
  const grants = new Map<string, number>();
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      try {
        const flat = await client.zrange(WINDOW_KEY, '0', '-1', 'WITHSCORES');
        for (let i = 0; i < flat.length; i += 2) grants.set(flat[i]!, Number(flat[i + 1]));
      } catch {
        // Redis is being killed: the recording ends with it.
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  return {
    grants,
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

describe('a fleet of worker processes sharing one limit through Redis', () => {
  let redis: RedisHandle;
  let emulator: Ec2Emulator;
  const workers: FleetWorker[] = [];

  beforeAll(async () => {
    [redis, emulator] = await Promise.all([startRedis(), startFleetEmulator()]);
  });
  afterAll(async () => {
    for (const worker of workers) if (worker.child.exitCode === null) worker.child.kill('SIGKILL');
    await Promise.all(workers.map((worker) => worker.exited));
    await emulator?.stop();
    await redis?.stop();
  });

  it('keeps to the shared limit, rides out a Redis crash, and reaps a dead worker of another machine by its lease', async () => {
    const config = fleetConfig(emulator, { redisUrl: redis.url, prefix: PREFIX, ...LIMIT });
    const client = inspector(redis.url);
    const recorder = grantRecorder(client);
    try {
      // Workers "on other hosts" (their owner ids name no local pid), and one more that dies
      // with an instance running.
      for (let i = 0; i < WORKERS; i++)
        workers.push(startFleetWorker({ ownerId: `fleet-host-${i}_${1000 + i}`, jobs: 2, config }));
      const ghost = startFleetWorker({ ownerId: 'far-away-box_4242', jobs: 1, hold: true, config });
      workers.push(ghost);
      const held = await ghost.next((event) => event.event === 'holding');

      // Shared phase: until at least one job of each worker finished.
      await Promise.all(
        workers.slice(0, WORKERS).map((worker) => worker.next((event) => event.event === 'job')),
      );
      await recorder.stop();
      const grants = [...recorder.grants];
      // Every worker took its calls from the one shared window...
      const limiters = new Set(grants.map(([member]) => member.slice(0, member.lastIndexOf(':'))));
      expect(limiters.size).toBe(WORKERS + 1);
      // ...and no window of RATE_LIMIT_DURATION (Redis server time) held more than the limit.
      expect(
        busiestWindow(
          grants.map(([, at]) => at),
          LIMIT.durationMs,
        ),
      ).toBeLessThanOrEqual(LIMIT.maxCalls);
      expect(grants.length).toBeGreaterThan(LIMIT.maxCalls);

      // Redis dies mid-run: the jobs go on on each worker's own limit; it comes back empty.
      await redis.kill('SIGKILL');
      await new Promise((resolve) => setTimeout(resolve, 500));
      await redis.restart();

      // The dead worker's lease must be in the new Redis before it dies, or nobody can tell.
      const leaseKey = `${PREFIX}:owner:far-away-box_4242:lease`;
      const deadline = Date.now() + 20_000;
      while ((await client.exists(leaseKey).catch(() => 0)) === 0) {
        if (Date.now() > deadline)
          throw new Error('the held worker did not renew its lease after the restart');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      ghost.child.kill('SIGKILL');
      await ghost.exited;

      const results = await Promise.all(workers.slice(0, WORKERS).map((worker) => worker.exited));
      expect(results).toEqual(Array.from({ length: WORKERS }, () => 0));
      for (const worker of workers.slice(0, WORKERS)) {
        const jobs = worker.events.filter((event) => event.event === 'job');
        expect(jobs).toEqual(
          [0, 1].map((job) =>
            expect.objectContaining({ job, completed: true, exitCode: 0, output: 'job done\n' }),
          ),
        );
        // At most one warning per outage, however many calls fell back.
        expect(worker.stderr.filter((line) => line.startsWith('warn:')).length).toBeLessThanOrEqual(1);
      }
      expect(emulator.liveInstances().map((instance) => instance.instanceId)).toEqual([
        (held as { instanceId: string }).instanceId,
      ]);

      // `workerkit gc` on this machine: the dead worker's pid means nothing here, its lease decides.
      const gcArgs = [
        'gc',
        '--backend',
        'ec2',
        ...Object.entries(config).flatMap(([k, v]) => ['--config', `${k}=${v}`]),
      ];
      const leaseGone = Date.now() + 20_000;
      while ((await client.exists(leaseKey)) === 1) {
        if (Date.now() > leaseGone) throw new Error('the dead worker lease did not expire');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const gc = await run(process.execPath, [CLI, ...gcArgs], { cwd: PACKAGE_DIR, timeout: 60_000 });
      expect(gc.stdout).toContain(
        `ec2: deleted instance ${(held as { instanceId: string }).instanceId} (owner-gone)`,
      );
      expect(gc.stdout).toMatch(/ec2: deleted key-pair .+ \(owner-gone\)/);
      expect(emulator.liveInstances()).toEqual([]);
    } finally {
      await recorder.stop();
      client.disconnect();
    }
  }, 120_000);
});

/**
 * The shared limiter alone: 8 processes × 100 calls (4 callers each) through one Redis limit of
 * 100 calls per second. Prints the time to the last grant against the ideal set by the limit
 * ((calls / limit − 1) windows: the first window's calls go at once), which isolates the
 * limiter from the machine's load; the fleet bench measures whole jobs.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { type RedisHandle, startRedis } from '@workerkit/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const PROCESSES = 8;
const CALLS = 100;
const LIMIT = { maxCalls: 100, durationMs: 1000 };

describe('shared limiter bench', () => {
  let redis: RedisHandle;

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('prints the time for 800 calls from 8 processes against the ideal', async () => {
    const workers = Array.from({ length: PROCESSES }, () => {
      const child = spawn(process.execPath, [new URL('./limiter-worker.mjs', import.meta.url).pathname], {
        env: {
          ...process.env,
          LIMITER_WORKER: JSON.stringify({
            url: redis.url,
            prefix: 'bench',
            calls: CALLS,
            concurrency: 4,
            ...LIMIT,
          }),
        },
        stdio: ['pipe', 'pipe', 'inherit'],
      });
      const lines = createInterface({ input: child.stdout! });
      const ready = new Promise<void>((resolve) => lines.once('line', () => resolve()));
      const report = ready.then(
        () =>
          new Promise<{ finishedAt: number; viaRedis: number }>((resolve) =>
            lines.once('line', (line) => resolve(JSON.parse(line))),
          ),
      );
      return { child, ready, report, exited: once(child, 'exit') };
    });
    await Promise.all(workers.map((worker) => worker.ready));
    // Each worker took one slot to connect: let that window pass before the clock starts.
    await new Promise((resolve) => setTimeout(resolve, LIMIT.durationMs));
    const started = Date.now();
    for (const worker of workers) worker.child.stdin!.end('go\n');
    const reports = await Promise.all(workers.map((worker) => worker.report));
    await Promise.all(workers.map((worker) => worker.exited));
    const seconds = (Math.max(...reports.map((r) => r.finishedAt)) - started) / 1000;
    const total = PROCESSES * CALLS;
    expect(reports.reduce((sum, r) => sum + r.viaRedis, 0)).toBe(total);
    const ideal = ((total / LIMIT.maxCalls - 1) * LIMIT.durationMs) / 1000;
    console.log(
      `shared limiter: ${total} calls from ${PROCESSES} processes at ${LIMIT.maxCalls} per ${LIMIT.durationMs} ms: ${seconds.toFixed(2)} s, ideal ${ideal.toFixed(2)} s, ratio ${(seconds / ideal).toFixed(2)}×`,
    );
  });
});

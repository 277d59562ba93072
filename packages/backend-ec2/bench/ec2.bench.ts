/**
 * EC2 API calls per job on the emulator (instant boot), and 20 concurrent starts against an
 * emulator that throttles above 5 calls/s. Prints the numbers; asserts correctness and the call
 * budget, never timing.
 */
import { silentLogger } from '@workerkit/core';
import { type Ec2Emulator, RecordingSink, startEc2Emulator } from '@workerkit/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEc2Provider, type Ec2Provider } from '../src/index.js';

const job = { language: 'minimal', jobId: '1', repository: 'workerkit/bench', hardTimeoutMs: 10 * 60_000 };

let emulator: Ec2Emulator;

function provider(extra: Record<string, string> = {}): Ec2Provider {
  return createEc2Provider(
    {
      ENDPOINT: emulator.endpoint,
      REGION: emulator.region,
      AWS_ACCESS_KEY_ID: emulator.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: emulator.credentials.secretAccessKey,
      INSTANCE_TYPE: 't3.micro',
      SSH_USER: emulator.sshUser,
      SSH_PORT: String(emulator.sshPort),
      BOOT_POLL_SLEEP: '100ms',
      ...extra,
    },
    { ownerId: 'bench_1', logger: silentLogger },
  );
}

function table(title: string, rows: Record<string, number>, jobs: number): void {
  const lines = Object.entries(rows)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(
      ([action, count]) =>
        `  ${action.padEnd(20)} ${String(count).padStart(5)}  ${(count / jobs).toFixed(2).padStart(6)}/job`,
    );
  const total = Object.values(rows).reduce((sum, n) => sum + n, 0);
  console.log(
    `${title}\n${lines.join('\n')}\n  ${'total'.padEnd(20)} ${String(total).padStart(5)}  ${(total / jobs).toFixed(2).padStart(6)}/job`,
  );
}

async function oneJob(p: Ec2Provider): Promise<void> {
  const instance = await p.start(job);
  try {
    await instance.uploadScript('echo bench\n');
    const result = await instance.runScript(new RecordingSink());
    expect(result, JSON.stringify(result)).toMatchObject({ completed: true, exitCode: 0 });
  } finally {
    await instance.stop();
  }
}

async function concurrentStarts(p: Ec2Provider, count: number): Promise<number> {
  const started = performance.now();
  const instances = await Promise.all(Array.from({ length: count }, () => p.start(job)));
  await Promise.all(instances.map((instance) => instance.stop()));
  return performance.now() - started;
}

beforeAll(async () => {
  emulator = await startEc2Emulator();
});

afterAll(async () => {
  await emulator?.stop();
});

describe('ec2 API calls', () => {
  it('per job with instant boot: at most 6 calls, no fixed sleeps', async () => {
    for (const [label, image] of [
      ['AMI id', 'ami-0f1e2d3c4b5a69788'],
      ['name pattern (cached after the first job)', 'workerkit-ubuntu-jammy-*'],
    ] as const) {
      const p = provider({ IMAGE_DEFAULT: image });
      emulator.resetCalls();
      const jobs = 5;
      const started = performance.now();
      for (let i = 0; i < jobs; i++) await oneJob(p);
      const elapsed = performance.now() - started;
      table(
        `per job, ${label}, ${jobs} sequential jobs (${(elapsed / jobs).toFixed(0)} ms/job):`,
        { ...emulator.calls },
        jobs,
      );
      await p.close();
      // Six calls a job; a name pattern adds one DescribeImages per provider (then cached), and a
      // guest that takes longer than BOOT_POLL_SLEEP to boot adds a DescribeInstances poll.
      const budget = image.startsWith('ami-') ? 6 : 6 + 1 / jobs;
      expect(
        (emulator.totalCalls() - (emulator.calls.DescribeInstances ?? 0) + jobs) / jobs,
      ).toBeLessThanOrEqual(budget);
    }
    expect(emulator.liveInstances()).toEqual([]);
    expect(emulator.keyPairs()).toEqual([]);
  });

  it('20 concurrent starts, unthrottled vs throttled above 5 calls/s', async () => {
    const count = 20;
    const plain = provider({ IMAGE_DEFAULT: 'ami-0f1e2d3c4b5a69788' });
    emulator.resetCalls();
    const plainMs = await concurrentStarts(plain, count);
    const plainCalls = emulator.totalCalls();
    table(
      `${count} concurrent starts + stops, unthrottled (${(plainMs / 1000).toFixed(1)} s):`,
      { ...emulator.calls },
      count,
    );
    await plain.close();

    emulator.faults.throttle(5);
    const throttled = provider({ IMAGE_DEFAULT: 'ami-0f1e2d3c4b5a69788' });
    emulator.resetCalls();
    const throttledMs = await concurrentStarts(throttled, count);
    const throttledCalls = emulator.totalCalls();
    table(
      `${count} concurrent starts + stops, emulator throttling above 5 calls/s (${(throttledMs / 1000).toFixed(1)} s, ` +
        `${emulator.errors.RequestLimitExceeded ?? 0} RequestLimitExceeded answers, ` +
        `${(throttledCalls / plainCalls).toFixed(2)}x the unthrottled calls):`,
      { ...emulator.calls },
      count,
    );
    await throttled.close();
    emulator.faults.clear();
    expect(throttledCalls).toBeLessThan(2 * plainCalls);
    expect(emulator.liveInstances()).toEqual([]);
    expect(emulator.keyPairs()).toEqual([]);
  });
});

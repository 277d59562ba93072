/**
 * EC2 API calls per job and time from RunInstances to the script's first byte, on the emulator
 * under its realistic-timing profile (AWS's pending, SSH-up, console and consistency times scaled
 * by EC2_DEFAULT_TIME_FACTOR, the provider's waits scaled alike); and 20 concurrent starts against an
 * emulator that throttles above 5 calls/s. Prints the numbers and ratios against baselines
 * measured in the same run; asserts correctness and the call budget, never timing.
 */
import { silentLogger } from '@workerkit/core';
import {
  EC2_DEFAULT_TIME_FACTOR,
  type Ec2Emulator,
  RecordingSink,
  startEc2Emulator,
} from '@workerkit/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEc2Provider, type Ec2Provider } from '../src/index.js';

const job = { language: 'minimal', jobId: '1', repository: 'workerkit/bench', hardTimeoutMs: 10 * 60_000 };
const scaled = (realMs: number) => `${Math.max(1, Math.round(realMs * EC2_DEFAULT_TIME_FACTOR))}ms`;

let emulator: Ec2Emulator;

/** The provider with its defaults, its waits scaled like the emulator's clock. */
function provider(extra: Record<string, string> = {}): Ec2Provider {
  return createEc2Provider(
    {
      ENDPOINT: emulator.endpoint,
      REGION: emulator.region,
      AWS_ACCESS_KEY_ID: emulator.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: emulator.credentials.secretAccessKey,
      IMAGE_DEFAULT: 'workerkit-ubuntu-jammy-*',
      SSH_PORT: String(emulator.sshPort),
      BOOT_POLL_SLEEP: scaled(1000),
      UPLOAD_RETRY_SLEEP: scaled(1000),
      API_RETRY_BASE: scaled(500),
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
        `  ${action.padEnd(22)} ${String(count).padStart(5)}  ${(count / jobs).toFixed(2).padStart(6)}/job`,
    );
  const total = Object.values(rows).reduce((sum, n) => sum + n, 0);
  console.log(
    `${title}\n${lines.join('\n')}\n  ${'total'.padEnd(22)} ${String(total).padStart(5)}  ${(total / jobs).toFixed(2).padStart(6)}/job`,
  );
}

interface JobTiming {
  /** RunInstances answered → the script's first output byte. */
  firstByteMs: number;
  /** RunInstances answered → the guest's sshd accepted logins (the emulator's floor). */
  sshUpMs: number;
}

/** One job; times its first byte and, as the baseline, when the emulator had its sshd up. */
async function timedJob(p: Ec2Provider): Promise<JobTiming> {
  let launchedAt = 0;
  let instanceId = '';
  let sshUpAt = 0;
  const watch = setInterval(() => {
    if (sshUpAt === 0 && instanceId && emulator.instances().find((i) => i.instanceId === instanceId)?.sshUp)
      sshUpAt = performance.now();
  }, 2);
  try {
    const instance = await p.start(job, {
      progress: {
        progress: (entry) => {
          const started = /^started instance "(i-[0-9a-f]+)"/.exec(entry.message);
          if (started) {
            launchedAt = performance.now();
            instanceId = started[1]!;
          }
        },
      },
    });
    try {
      await instance.uploadScript('echo bench\n');
      let firstByteAt = 0;
      const sink = new RecordingSink();
      const write = sink.write.bind(sink);
      sink.write = (chunk: Parameters<typeof write>[0]) => {
        if (firstByteAt === 0) firstByteAt = performance.now();
        return write(chunk);
      };
      const result = await instance.runScript(sink);
      expect(result, JSON.stringify(result)).toMatchObject({ completed: true, exitCode: 0 });
      return { firstByteMs: firstByteAt - launchedAt, sshUpMs: sshUpAt - launchedAt };
    } finally {
      await instance.stop();
    }
  } finally {
    clearInterval(watch);
  }
}

async function concurrentJobs(p: Ec2Provider, count: number): Promise<{ ms: number; failed: number }> {
  const started = performance.now();
  const outcomes = await Promise.allSettled(
    Array.from({ length: count }, async () => {
      const instance = await p.start(job);
      try {
        await instance.uploadScript('echo hi\n');
        const result = await instance.runScript(new RecordingSink());
        if (!result.completed) throw new Error(JSON.stringify(result));
      } finally {
        await instance.stop();
      }
    }),
  );
  for (const outcome of outcomes)
    if (outcome.status === 'rejected') console.log('failed job:', outcome.reason);
  return {
    ms: performance.now() - started,
    failed: outcomes.filter((outcome) => outcome.status === 'rejected').length,
  };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

beforeAll(async () => {
  emulator = await startEc2Emulator();
});

afterAll(async () => {
  await emulator?.stop();
});

describe(`ec2 on the realistic profile (time factor ${EC2_DEFAULT_TIME_FACTOR})`, () => {
  it('calls per job and RunInstances → first byte: at most 10 calls a job, no fixed sleeps', async () => {
    const p = provider();
    emulator.resetCalls();
    const jobs = 6;
    const timings: JobTiming[] = [];
    for (let i = 0; i < jobs; i++) timings.push(await timedJob(p));
    await p.close();
    table(
      `per job, ${jobs} sequential jobs, defaults (t3.micro, name pattern):`,
      { ...emulator.calls },
      jobs,
    );
    const firstByte = median(timings.map((t) => t.firstByteMs));
    const sshUp = median(timings.map((t) => t.sshUpMs));
    console.log(
      `RunInstances → first byte: median ${firstByte.toFixed(0)} ms (≈ ${(firstByte / EC2_DEFAULT_TIME_FACTOR / 1000).toFixed(0)} s at AWS scale); ` +
        `baseline RunInstances → guest sshd up: ${sshUp.toFixed(0)} ms; ratio ${(firstByte / sshUp).toFixed(2)}x`,
    );
    expect(emulator.totalCalls() / jobs).toBeLessThanOrEqual(10);
    expect(emulator.liveInstances()).toEqual([]);
    expect(emulator.keyPairs()).toEqual([]);
  });

  it('20 concurrent jobs, unthrottled vs throttled above 5 calls/s: < 2x the calls, no failed job', async () => {
    const count = 20;
    const plain = provider();
    emulator.resetCalls();
    const unthrottled = await concurrentJobs(plain, count);
    const plainCalls = emulator.totalCalls();
    table(
      `${count} concurrent jobs, unthrottled (${(unthrottled.ms / 1000).toFixed(1)} s):`,
      { ...emulator.calls },
      count,
    );
    await plain.close();

    emulator.faults.throttle(5);
    const throttledProvider = provider();
    emulator.resetCalls();
    const throttled = await concurrentJobs(throttledProvider, count);
    const throttledCalls = emulator.totalCalls();
    table(
      `${count} concurrent jobs, emulator throttling above 5 calls/s (${(throttled.ms / 1000).toFixed(1)} s, ` +
        `${emulator.errors.RequestLimitExceeded ?? 0} RequestLimitExceeded answers, ` +
        `${(throttledCalls / plainCalls).toFixed(2)}x the unthrottled calls, ${(throttled.ms / unthrottled.ms).toFixed(2)}x the time):`,
      { ...emulator.calls },
      count,
    );
    await throttledProvider.close();
    emulator.faults.clear();
    expect([unthrottled.failed, throttled.failed]).toEqual([0, 0]);
    expect(throttledCalls).toBeLessThan(2 * plainCalls);
    await emulator.settled();
    expect(emulator.liveInstances()).toEqual([]);
    expect(emulator.keyPairs()).toEqual([]);
  });
});

import { ProviderApiError, type StartAttributes } from '@workerkit/core';
import { HostKeyMismatchError, SshNotReadyError } from '@workerkit/ssh';
import { RecordingSink } from '@workerkit/testkit';
import { describe, expect, it } from 'vitest';
import type { Ec2Provider } from '../src/index.js';
import { job, progressRecorder, rejection, useEmulatedProvider } from './ec2-test-helpers.js';

const { setup, providerWith, launchedHere } = useEmulatedProvider({ listedToo: true });

async function runHello(provider: Ec2Provider, attributes: StartAttributes = job) {
  const instance = await provider.start(attributes);
  try {
    await instance.uploadScript('echo hello\n');
    const sink = new RecordingSink();
    const result = await instance.runScript(sink);
    expect(result, JSON.stringify(result)).toMatchObject({ completed: true, exitCode: 0 });
    expect(sink.text).toBe('hello\n');
    return setup.emulator.instances().find((i) => i.instanceId === instance.id)!;
  } finally {
    await instance.stop();
  }
}

describe('ec2 provider under EC2 faults', () => {
  it('RequestLimitExceeded: retries with backoff and launches exactly one instance', async () => {
    setup.emulator.faults.requestLimitExceeded('RunInstances', 2);
    setup.emulator.faults.requestLimitExceeded('DescribeInstances', 1);
    const launched = await runHello(setup.provider);
    expect(setup.emulator.calls.RunInstances).toBe(3);
    expect(launchedHere().map((i) => i.clientToken)).toEqual([launched.clientToken]);
  });

  it('RequestLimitExceeded beyond API_MAX_ATTEMPTS: a retryable ProviderApiError, key pair deleted', async () => {
    setup.emulator.faults.requestLimitExceeded('RunInstances', 10);
    const error = await rejection(setup.provider.start(job));
    expect(ProviderApiError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ retryable: true, code: 'RequestLimitExceeded', operation: 'RunInstances' });
    expect((error as Error).cause).toBeDefined();
    expect(setup.emulator.calls.RunInstances).toBe(4);
    expect(setup.emulator.calls.DeleteKeyPair).toBe(1);
  });

  it('5xx: RunInstances and DescribeInstances are retried; the client token keeps it to one instance', async () => {
    setup.emulator.faults.serverError('RunInstances', 1, 500);
    setup.emulator.faults.serverError('DescribeInstances', 1, 503);
    setup.emulator.faults.serverError('GetConsoleOutput', 1, 500);
    await runHello(setup.provider);
    expect(setup.emulator.calls.RunInstances).toBe(2);
    expect(launchedHere()).toHaveLength(1);
  });

  it('5xx that does not stop: a retryable error and nothing left behind', async () => {
    setup.emulator.faults.serverError('DescribeInstances', 10, 500);
    const error = await rejection(setup.provider.start(job));
    expect(error).toMatchObject({ name: 'ProviderApiError', retryable: true, code: 'InternalError' });
    expect(setup.emulator.calls.TerminateInstances).toBe(1);
  });

  it('InsufficientInstanceCapacity for the chosen type: falls back to the next type in order', async () => {
    setup.emulator.faults.insufficientCapacity({ instanceType: 't3.micro' });
    setup.emulator.faults.insufficientCapacity({ instanceType: 't3.small' });
    const provider = providerWith({ INSTANCE_TYPE_FALLBACKS: 't3.small,t3a.medium,m5.large' });
    const launched = await runHello(provider);
    expect(launched.instanceType).toBe('t3a.medium');
    expect(launched.cpuCredits).toBe('unlimited');
    expect(setup.emulator.calls.RunInstances).toBe(3);
  });

  it('InsufficientInstanceCapacity everywhere: a retryable error naming every attempt', async () => {
    setup.emulator.faults.insufficientCapacity();
    const provider = providerWith({ INSTANCE_TYPE_FALLBACKS: 't3.small' });
    const { entries, progress } = progressRecorder();
    const error = await rejection(provider.start(job, { progress: { progress } }));
    expect(error).toMatchObject({
      name: 'ProviderApiError',
      retryable: true,
      code: 'InsufficientInstanceCapacity',
    });
    expect((error as Error).message).toContain('t3.micro on-demand: InsufficientInstanceCapacity');
    expect((error as Error).message).toContain('t3.small on-demand: InsufficientInstanceCapacity');
    expect(entries.at(-1)).toMatchObject({
      state: 'failure',
      message: 'could not start instance: no capacity',
    });
  });

  it('spot without capacity: falls back to on-demand', async () => {
    setup.emulator.faults.insufficientCapacity({ market: 'spot' });
    const launched = await runHello(providerWith({ SPOT: 'true' }));
    expect(launched.market).toBe('on-demand');
    expect(setup.emulator.calls.RunInstances).toBe(2);
  });

  it('spot without capacity and SPOT_FALLBACK_ON_DEMAND=false: fails, nothing left', async () => {
    setup.emulator.faults.insufficientCapacity({ market: 'spot' });
    const error = await rejection(
      providerWith({ SPOT: 'true', SPOT_FALLBACK_ON_DEMAND: 'false' }).start(job),
    );
    expect(error).toMatchObject({ retryable: true, code: 'InsufficientInstanceCapacity' });
    expect(launchedHere()).toEqual([]);
  });

  it('Unsupported instance type: tries the fallback; without one it fails', async () => {
    setup.emulator.faults.unsupportedInstanceType('t3.micro');
    const launched = await runHello(providerWith({ INSTANCE_TYPE_FALLBACKS: 't3.small' }));
    expect(launched.instanceType).toBe('t3.small');
    const error = await rejection(setup.provider.start(job));
    expect(error).toMatchObject({ name: 'ProviderApiError', code: 'Unsupported' });
  });

  it('stuck in pending: times out after BOOT_TIMEOUT, terminates the instance and deletes the key pair', async () => {
    setup.emulator.faults.stuckInPending = true;
    const { entries, progress } = progressRecorder();
    const started = Date.now();
    const error = await rejection(
      providerWith({ BOOT_TIMEOUT: '600ms' }).start(job, { progress: { progress } }),
    );
    // Bounded by BOOT_TIMEOUT, not by the SSH wait's minutes (generous: the machine may be loaded).
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(error).toMatchObject({ name: 'ProviderApiError', retryable: true, code: 'BootTimeout' });
    expect(entries.map((e) => e.message)).toContain('timeout waiting for instance to be ready');
    expect(launchedHere()).toHaveLength(1);
    expect(['shutting-down', 'terminated']).toContain(launchedHere()[0]!.state);
  });

  it('SSH never up: gives up after UPLOAD_RETRIES × UPLOAD_RETRY_SLEEP and cleans up', async () => {
    setup.emulator.faults.sshNeverUp = true;
    const { entries, progress } = progressRecorder();
    const started = Date.now();
    const error = await rejection(
      providerWith({ BOOT_TIMEOUT: '1s', UPLOAD_RETRIES: '4', UPLOAD_RETRY_SLEEP: '200ms' }).start(job, {
        progress: { progress },
      }),
    );
    expect(SshNotReadyError.isInstance(error), String(error)).toBe(true);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(entries.map((e) => e.message)).toContain('could not establish ssh connectivity');
    // Port 22 never answered, so the console was never asked: each attempt was a TCP dial.
    expect(setup.emulator.calls.GetConsoleOutput).toBeUndefined();
  });

  it("a console host key that is not the server's: the connection is refused and the start cleaned up", async () => {
    setup.emulator.faults.forgedConsoleHostKeys = true;
    const error = await rejection(setup.provider.start(job));
    expect(HostKeyMismatchError.isInstance(error), String(error)).toBe(true);
    expect(setup.emulator.calls.TerminateInstances).toBe(1);
    expect(setup.emulator.calls.DeleteKeyPair).toBe(1);
  });

  it('spot interruption during the run: an incomplete run with reason "preempted"', async () => {
    const provider = providerWith({ SPOT: 'true' });
    const instance = await provider.start(job);
    try {
      expect(launchedHere()).toMatchObject([{ market: 'spot', state: 'running' }]);
      await instance.uploadScript('echo started\nsleep 60\necho not-reached\n');
      const sink = new RecordingSink();
      const running = instance.runScript(sink);
      await sink.waitFor('started');
      await setup.emulator.interruptSpot(instance.id);
      const result = await running;
      expect(result).toMatchObject({ completed: false, reason: 'preempted', outputBytes: 8 });
      expect(sink.text).not.toContain('not-reached');
    } finally {
      await instance.stop();
    }
  });

  it('spot interruption while booting: the start fails and leaves nothing', async () => {
    const starting = rejection(
      providerWith({ SPOT: 'true', UPLOAD_RETRIES: '4', UPLOAD_RETRY_SLEEP: '200ms' }).start(job),
    );
    while (launchedHere().length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    await setup.emulator.interruptSpot(launchedHere()[0]!.instanceId, { noticeMs: 0 });
    const error = await starting;
    expect(WorkerkitLike(error)).toBe(true);
    expect(launchedHere()).toMatchObject([{ stateReason: { code: 'Server.SpotInstanceTermination' } }]);
  });

  it('throttling above N calls a second: concurrent starts adapt and all succeed', async () => {
    setup.emulator.faults.throttle(5);
    const provider = providerWith({
      RATE_LIMIT_MAX_CALLS: '10',
      API_MAX_ATTEMPTS: '8',
      API_RETRY_BASE: '200ms',
    });
    const instances = await Promise.all(Array.from({ length: 4 }, () => provider.start(job)));
    await Promise.all(instances.map((instance) => instance.stop()));
    expect(launchedHere()).toHaveLength(4);
    expect(setup.emulator.calls.RunInstances).toBeGreaterThanOrEqual(4);
  });
});

function WorkerkitLike(error: unknown): boolean {
  return ProviderApiError.isInstance(error) || SshNotReadyError.isInstance(error);
}

import {
  InvalidConfigError,
  type ProgressEntry,
  StaleVmError,
  TraceNotImplementedError,
} from '@workerkit/core';
import { RecordingSink } from '@workerkit/testkit';
import { describe, expect, it } from 'vitest';
import { createFakeProvider } from './fake-provider.js';

async function runOnce(config: Record<string, string>, options: { signal?: AbortSignal } = {}) {
  const provider = createFakeProvider(config);
  await using instance = await provider.start({});
  await instance.uploadScript('ignored');
  const sink = new RecordingSink();
  const result = await instance.runScript(sink, options);
  return { result, sink, instance };
}

describe('fake backend: the Go options', () => {
  it('writes LOG_OUTPUT once and passes', async () => {
    const { result, sink } = await runOnce({ LOG_OUTPUT: 'Hello, world!' });
    expect(result).toEqual({ completed: true, exitCode: 0, outputBytes: 13 });
    expect(sink.text).toBe('Hello, world!');
  });

  it('sleeps RUN_SLEEP before writing, and an abort cuts the sleep short', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const started = Date.now();
    const { result, sink } = await runOnce(
      { RUN_SLEEP: '1m', LOG_OUTPUT: 'late' },
      { signal: controller.signal },
    );
    // Not cut short, the sleep would last its minute: past this bound and the test's timeout.
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(result).toMatchObject({ completed: false, reason: 'cancelled', outputBytes: 0 });
    expect(sink.text).toBe('');
  });

  it('errors every job when ERROR is exactly "true", so it is requeued', async () => {
    expect((await runOnce({ ERROR: 'true' })).result).toMatchObject({
      completed: false,
      reason: 'provider-error',
      message: 'fake provider is configured to error all jobs',
    });
    expect((await runOnce({ ERROR: 'yes' })).result).toMatchObject({ completed: true });
  });

  it('reports STARTUP_DURATION without spending it', async () => {
    const started = Date.now();
    const { instance } = await runOnce({ STARTUP_DURATION: '20s' });
    expect(instance.startupDuration).toBe(20_000);
    // Spending it would take 20 s, far above this bound.
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('reports EXIT_CODE', async () => {
    expect((await runOnce({ EXIT_CODE: '3' })).result).toMatchObject({ completed: true, exitCode: 3 });
  });

  it('rejects bad values clearly', () => {
    expect(() => createFakeProvider({ RUN_SLEEP: 'forever' })).toThrow(
      'fake: invalid RUN_SLEEP: got "forever", expected a duration such as "500ms", "3s" or "1m30s"',
    );
    expect(() => createFakeProvider({ EXIT_CODE: '256' })).toThrow(InvalidConfigError);
  });

  it('returns ID fake-N and image name fake, and trace is not implemented', async () => {
    const provider = createFakeProvider();
    await using instance = await provider.start({});
    expect(instance.id).toBe('fake-1');
    expect(instance.imageName).toBe('fake');
    await expect(instance.downloadTrace()).rejects.toSatisfy(TraceNotImplementedError.isInstance);
  });
});

describe('fake backend: scripted faults and recorded calls', () => {
  it('fails a start with the scripted error and creates nothing', async () => {
    const provider = createFakeProvider().enqueue({ startError: new Error('capacity') });
    await expect(provider.start({ jobId: '1' })).rejects.toThrow('capacity');
    expect(await provider.listManagedResources()).toEqual([]);
    expect(provider.calls).toEqual([
      { method: 'start', attributes: { jobId: '1' }, error: 'Error: capacity' },
    ]);
  });

  it('fails an upload with the scripted error, and a second upload is stale', async () => {
    const provider = createFakeProvider().enqueue({ uploadError: new Error('ssh down') }, {});
    await using broken = await provider.start({});
    await expect(broken.uploadScript('x')).rejects.toThrow('ssh down');
    await using instance = await provider.start({});
    await instance.uploadScript('x');
    await expect(instance.uploadScript('x')).rejects.toSatisfy(StaleVmError.isInstance);
  });

  it('ends a run incomplete with the scripted reason, after its output', async () => {
    const provider = createFakeProvider().enqueue({ output: 'partial', incomplete: { reason: 'preempted' } });
    await using instance = await provider.start({});
    await instance.uploadScript('x');
    expect(await instance.runScript(new RecordingSink())).toEqual({
      completed: false,
      reason: 'preempted',
      message: 'fake: scripted preempted',
      outputBytes: 7,
    });
  });

  it('reports scripted progress entries before its own', async () => {
    const entries: ProgressEntry[] = [];
    const provider = createFakeProvider().enqueue({ progress: [{ message: 'booting', continues: true }] });
    await using _instance = await provider.start(
      {},
      { progress: { progress: (entry) => entries.push(entry) } },
    );
    expect(entries).toEqual([
      { message: 'booting', continues: true },
      { message: 'started fake instance fake-1', state: 'success' },
    ]);
  });

  it('records every call in order', async () => {
    const provider = createFakeProvider();
    await provider.setup();
    const instance = await provider.start({ language: 'go' });
    await instance.uploadScript('echo hi');
    await instance.runScript(new RecordingSink());
    await instance.stop();
    expect(provider.calls.map((call) => call.method)).toEqual([
      'setup',
      'start',
      'uploadScript',
      'runScript',
      'stop',
    ]);
    expect(provider.calls[2]).toEqual({ method: 'uploadScript', instanceId: 'fake-1', script: 'echo hi' });
  });
});

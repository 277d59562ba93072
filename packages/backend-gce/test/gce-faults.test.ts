import { InvalidConfigError, ProviderApiError, reap } from '@workerkit/core';
import { SshNotReadyError } from '@workerkit/ssh';
import { RecordingSink } from '@workerkit/testkit';
import { describe, expect, it } from 'vitest';
import type { GceInstance } from '../src/index.js';
import { type GceTestEnv, gceTestEnv, ProgressLog } from './gce-test-env.js';

const job = { language: 'minimal', jobId: '77', repository: 'workerkit/faults', hardTimeoutMs: 5 * 60_000 };

async function expectNothingLeft(env: GceTestEnv): Promise<void> {
  expect(env.emulator.instances()).toEqual([]);
  expect(await env.provider.listManagedResources()).toEqual([]);
}

async function runHello(instance: GceInstance) {
  await instance.uploadScript('echo hello\n');
  const sink = new RecordingSink();
  const result = await instance.runScript(sink);
  return { result, text: sink.text };
}

describe('gce on the emulator: faults', { timeout: 60_000 }, () => {
  it('rides out 403 rateLimitExceeded on insert with backoff, not a storm', async () => {
    await using env = await gceTestEnv();
    await env.provider.setup();
    env.emulator.faults.rateLimit({ method: 'instances.insert', times: 2 });
    const started = Date.now();
    const instance = await env.provider.start(job);
    // Two throttled attempts, then success; the first backoff step is ~1 s (jittered 0.5-1.5 s).
    expect(env.emulator.calls.count('instances.insert')).toBe(3);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(await runHello(instance)).toMatchObject({
      result: { completed: true, exitCode: 0 },
      text: 'hello\n',
    });
    await instance.stop();
    await expectNothingLeft(env);
  });

  it('retries 5xx on operation polls and on delete', async () => {
    await using env = await gceTestEnv();
    env.emulator.faults.serverError({ method: 'zoneOperations.wait', times: 1, status: 503 });
    env.emulator.faults.serverError({ method: 'instances.delete', times: 1, status: 500 });
    const instance = await env.provider.start(job);
    expect(await runHello(instance)).toMatchObject({ result: { completed: true, exitCode: 0 } });
    await instance.stop();
    expect(env.emulator.calls.count('instances.delete')).toBe(2);
    await expectNothingLeft(env);
  });

  it('gives up on a persistent 5xx within BACKOFF_RETRY_MAX, with a retryable error and a handful of calls', async () => {
    await using env = await gceTestEnv({ config: { BACKOFF_RETRY_MAX: '3s' } });
    await env.provider.setup();
    env.emulator.faults.serverError({ method: 'instances.insert', times: Number.POSITIVE_INFINITY });
    const error = await env.provider.start(job).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(ProviderApiError.isInstance(error)).toBe(true);
    expect((error as ProviderApiError).retryable).toBe(true);
    expect((error as ProviderApiError).cause).toBeDefined();
    const inserts = env.emulator.calls.count('instances.insert');
    expect(inserts).toBeGreaterThanOrEqual(2);
    expect(inserts).toBeLessThanOrEqual(4);
    env.emulator.faults.clear();
    await expectNothingLeft(env);
  });

  it.each([
    [
      '403 userRateLimitExceeded',
      (env: GceTestEnv) =>
        env.emulator.faults.rateLimit({ method: 'instances.insert', reason: 'userRateLimitExceeded' }),
    ],
    ['429', (env: GceTestEnv) => env.emulator.faults.tooManyRequests({ method: 'instances.insert' })],
  ])('rides out %s on insert with a retry', async (_what, inject) => {
    await using env = await gceTestEnv();
    await env.provider.setup();
    inject(env);
    const instance = await env.provider.start(job);
    expect(env.emulator.calls.count('instances.insert')).toBe(2);
    await instance.stop();
    await expectNothingLeft(env);
  });

  it('fails a start at once on a synchronous 403 quotaExceeded: requeue (retryable), no retry of the call', async () => {
    await using env = await gceTestEnv();
    await env.provider.setup();
    env.emulator.faults.quotaExceeded({ times: Number.POSITIVE_INFINITY });
    const error = await env.provider.start(job).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({
      name: 'ProviderApiError',
      code: '403',
      retryable: true,
      gceClass: 'quota',
    });
    expect((error as Error).message).toContain("Quota 'CPUS' exceeded");
    expect(env.emulator.calls.count('instances.insert')).toBe(1);
    env.emulator.faults.clear();
    await expectNothingLeft(env);
  });

  it('refuses a VM request GCE finds invalid (an L4 GPU on an N1 machine) as a configuration error, creating nothing', async () => {
    await using env = await gceTestEnv();
    const error = await env.provider.start({ ...job, vmConfig: { gpuCount: 1, gpuType: 'nvidia-l4' } }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(InvalidConfigError.isInstance(error), String(error)).toBe(true);
    expect((error as InvalidConfigError).option).toBe('GPU_TYPE / GPU_COUNT / vm_config');
    expect((error as Error).message).toContain('needs a G2 machine');
    await expectNothingLeft(env);
  });

  it('moves to another zone on ZONE_RESOURCE_POOL_EXHAUSTED_WITH_DETAILS too', async () => {
    await using env = await gceTestEnv();
    env.emulator.faults.zoneExhausted('us-central1-a', { withDetails: true });
    const instance = await env.provider.start(job);
    expect(instance.zone).toMatch(/^us-central1-[bc]$/);
    await instance.stop();
    await expectNothingLeft(env);
  });

  it('waits through operations.wait answers that come back early, without a busy loop', async () => {
    await using env = await gceTestEnv({ emulator: { timings: { earlyWaitChance: 1 } } });
    await env.provider.setup();
    env.emulator.calls.reset();
    const instance = await env.provider.start(job);
    await instance.stop();
    // Each early answer is followed by a backoff of BOOT_POLL_SLEEP (100 ms) and more, not an instant retry.
    expect(env.emulator.calls.count('zoneOperations.wait')).toBeLessThanOrEqual(8);
    await expectNothingLeft(env);
  });

  it('reports a run whose VM went down for repair as incomplete (connection lost), not passed', async () => {
    await using env = await gceTestEnv();
    const instance = await env.provider.start(job);
    await instance.uploadScript('echo started\nsleep 30\n');
    const sink = new RecordingSink();
    const running = instance.runScript(sink);
    await sink.waitFor('started');
    await env.emulator.hostEvent(instance.id, 'repair');
    expect(await running).toMatchObject({ completed: false, reason: 'connection-lost' });
    await instance.stop();
    await expectNothingLeft(env);
  });

  it('moves to another zone of the region when a zone is out of capacity', async () => {
    await using env = await gceTestEnv();
    env.emulator.faults.zoneExhausted('us-central1-a');
    const progress = new ProgressLog();
    const instance = await env.provider.start(job, { progress });
    expect(instance.zone).not.toBe('us-central1-a');
    expect(instance.zone).toMatch(/^us-central1-[bc]$/);
    expect(
      progress.messages.some((m) =>
        m.startsWith('zone us-central1-a is out of capacity, trying us-central1-'),
      ),
    ).toBe(true);
    expect(env.emulator.calls.count('instances.insert')).toBe(2);
    expect(await runHello(instance)).toMatchObject({ result: { completed: true, exitCode: 0 } });
    await instance.stop();
    await expectNothingLeft(env);
  });

  it('fails a start pinned to an exhausted zone with a retryable ZONE_RESOURCE_POOL_EXHAUSTED', async () => {
    await using env = await gceTestEnv();
    env.emulator.faults.zoneExhausted('us-central1-a');
    const progress = new ProgressLog();
    const error = await env.provider
      .start({ ...job, vmConfig: { zone: 'us-central1-a' } }, { progress })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toMatchObject({
      name: 'ProviderApiError',
      code: 'ZONE_RESOURCE_POOL_EXHAUSTED',
      retryable: true,
    });
    expect(progress.messages).toContain('instance could not be inserted');
    expect(env.emulator.calls.count('instances.insert')).toBe(1);
    await expectNothingLeft(env);
  });

  it('deletes the half-made instance when the insert operation ends in an error', async () => {
    await using env = await gceTestEnv();
    env.emulator.faults.failInsertOperation({ code: 'QUOTA_EXCEEDED', leaveInstance: true });
    const error = await env.provider.start(job).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ name: 'ProviderApiError', code: 'QUOTA_EXCEEDED', retryable: true });
    expect((error as Error).message).toContain("Quota 'CPUS' exceeded");
    expect(env.emulator.calls.count('instances.delete')).toBe(1);
    await expectNothingLeft(env);
  });

  it('gives up on an instance still booting after BOOT_TIMEOUT and deletes it once GCE accepts the delete (resourceNotReady until then)', async () => {
    await using env = await gceTestEnv({
      emulator: { operationWaitMs: 300 },
      config: { BOOT_TIMEOUT: '1500ms' },
    });
    // The insert runs on for 1.5 s after the start gives up: every delete meanwhile is resourceNotReady.
    env.emulator.faults.neverRunning({ forMs: 3_000 });
    const progress = new ProgressLog();
    const started = Date.now();
    const error = await env.provider.start(job, { progress }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(error).toMatchObject({ name: 'ProviderApiError', retryable: true });
    expect((error as Error).message).toContain('BOOT_TIMEOUT');
    expect(progress.messages).toContain('timeout waiting for instance to be ready');
    // The long polls came back unfinished: progress dots, and backoff between them rather than a busy loop.
    expect(progress.entries.some((e) => e.raw && e.message === '.')).toBe(true);
    expect(env.emulator.calls.count('instances.delete')).toBeGreaterThan(1);
    await expectNothingLeft(env);
  });

  it('deletes an instance that is still booting when the caller aborts', async () => {
    await using env = await gceTestEnv({ emulator: { operationWaitMs: 5_000 } });
    env.emulator.faults.neverRunning({ forMs: 1_500 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('job cancelled')), 500);
    await expect(env.provider.start(job, { signal: controller.signal })).rejects.toThrow('job cancelled');
    await expectNothingLeft(env);
  });

  it('fails with SshNotReadyError when SSH never comes up, and deletes the instance', async () => {
    await using env = await gceTestEnv({ config: { UPLOAD_RETRIES: '20', UPLOAD_RETRY_SLEEP: '100ms' } });
    env.emulator.faults.sshNeverUp();
    const progress = new ProgressLog();
    const error = await env.provider.start(job, { progress }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(SshNotReadyError.isInstance(error), String(error)).toBe(true);
    expect(progress.messages).toContain('waiting for ssh connectivity...');
    expect(progress.entries.filter((e) => e.raw && e.message === '.').length).toBeGreaterThan(0);
    await expectNothingLeft(env);
  });

  it.each([
    [
      'PREEMPTIBLE, deleted on preemption (instanceTerminationAction DELETE)',
      { PREEMPTIBLE: 'true' },
      undefined,
    ],
    ['Spot, deleted on preemption', { SPOT: 'true' }, undefined],
    [
      'Spot, stopped on preemption (TERMINATION_ACTION STOP)',
      { SPOT: 'true', TERMINATION_ACTION: 'STOP' },
      'TERMINATED',
    ],
    [
      'PREEMPTIBLE without a termination action, TERMINATED on preemption',
      { PREEMPTIBLE: 'true', MAX_RUN_DURATION: 'false' },
      'TERMINATED',
    ],
  ] as const)(
    'reports a run on a preempted VM as incomplete (preempted), never as passed: %s',
    async (_what, config, left) => {
      // The preemption is listed late (up to 30 Google seconds): the run must not wait for it.
      await using env = await gceTestEnv({ config });
      const instance = await env.provider.start(job);
      await instance.uploadScript('echo started\nsleep 30\necho not-reached\n');
      const sink = new RecordingSink();
      const running = instance.runScript(sink);
      await sink.waitFor('started');
      await env.emulator.preempt(instance.id);
      const result = await running;
      expect(result).toMatchObject({ completed: false, reason: 'preempted', outputBytes: 8 });
      expect(env.emulator.instances().map((i) => i.status)).toEqual(left ? [left] : []);
      await instance.stop();
      await expectNothingLeft(env);
    },
  );

  it('reports a preemptible instance that was not preempted as completed, with one extra call', async () => {
    await using env = await gceTestEnv({ config: { PREEMPTIBLE: 'true' } });
    const instance = await env.provider.start(job);
    await instance.uploadScript('exit 3\n');
    expect(await instance.runScript(new RecordingSink())).toMatchObject({ completed: true, exitCode: 3 });
    expect(env.emulator.calls.count('zoneOperations.list')).toBe(1);
    await instance.stop();
    await expectNothingLeft(env);
  });

  it('is deleted by GCE itself (maxRunDuration) when its worker never stops it', async () => {
    // One emulated second lasts 5 ms: hard timeout 60 s + 10 min grace = 660 s -> 3.3 s.
    await using env = await gceTestEnv({ emulator: { timings: { runDurationSecondMs: 5 } } });
    const instance = await env.provider.start({ ...job, hardTimeoutMs: 60_000 });
    const resource = env.emulator.instances()[0]!.resource as { scheduling: Record<string, unknown> };
    expect(resource.scheduling).toMatchObject({
      instanceTerminationAction: 'DELETE',
      maxRunDuration: { seconds: '660' },
    });
    for (let i = 0; i < 1000 && env.emulator.instances().length > 0; i++)
      await new Promise((resolve) => setTimeout(resolve, 10));
    await expectNothingLeft(env);
    // The worker's own stop later finds nothing to delete, and that is fine.
    await instance.stop();
  });

  it('lets `reap` delete instances whose expiry passed (workerkit gc)', async () => {
    await using env = await gceTestEnv();
    const instance = await env.provider.start(job);
    const [resource] = await env.provider.listManagedResources();
    expect(resource).toMatchObject({
      kind: 'instance',
      id: instance.id,
      jobId: '77',
      details: { zone: instance.zone },
    });
    expect(resource!.ownerId).toBe(`gce-test_${process.pid}`);
    const decisions = await reap(env.provider, {
      now: new Date(Date.now() + 24 * 3_600_000),
      isOwnerAlive: () => true,
    });
    expect(decisions).toMatchObject([{ why: 'expired', deleted: true }]);
    await expectNothingLeft(env);
    await instance.stop();
  });
});

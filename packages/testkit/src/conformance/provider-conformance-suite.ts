import {
  type Instance,
  type ProgressEntry,
  type Provider,
  type RunResult,
  StaleVmError,
  type StartAttributes,
  TraceNotFoundError,
  TraceNotImplementedError,
} from '@workerkit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RecordingSink } from './recording-sink.js';
import {
  allBytesBuffer,
  type ConformanceJob,
  conformanceJobs as jobs,
  largeOutputDigest,
} from './scripts.js';

export interface ConformanceSuiteOptions {
  /** Shown in the describe block. */
  name: string;
  /**
   * Creates the provider under test, once per suite. It must own its resources exclusively
   * (a private daemon, emulator or directory): the leak checks expect `listManagedResources()`
   * to be empty after each test.
   */
  createProvider(): Promise<Provider> | Provider;
  /** Attributes for every start (default: a small job with a 5-minute hard timeout). */
  startAttributes?: StartAttributes;
  /** Per-test timeout in ms (default 60 s). */
  timeoutMs?: number;
  /** Bytes for the large-output test (default 100 MB). */
  largeOutputBytes?: number;
  /** Delays (ms) after which a start is aborted; the defaults cover "at once" and "mid-way". */
  abortStartDelaysMs?: number[];
  /** Whether `downloadTrace` returns what the script wrote to /tmp/build.trace (default: implemented or TraceNotImplementedError). */
  trace?: 'supported' | 'not-implemented';
  /**
   * Called before each job's start with what the job must produce. Only for providers that
   * cannot run shell scripts (the fake), which replay it; real providers leave it out.
   */
  prepareJob?: (job: ConformanceJob) => void;
  /** Runs after the provider is closed (stop emulators and daemons here). */
  afterAll?: () => Promise<void> | void;
}

/**
 * The behaviour every workerkit provider must show. A backend is done when this passes:
 * `providerConformanceSuite({ name: 'docker', createProvider: () => createDockerProvider(...) })`.
 */
export function providerConformanceSuite(options: ConformanceSuiteOptions): void {
  const attributes: StartAttributes = options.startAttributes ?? {
    language: 'minimal',
    jobId: '4242',
    repository: 'workerkit/conformance',
    hardTimeoutMs: 5 * 60_000,
  };
  const timeout = options.timeoutMs ?? 60_000;
  const largeBytes = options.largeOutputBytes ?? 100_000_000;

  describe(`provider conformance: ${options.name}`, { timeout }, () => {
    let provider: Provider;

    beforeAll(async () => {
      provider = await options.createProvider();
      await provider.setup();
    }, 300_000);

    afterAll(async () => {
      try {
        if (provider) await disposeAndCheckClosed(provider);
      } finally {
        await options.afterAll?.();
      }
    }, 120_000);

    const expectNoResources = async () => {
      expect(await provider.listManagedResources()).toEqual([]);
    };

    const start = (
      job: ConformanceJob,
      startOptions?: Parameters<Provider['start']>[1],
    ): Promise<Instance> => {
      options.prepareJob?.(job);
      return provider.start(attributes, startOptions);
    };

    async function runJob(
      job: ConformanceJob,
      sink = new RecordingSink(),
    ): Promise<{ result: RunResult; sink: RecordingSink }> {
      const instance = await start(job);
      try {
        await instance.uploadScript(job.script);
        const result = await instance.runScript(sink);
        return { result, sink };
      } finally {
        await instance.stop();
      }
    }

    it('starts, uploads, runs and stops an instance, leaving nothing behind', async () => {
      const instance = await start(jobs.hello);
      expect(typeof instance.id).toBe('string');
      expect(instance.id).not.toBe('');
      expect(typeof instance.imageName).toBe('string');
      expect(instance.startupDuration).toBeGreaterThanOrEqual(0);
      expect(await provider.listManagedResources()).not.toEqual([]);
      await instance.uploadScript(jobs.hello.script);
      const sink = new RecordingSink();
      const result = await instance.runScript(sink);
      expect(result).toMatchObject({ completed: true, exitCode: 0, outputBytes: 6 });
      expect(sink.text).toBe('hello\n');
      await instance.stop();
      await expectNoResources();
    });

    it.each([0, 1, 42])('returns exit code %i as a completed run', async (code) => {
      const { result, sink } = await runJob(jobs.exitWith(code));
      expect(result).toMatchObject({ completed: true, exitCode: code });
      expect(sink.text).toBe(`exiting with ${code}\n`);
    });

    it('finishes a script that prints nothing', async () => {
      const { result, sink } = await runJob(jobs.silent);
      expect(result).toMatchObject({ completed: true, exitCode: 0, outputBytes: 0 });
      expect(sink.bytes).toBe(0);
    });

    it('delivers stdout and stderr', async () => {
      const { result, sink } = await runJob(jobs.stdoutAndStderr);
      expect(result.completed).toBe(true);
      expect(sink.text).toContain('to-stdout\n');
      expect(sink.text).toContain('to-stderr\n');
    });

    it('delivers binary output byte-exact', async () => {
      const { result, sink } = await runJob(jobs.allBytes());
      expect(result).toMatchObject({ completed: true, exitCode: 0, outputBytes: 256 });
      expect(sink.buffer.equals(allBytesBuffer())).toBe(true);
    });

    it(`streams ${largeBytes} bytes of output byte-exact`, async () => {
      const { result, sink } = await runJob(
        jobs.largeOutput(largeBytes),
        new RecordingSink({ keepBytes: 4096 }),
      );
      expect(result).toMatchObject({ completed: true, exitCode: 0, outputBytes: largeBytes });
      expect(sink.bytes).toBe(largeBytes);
      expect(sink.digest()).toBe(largeOutputDigest(largeBytes));
    });

    it('rejects a second upload as a stale VM', async () => {
      const instance = await start(jobs.hello);
      try {
        await instance.uploadScript(jobs.hello.script);
        const second = await instance.uploadScript(jobs.hello.script).then(
          () => undefined,
          (error: unknown) => error,
        );
        expect(StaleVmError.isInstance(second), `expected StaleVmError, got ${String(second)}`).toBe(true);
      } finally {
        await instance.stop();
      }
      await expectNoResources();
    });

    it('rejects a start whose signal is already aborted, creating nothing', async () => {
      const controller = new AbortController();
      controller.abort(new Error('cancelled before start'));
      await expect(start(jobs.hello, { signal: controller.signal })).rejects.toThrow();
      await expectNoResources();
    });

    for (const delay of options.abortStartDelaysMs ?? [1, 25, 250]) {
      it(`leaves nothing behind when a start is aborted after ${delay} ms`, async () => {
        const controller = new AbortController();
        const timer = setTimeout(() => controller.abort(new Error('cancelled during start')), delay);
        let instance: Instance | undefined;
        try {
          instance = await start(jobs.hello, { signal: controller.signal });
        } catch (error) {
          // Rejected: it must have cleaned up after itself.
          expect(error).toBeDefined();
        } finally {
          clearTimeout(timer);
        }
        // A start that won the race hands over a live instance: the caller stops it.
        await instance?.stop();
        await expectNoResources();
      });
    }

    it('cancels a run promptly on abort and reports it incomplete', async () => {
      const instance = await start(jobs.sleeper);
      try {
        await instance.uploadScript(jobs.sleeper.script);
        const sink = new RecordingSink();
        const controller = new AbortController();
        const running = instance.runScript(sink, { signal: controller.signal });
        await sink.waitFor('started');
        const abortedAt = Date.now();
        controller.abort(new Error('user cancelled'));
        const result = await running;
        expect(Date.now() - abortedAt).toBeLessThan(10_000);
        expect(result).toMatchObject({ completed: false, reason: 'cancelled' });
        expect(sink.text).not.toContain('not-reached');
      } finally {
        await instance.stop();
      }
      await expectNoResources();
    });

    it('cuts a run off at its hard timeout and reports it incomplete', async () => {
      const instance = await start(jobs.sleeper);
      try {
        await instance.uploadScript(jobs.sleeper.script);
        const sink = new RecordingSink();
        const started = Date.now();
        const result = await instance.runScript(sink, { hardTimeoutMs: 1500 });
        expect(Date.now() - started).toBeLessThan(15_000);
        expect(result).toMatchObject({ completed: false, reason: 'hard-timeout' });
      } finally {
        await instance.stop();
      }
      await expectNoResources();
    });

    it('leaves nothing behind after a failed upload and stop', async () => {
      const instance = await start(jobs.hello);
      const controller = new AbortController();
      controller.abort(new Error('upload cancelled'));
      await expect(instance.uploadScript(jobs.hello.script, { signal: controller.signal })).rejects.toThrow();
      await instance.stop();
      await expectNoResources();
    });

    it('can be stopped twice', async () => {
      const instance = await start(jobs.silent);
      await instance.stop();
      await instance.stop();
      await expectNoResources();
    });

    it('reports well-formed progress entries', async () => {
      const entries: ProgressEntry[] = [];
      const instance = await start(jobs.silent, { progress: { progress: (entry) => entries.push(entry) } });
      await instance.stop();
      if (provider.supportsProgress) expect(entries.length).toBeGreaterThan(0);
      else expect(entries).toEqual([]);
      for (const entry of entries) {
        expect(typeof entry.message).toBe('string');
        expect([undefined, 'neutral', 'success', 'failure']).toContain(entry.state);
        for (const flag of ['interrupts', 'continues', 'raw'] as const) {
          expect([undefined, true, false]).toContain(entry[flag]);
        }
      }
    });

    it('stops the instance at the end of an `await using` block', async () => {
      {
        await using instance = await start(jobs.hello);
        await instance.uploadScript(jobs.hello.script);
        expect(await provider.listManagedResources()).not.toEqual([]);
      }
      await expectNoResources();
    });

    it('downloads the build trace or says it cannot', async () => {
      const instance = await start(jobs.writesTrace);
      try {
        await instance.uploadScript(jobs.writesTrace.script);
        await instance.runScript(new RecordingSink());
        const trace = await instance.downloadTrace().then(
          (bytes) => ({ bytes }),
          (error: unknown) => ({ error }),
        );
        if (options.trace === 'not-implemented') {
          expect(TraceNotImplementedError.isInstance((trace as { error: unknown }).error)).toBe(true);
        } else if ('bytes' in trace) {
          expect(Buffer.from(trace.bytes).toString()).toBe(jobs.writesTrace.trace);
        } else {
          expect(
            TraceNotImplementedError.isInstance(trace.error) || TraceNotFoundError.isInstance(trace.error),
            String(trace.error),
          ).toBe(true);
          expect(options.trace).not.toBe('supported');
        }
      } finally {
        await instance.stop();
      }
      await expectNoResources();
    });
  });
}

/** `await using provider = …` must release it: `[Symbol.asyncDispose]` calls `close()`. */
async function disposeAndCheckClosed(provider: Provider): Promise<void> {
  const close = provider.close.bind(provider);
  let closed = 0;
  provider.close = async () => {
    closed++;
    await close();
  };
  const dispose = provider[Symbol.asyncDispose] as Provider[typeof Symbol.asyncDispose] | undefined;
  if (typeof dispose !== 'function') {
    await close();
    throw new Error('provider conformance: the provider has no [Symbol.asyncDispose] (it must call close())');
  }
  await dispose.call(provider);
  expect(closed, 'Provider[Symbol.asyncDispose] must call close() once').toBe(1);
}

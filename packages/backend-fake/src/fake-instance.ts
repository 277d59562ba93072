import {
  abortedByTimeout,
  type Instance,
  OutputMeter,
  type OutputSink,
  type RunOptions,
  type RunResult,
  type SignalOptions,
  StaleVmError,
  sleep,
  TraceNotImplementedError,
  WorkerkitError,
  whenAborted,
  withHardTimeout,
} from '@workerkit/core';
import type { FakeCall, FakeJob } from './fake-job.js';
import type { FakeOptions } from './fake-options.js';

export class FakeInstance implements Instance {
  readonly id: string;
  readonly imageName = 'fake';
  readonly startupDuration: number;
  readonly supportsProgress = true;
  readonly #job: FakeJob;
  readonly #options: FakeOptions;
  readonly #hardTimeoutMs: number | undefined;
  readonly #record: (call: FakeCall) => void;
  readonly #onStop: () => void;
  #uploaded = false;
  #stopped = false;

  constructor(settings: {
    id: string;
    job: FakeJob;
    options: FakeOptions;
    hardTimeoutMs: number | undefined;
    record: (call: FakeCall) => void;
    onStop: () => void;
  }) {
    this.id = settings.id;
    this.#job = settings.job;
    this.#options = settings.options;
    this.#hardTimeoutMs = settings.hardTimeoutMs;
    this.#record = settings.record;
    this.#onStop = settings.onStop;
    this.startupDuration = settings.options.STARTUP_DURATION ?? 0;
  }

  async uploadScript(script: string | Uint8Array, { signal }: SignalOptions = {}): Promise<void> {
    this.#record({ method: 'uploadScript', instanceId: this.id, script: Buffer.from(script).toString() });
    signal?.throwIfAborted();
    this.#assertRunning();
    if (this.#job.uploadError) throw this.#job.uploadError;
    if (this.#uploaded) throw new StaleVmError();
    this.#uploaded = true;
  }

  async runScript(output: OutputSink, options: RunOptions = {}): Promise<RunResult> {
    this.#record({ method: 'runScript', instanceId: this.id });
    this.#assertRunning();
    if (!this.#uploaded)
      throw new WorkerkitError({ message: 'fake: no script uploaded; call uploadScript first' });
    const meter = new OutputMeter(output);
    if (this.#options.ERROR === 'true') {
      return {
        completed: false,
        reason: 'provider-error',
        message: 'fake provider is configured to error all jobs',
        outputBytes: 0,
      };
    }
    const deadline = withHardTimeout(options.signal, options.hardTimeoutMs ?? this.#hardTimeoutMs);
    try {
      const sleepMs = this.#job.runSleepMs ?? this.#options.RUN_SLEEP;
      if (sleepMs) await sleep(sleepMs, deadline.signal);
      for (const chunk of outputChunks(this.#job.output ?? this.#options.LOG_OUTPUT)) {
        deadline.signal.throwIfAborted();
        await meter.write(chunk);
      }
      if (this.#job.hangs) await whenAborted(deadline.signal).promise;
      deadline.signal.throwIfAborted();
    } catch (error) {
      if (!deadline.signal.aborted) {
        return {
          completed: false,
          reason: 'output-failed',
          message: String(error),
          outputBytes: meter.bytes,
          cause: error,
        };
      }
      const reason = abortedByTimeout(deadline.signal) ? 'hard-timeout' : 'cancelled';
      return { completed: false, reason, message: `fake: run ${reason}`, outputBytes: meter.bytes };
    } finally {
      deadline.dispose();
    }
    if (this.#job.incomplete) {
      return {
        completed: false,
        reason: this.#job.incomplete.reason,
        message: this.#job.incomplete.message ?? `fake: scripted ${this.#job.incomplete.reason}`,
        outputBytes: meter.bytes,
      };
    }
    return {
      completed: true,
      exitCode: this.#job.exitCode ?? this.#options.EXIT_CODE,
      outputBytes: meter.bytes,
    };
  }

  async downloadTrace(): Promise<Uint8Array> {
    this.#record({ method: 'downloadTrace', instanceId: this.id });
    if (this.#job.trace === undefined) throw new TraceNotImplementedError({ provider: 'fake' });
    return Buffer.from(this.#job.trace);
  }

  async stop(): Promise<void> {
    this.#record({ method: 'stop', instanceId: this.id });
    if (this.#stopped) return;
    this.#stopped = true;
    this.#onStop();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  #assertRunning(): void {
    if (this.#stopped) throw new WorkerkitError({ message: `fake: instance ${this.id} was stopped` });
  }
}

function outputChunks(output: FakeJob['output']): Iterable<Uint8Array> {
  if (output === undefined) return [];
  if (typeof output === 'function') return output();
  return [typeof output === 'string' ? Buffer.from(output) : output];
}

import type { Attributes, Span } from '@opentelemetry/api';
import type { WithOwnerLeases } from '../fleet/owner-leases.js';
import type { ManagedResource } from '../lifecycle/managed-resource.js';
import type { OutputSink } from '../output.js';
import type { Instance, Provider, RunOptions, SignalOptions, StartOptions } from '../provider.js';
import type { RunResult } from '../run-result.js';
import type { StartAttributes } from '../start-attributes.js';
import { ATTRIBUTES, backendAttributes, instruments, tracer } from './instruments.js';
import { type JobTelemetryState, runInJob } from './job-telemetry.js';
import { otelApi } from './otel-api.js';

/** Job phases reported in `workerkit.job.phase.duration` (`api` is the job's total API-call time). */
export type JobPhase = 'start' | 'boot' | 'ssh-ready' | 'upload' | 'run' | 'delete' | 'api';

/**
 * Wraps a provider so every job it starts reports its phases, API calls and result through the
 * OpenTelemetry API (no-ops until the application registers an SDK). Backends need only count
 * API calls in their rate limiter and, optionally, mark the end of boot (`markStartPhase`).
 */
export function instrumentProvider(provider: Provider & WithOwnerLeases): Provider & WithOwnerLeases {
  return new InstrumentedProvider(provider);
}

class InstrumentedProvider implements Provider, WithOwnerLeases {
  readonly #inner: Provider & WithOwnerLeases;

  constructor(inner: Provider & WithOwnerLeases) {
    this.#inner = inner;
  }

  get alias(): string {
    return this.#inner.alias;
  }

  get supportsProgress(): boolean {
    return this.#inner.supportsProgress;
  }

  get ownerLeases() {
    return this.#inner.ownerLeases;
  }

  setup(options?: SignalOptions): Promise<void> {
    return this.#inner.setup(options);
  }

  async start(attributes: StartAttributes, options?: StartOptions): Promise<Instance> {
    const backend = this.#inner.alias;
    const jobSpan = tracer().startSpan('workerkit.job', {
      attributes: backendAttributes(
        backend,
        attributes.jobId ? { [ATTRIBUTES.jobId]: attributes.jobId } : {},
      ),
    });
    const job: JobTelemetryState = {
      backend,
      context: otelApi().trace.setSpan(otelApi().context.active(), jobSpan),
      apiCalls: 0,
      apiCallMs: 0,
      marks: [],
    };
    const started = performance.now();
    try {
      const instance = await runInJob(job, () => this.#inner.start(attributes, options));
      const ready = performance.now();
      const boot = job.marks.find((mark) => mark.phase === 'boot');
      if (boot) {
        recordPhase(job, 'boot', started, boot.at, 'ok');
        recordPhase(job, 'ssh-ready', boot.at, ready, 'ok');
      } else {
        recordPhase(job, 'start', started, ready, 'ok');
      }
      jobSpan.setAttribute(ATTRIBUTES.instanceId, instance.id);
      return new InstrumentedInstance(instance, job, jobSpan);
    } catch (error) {
      recordPhase(job, 'start', started, performance.now(), 'error');
      instruments().jobResults.add(1, backendAttributes(backend, { [ATTRIBUTES.result]: 'start-failed' }));
      finishJob(job, jobSpan, error);
      throw error;
    }
  }

  listManagedResources(options?: SignalOptions): Promise<ManagedResource[]> {
    return this.#inner.listManagedResources(options);
  }

  deleteManagedResource(resource: ManagedResource, options?: SignalOptions): Promise<void> {
    return this.#inner.deleteManagedResource(resource, options);
  }

  close(): Promise<void> {
    return this.#inner.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

class InstrumentedInstance implements Instance {
  readonly #inner: Instance;
  readonly #job: JobTelemetryState;
  readonly #span: Span;
  #stopped: Promise<void> | undefined;

  constructor(inner: Instance, job: JobTelemetryState, span: Span) {
    this.#inner = inner;
    this.#job = job;
    this.#span = span;
  }

  get id(): string {
    return this.#inner.id;
  }

  get imageName(): string {
    return this.#inner.imageName;
  }

  get startupDuration(): number {
    return this.#inner.startupDuration;
  }

  get supportsProgress(): boolean {
    return this.#inner.supportsProgress;
  }

  uploadScript(script: string | Uint8Array, options?: SignalOptions): Promise<void> {
    return this.#phase('upload', () => this.#inner.uploadScript(script, options));
  }

  async runScript(output: OutputSink, options?: RunOptions): Promise<RunResult> {
    const result = await this.#phase('run', () => this.#inner.runScript(output, options));
    const attributes: Attributes = result.completed
      ? { [ATTRIBUTES.result]: result.exitCode === 0 ? 'passed' : 'failed' }
      : { [ATTRIBUTES.result]: 'incomplete', [ATTRIBUTES.incompleteReason]: result.reason };
    instruments().jobResults.add(1, backendAttributes(this.#job.backend, attributes));
    this.#span.setAttributes(attributes);
    return result;
  }

  downloadTrace(options?: SignalOptions): Promise<Uint8Array> {
    return runInJob(this.#job, () => this.#inner.downloadTrace(options));
  }

  stop(options?: SignalOptions): Promise<void> {
    this.#stopped ??= this.#phase('delete', () => this.#inner.stop(options)).then(
      () => finishJob(this.#job, this.#span),
      (error: unknown) => {
        this.#stopped = undefined;
        throw error;
      },
    );
    return this.#stopped;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  async #phase<T>(phase: JobPhase, fn: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      const value = await runInJob(this.#job, fn);
      recordPhase(this.#job, phase, started, performance.now(), 'ok');
      return value;
    } catch (error) {
      recordPhase(this.#job, phase, started, performance.now(), 'error');
      throw error;
    }
  }
}

/** One phase: the histogram, and a child span of the job with the phase's real start and end. */
function recordPhase(
  job: JobTelemetryState,
  phase: JobPhase,
  from: number,
  to: number,
  outcome: 'ok' | 'error',
) {
  const attributes = backendAttributes(job.backend, {
    [ATTRIBUTES.phase]: phase,
    [ATTRIBUTES.outcome]: outcome,
  });
  instruments().phaseDuration.record(to - from, attributes);
  const epochOffset = Date.now() - performance.now();
  const span = tracer().startSpan(
    `workerkit.${phase}`,
    { attributes, startTime: epochOffset + from },
    job.context,
  );
  if (outcome === 'error') span.setStatus({ code: otelApi().SpanStatusCode.ERROR });
  span.end(epochOffset + to);
}

function finishJob(job: JobTelemetryState, span: Span, error?: unknown): void {
  const meters = instruments();
  meters.jobApiCalls.record(job.apiCalls, backendAttributes(job.backend));
  meters.phaseDuration.record(
    job.apiCallMs,
    backendAttributes(job.backend, {
      [ATTRIBUTES.phase]: 'api',
      [ATTRIBUTES.outcome]: error ? 'error' : 'ok',
    }),
  );
  span.setAttribute(ATTRIBUTES.apiCalls, job.apiCalls);
  if (error !== undefined) span.setStatus({ code: otelApi().SpanStatusCode.ERROR, message: String(error) });
  span.end();
}

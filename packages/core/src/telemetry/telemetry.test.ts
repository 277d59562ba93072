import { metrics, trace } from '@opentelemetry/api';
import {
  type DataPoint,
  type Histogram,
  MeterProvider,
  type MetricData,
  MetricReader,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Instance, Provider } from '../provider.js';
import type { RunResult } from '../run-result.js';
import { recordApiCallAdmitted, recordApiThrottled, timeApiCall } from './api-telemetry.js';
import { instrumentProvider } from './instrumented-provider.js';
import { markStartPhase } from './job-telemetry.js';

/** Collects on demand, as a test needs. */
class CollectingReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

/**
 * A provider whose API calls are what a cloud backend's limiter reports: two to start, one to
 * stop; the first run is preempted, the second passes.
 */
function scriptedProvider(): Provider {
  let runs = 0;
  const apiCall = (operation: string) =>
    timeApiCall('scripted', operation, async () => recordApiCallAdmitted('scripted', 'redis', 3));
  return {
    alias: 'scripted',
    supportsProgress: false,
    setup: async () => {},
    async start(attributes): Promise<Instance> {
      await apiCall('insert');
      markStartPhase('boot');
      await apiCall('get');
      recordApiThrottled('scripted');
      const instance: Instance = {
        id: `vm-${attributes.jobId}`,
        imageName: 'image',
        startupDuration: 1,
        supportsProgress: false,
        uploadScript: async () => {},
        runScript: async (): Promise<RunResult> => {
          runs += 1;
          return runs === 1
            ? { completed: false, reason: 'preempted', message: 'reclaimed', outputBytes: 0 }
            : { completed: true, exitCode: 0, outputBytes: 3 };
        },
        downloadTrace: async () => new Uint8Array(),
        stop: async () => apiCall('delete'),
        [Symbol.asyncDispose]: async () => instance.stop(),
      };
      return instance;
    },
    listManagedResources: async () => [],
    deleteManagedResource: async () => {},
    close: async () => {},
    [Symbol.asyncDispose]: async () => {},
  };
}

describe('job telemetry through the OpenTelemetry API', () => {
  const reader = new CollectingReader();
  const spans = new InMemorySpanExporter();

  beforeAll(() => {
    metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
    trace.setGlobalTracerProvider(
      new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }),
    );
  });
  afterAll(() => {
    metrics.disable();
    trace.disable();
  });

  async function collected(): Promise<Map<string, MetricData>> {
    const { resourceMetrics } = await reader.collect();
    return new Map(
      resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics).map((m) => [m.descriptor.name, m]),
    );
  }

  function points(metric: MetricData | undefined): DataPoint<number | Histogram>[] {
    return (metric?.dataPoints ?? []) as DataPoint<number | Histogram>[];
  }

  it('records phases, API calls, throttles and results per job, as metrics and spans', async () => {
    const provider = instrumentProvider(scriptedProvider());
    for (const jobId of ['1', '2']) {
      const instance = await provider.start({ jobId });
      await instance.uploadScript('true');
      await instance.runScript({ write: () => true });
      await instance.stop();
      await instance.stop();
    }

    const found = await collected();
    const phases = points(found.get('workerkit.job.phase.duration')).map((p) => [
      p.attributes['workerkit.phase'],
      p.attributes['workerkit.outcome'],
      (p.value as Histogram).count,
    ]);
    expect(phases).toEqual(
      expect.arrayContaining([
        ['boot', 'ok', 2],
        ['ssh-ready', 'ok', 2],
        ['upload', 'ok', 2],
        ['run', 'ok', 2],
        ['delete', 'ok', 2],
        ['api', 'ok', 2],
      ]),
    );
    expect(phases.find(([phase]) => phase === 'start')).toBeUndefined();
    const results = points(found.get('workerkit.job.results')).map((p) => [p.attributes, p.value]);
    expect(results).toEqual(
      expect.arrayContaining([
        [
          {
            'workerkit.backend': 'scripted',
            'workerkit.result': 'incomplete',
            'workerkit.incomplete_reason': 'preempted',
          },
          1,
        ],
        [{ 'workerkit.backend': 'scripted', 'workerkit.result': 'passed' }, 1],
      ]),
    );
    const perJob = points(found.get('workerkit.job.api_calls'))[0]!.value as Histogram;
    expect([perJob.count, perJob.sum]).toEqual([2, 6]);
    expect(points(found.get('workerkit.api.calls'))).toEqual([
      expect.objectContaining({
        attributes: { 'workerkit.backend': 'scripted', 'workerkit.rate_limiter': 'redis' },
        value: 6,
      }),
    ]);
    expect(points(found.get('workerkit.api.throttles'))).toEqual([expect.objectContaining({ value: 2 })]);
    expect(
      points(found.get('workerkit.api.call.duration'))
        .map((p) => p.attributes['workerkit.api.operation'])
        .sort(),
    ).toEqual(['delete', 'get', 'insert']);

    const finished = spans.getFinishedSpans();
    const jobs = finished.filter((span) => span.name === 'workerkit.job');
    expect(jobs).toHaveLength(2);
    expect(jobs[0]!.attributes).toMatchObject({
      'workerkit.job_id': '1',
      'workerkit.api_calls': 3,
      'workerkit.instance_id': 'vm-1',
    });
    const children = finished
      .filter((span) => span.parentSpanContext?.spanId === jobs[0]!.spanContext().spanId)
      .map((span) => span.name);
    expect(children).toEqual(
      expect.arrayContaining([
        'workerkit.api insert',
        'workerkit.boot',
        'workerkit.ssh-ready',
        'workerkit.upload',
        'workerkit.run',
        'workerkit.api delete',
        'workerkit.delete',
      ]),
    );
  });

  it('counts a failed start as a start phase with an error and a start-failed result', async () => {
    const failing: Provider = {
      ...scriptedProvider(),
      start: async () => {
        throw new Error('no capacity');
      },
    };
    await expect(instrumentProvider(failing).start({ jobId: '3' })).rejects.toThrow('no capacity');
    const found = await collected();
    expect(
      points(found.get('workerkit.job.phase.duration')).some(
        (p) => p.attributes['workerkit.phase'] === 'start' && p.attributes['workerkit.outcome'] === 'error',
      ),
    ).toBe(true);
    expect(points(found.get('workerkit.job.results')).map((p) => p.attributes['workerkit.result'])).toContain(
      'start-failed',
    );
  });
});

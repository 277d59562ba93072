// Runs three jobs on the local backend (bash in a temp dir: no infrastructure needed) through
// `instrumentProvider`, with the OpenTelemetry metrics and trace SDKs registered, then prints
// every workerkit instrument with its attributes, and the spans of the first job.
//
//   pnpm --filter @workerkit/example-telemetry start      (after `pnpm turbo run build`)
//
// With the gce or ec2 backend, `workerkit.api.*` and `workerkit.rate_limit.*` fill up too:
// their rate limiters count every cloud API call and throttle.
import { metrics, trace } from '@opentelemetry/api';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { createLocalProvider } from '@workerkit/backend-local';
import { instrumentProvider } from '@workerkit/core';

class OnDemandReader extends MetricReader {
  async onForceFlush() {}
  async onShutdown() {}
}

const reader = new OnDemandReader();
const spans = new InMemorySpanExporter();
metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }));

const provider = instrumentProvider(createLocalProvider({}));
const scripts = ['echo building; sleep 0.2; echo done', 'echo failing; exit 3', 'sleep 5'];
for (const [index, script] of scripts.entries()) {
  const instance = await provider.start({ jobId: String(index + 1), hardTimeoutMs: 60_000 });
  try {
    await instance.uploadScript(script);
    // The third job hits its hard timeout: an incomplete run, reason "hard-timeout".
    const result = await instance.runScript({ write: () => true }, index === 2 ? { hardTimeoutMs: 300 } : {});
    console.log(
      `job ${index + 1}:`,
      result.completed ? `exit ${result.exitCode}` : `incomplete (${result.reason})`,
    );
  } finally {
    await instance.stop();
  }
}
await provider.close();

const { resourceMetrics } = await reader.collect();
console.log('\nmetrics:');
for (const metric of resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics)) {
  console.log(`  ${metric.descriptor.name} (${metric.descriptor.unit || 'count'})`);
  for (const point of metric.dataPoints) {
    const value =
      typeof point.value === 'number'
        ? point.value
        : `count ${point.value.count}, sum ${point.value.sum?.toFixed(1)}`;
    console.log(`    ${JSON.stringify(point.attributes)} → ${value}`);
  }
}

const firstJob = spans.getFinishedSpans().find((span) => span.name === 'workerkit.job');
console.log('\nspans of job 1:');
for (const span of spans.getFinishedSpans()) {
  if (span.spanContext().traceId !== firstJob?.spanContext().traceId) continue;
  const ms = (span.duration[0] * 1e3 + span.duration[1] / 1e6).toFixed(1);
  console.log(`  ${span.name.padEnd(20)} ${ms.padStart(8)} ms  ${JSON.stringify(span.attributes)}`);
}

import type { Attributes, Counter, Histogram, Meter, MeterProvider, Tracer } from '@opentelemetry/api';
import { otelApi } from './otel-api.js';

/** The instrumentation scope every workerkit metric and span is recorded under. */
export const TELEMETRY_SCOPE = '@workerkit/core';

/** Metric names (see the core README for units and attributes). */
export const METRICS = Object.freeze({
  /** Counter: calls let through a backend's rate limiter (every cloud API call and retry). */
  apiCalls: 'workerkit.api.calls',
  /** Counter: API answers that said "slow down" (rate limit exceeded, 429). */
  apiThrottles: 'workerkit.api.throttles',
  /** Histogram, ms: one API call, from the limiter's go-ahead to its answer. */
  apiCallDuration: 'workerkit.api.call.duration',
  /** Histogram, ms: time a call waited in the rate limiter. */
  rateLimitWait: 'workerkit.rate_limit.wait',
  /** Counter: switches from the shared (Redis) limiter to the per-process one. */
  rateLimitFallbacks: 'workerkit.rate_limit.fallbacks',
  /** Histogram, ms: one phase of one job. */
  phaseDuration: 'workerkit.job.phase.duration',
  /** Histogram: API calls made for one job (start to delete). */
  jobApiCalls: 'workerkit.job.api_calls',
  /** Counter: finished runs by result and incomplete reason. */
  jobResults: 'workerkit.job.results',
});

/** Attribute keys used on the metrics and spans. */
export const ATTRIBUTES = Object.freeze({
  backend: 'workerkit.backend',
  phase: 'workerkit.phase',
  outcome: 'workerkit.outcome',
  result: 'workerkit.result',
  incompleteReason: 'workerkit.incomplete_reason',
  rateLimiter: 'workerkit.rate_limiter',
  operation: 'workerkit.api.operation',
  jobId: 'workerkit.job_id',
  instanceId: 'workerkit.instance_id',
  apiCalls: 'workerkit.api_calls',
});

interface Instruments {
  apiCalls: Counter;
  apiThrottles: Counter;
  apiCallDuration: Histogram;
  rateLimitWait: Histogram;
  rateLimitFallbacks: Counter;
  phaseDuration: Histogram;
  jobApiCalls: Histogram;
  jobResults: Counter;
}

// The metrics API has no proxy provider: a meter taken before the application registers its
// SDK stays a no-op. So instruments are made per registered provider, on first use.
const cache = new WeakMap<MeterProvider, Instruments>();

function makeInstruments(meter: Meter): Instruments {
  const ms = { unit: 'ms' };
  return {
    apiCalls: meter.createCounter(METRICS.apiCalls, {
      description: 'Cloud API calls let through the rate limiter',
    }),
    apiThrottles: meter.createCounter(METRICS.apiThrottles, {
      description: 'Cloud API calls answered with a throttling error',
    }),
    apiCallDuration: meter.createHistogram(METRICS.apiCallDuration, {
      ...ms,
      description: 'Duration of one cloud API call',
    }),
    rateLimitWait: meter.createHistogram(METRICS.rateLimitWait, {
      ...ms,
      description: 'Time a call waited for the rate limiter',
    }),
    rateLimitFallbacks: meter.createCounter(METRICS.rateLimitFallbacks, {
      description: 'Switches from the shared Redis rate limiter to the per-process one',
    }),
    phaseDuration: meter.createHistogram(METRICS.phaseDuration, {
      ...ms,
      description: 'Duration of one job phase',
    }),
    jobApiCalls: meter.createHistogram(METRICS.jobApiCalls, {
      description: 'Cloud API calls made for one job',
    }),
    jobResults: meter.createCounter(METRICS.jobResults, {
      description: 'Finished runs by result and reason',
    }),
  };
}

/** The instruments of the currently registered meter provider (no-ops without an SDK). */
export function instruments(): Instruments {
  const provider = otelApi().metrics.getMeterProvider();
  let found = cache.get(provider);
  if (!found) {
    found = makeInstruments(provider.getMeter(TELEMETRY_SCOPE));
    cache.set(provider, found);
  }
  return found;
}

/** The tracer (the API's proxy follows a provider registered later). */
export function tracer(): Tracer {
  return otelApi().trace.getTracer(TELEMETRY_SCOPE);
}

export function backendAttributes(backend: string, extra: Attributes = {}): Attributes {
  return { [ATTRIBUTES.backend]: backend, ...extra };
}

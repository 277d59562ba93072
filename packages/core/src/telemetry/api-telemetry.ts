import { ATTRIBUTES, backendAttributes, instruments, tracer } from './instruments.js';
import { currentJob } from './job-telemetry.js';
import { otelApi } from './otel-api.js';

export type RateLimiterKind = 'local' | 'redis';

/** Counts one call let through a rate limiter, and how long it waited there. */
export function recordApiCallAdmitted(backend: string, limiter: RateLimiterKind, waitedMs: number): void {
  const attributes = backendAttributes(backend, { [ATTRIBUTES.rateLimiter]: limiter });
  const meters = instruments();
  meters.apiCalls.add(1, attributes);
  meters.rateLimitWait.record(waitedMs, attributes);
  const job = currentJob();
  if (job) job.apiCalls += 1;
}

/** Counts one throttling answer of the API. */
export function recordApiThrottled(backend: string): void {
  instruments().apiThrottles.add(1, backendAttributes(backend));
}

/** Counts one switch from the shared limiter to the per-process one. */
export function recordRateLimitFallback(backend: string): void {
  instruments().rateLimitFallbacks.add(1, backendAttributes(backend));
}

/**
 * Times one API call (a span `workerkit.api <operation>` under the current job, and the
 * `workerkit.api.call.duration` histogram); the time is added to the job's API phase.
 */
export async function timeApiCall<T>(backend: string, operation: string, call: () => Promise<T>): Promise<T> {
  const job = currentJob();
  const attributes = backendAttributes(backend, { [ATTRIBUTES.operation]: operation });
  const span = tracer().startSpan(
    `workerkit.api ${operation}`,
    { kind: otelApi().SpanKind.CLIENT, attributes },
    job?.context,
  );
  const started = performance.now();
  let outcome = 'ok';
  try {
    return await call();
  } catch (error) {
    outcome = 'error';
    span.setStatus({ code: otelApi().SpanStatusCode.ERROR, message: String(error) });
    throw error;
  } finally {
    const elapsed = performance.now() - started;
    if (job) job.apiCallMs += elapsed;
    instruments().apiCallDuration.record(elapsed, { ...attributes, [ATTRIBUTES.outcome]: outcome });
    span.end();
  }
}

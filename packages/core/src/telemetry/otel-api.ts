import { createRequire } from 'node:module';

type OpenTelemetryApi = typeof import('@opentelemetry/api');

let api: OpenTelemetryApi | undefined;

/**
 * `@opentelemetry/api`, loaded on the first metric or span rather than with core: loading it
 * costs ~40 ms, which every `workerkit backends` and every import of a backend would otherwise
 * pay. Loaded with `require` because the callers are synchronous; the API is one object per
 * process whichever way it is loaded (its globals sit under `Symbol.for` keys), so an SDK the
 * application registers through `import` is the one seen here.
 */
export function otelApi(): OpenTelemetryApi {
  api ??= createRequire(import.meta.url)('@opentelemetry/api') as OpenTelemetryApi;
  return api;
}

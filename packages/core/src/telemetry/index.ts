export type { RateLimiterKind } from './api-telemetry.js';
export {
  recordApiCallAdmitted,
  recordApiThrottled,
  recordRateLimitFallback,
  timeApiCall,
} from './api-telemetry.js';
export type { JobPhase } from './instrumented-provider.js';
export { instrumentProvider } from './instrumented-provider.js';
export {
  ATTRIBUTES as TELEMETRY_ATTRIBUTES,
  METRICS as TELEMETRY_METRICS,
  TELEMETRY_SCOPE,
} from './instruments.js';
export type { StartPhase } from './job-telemetry.js';
export { markStartPhase } from './job-telemetry.js';

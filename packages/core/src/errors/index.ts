export { InvalidConfigError } from './invalid-config-error.js';
export { JobAbortError } from './job-abort-error.js';
export { MissingEndpointConfigError } from './missing-endpoint-config-error.js';
export { ProviderApiError } from './provider-api-error.js';
export { StaleVmError } from './stale-vm-error.js';
export { TraceNotFoundError } from './trace-not-found-error.js';
export { TraceNotImplementedError } from './trace-not-implemented-error.js';
export { UnknownBackendError } from './unknown-backend-error.js';
export { hasMarker, markerSymbol, WorkerkitError } from './workerkit-error.js';

import { registerBackend } from '@workerkit/core';
import { gceOptions } from './gce-options.js';
import { createGceProvider } from './gce-provider.js';

export type { CallOptions as GceCallOptions } from './gce-client.js';
export { GceApi, gceClientOptions } from './gce-client.js';
export {
  gceApiError,
  gceOperationError,
  isZoneCapacityError,
  parseSdkError,
  ZONE_CAPACITY_CODES,
} from './gce-errors.js';
export { GceInstance } from './gce-instance.js';
export type { GceMachineChoice, InstanceSpecInput } from './gce-instance-spec.js';
export { buildInstance, chooseMachine, instanceName, renderStartupScript } from './gce-instance-spec.js';
export type { GceOptions, GceServiceAccount } from './gce-options.js';
export { GCE_VM_SIZES, gceOptions, parseGceOptions, UNSUPPORTED_GCE_OPTIONS } from './gce-options.js';
export { createGceProvider, GceProvider } from './gce-provider.js';
export type { GceRateLimiterOptions } from './gce-rate-limiter.js';
export { createGceRateLimiter, GCE_RATE_LIMIT_NAME, GceRateLimiter } from './gce-rate-limiter.js';

registerBackend({
  alias: 'gce',
  humanReadableName: 'Google Compute Engine',
  packageName: '@workerkit/backend-gce',
  providerHelp: gceOptions.help(),
  create: (config, context) => createGceProvider(config, context),
});

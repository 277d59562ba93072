import { registerBackend } from '@workerkit/core';
import { gceOptions } from './gce-options.js';
import { createGceProvider } from './gce-provider.js';

// Types only from the SDK's side: importing this package must not load @google-cloud/compute.
export type { CallOptions as GceCallOptions, GceApi } from './gce-client.js';
export type { GceErrorClass } from './gce-errors.js';
export {
  GceApiError,
  gceErrorClass,
  gceOperationError,
  isZoneCapacityError,
  parseSdkError,
  toGceApiError,
  ZONE_CAPACITY_CODES,
} from './gce-errors.js';
export type { HostKeySource } from './gce-host-keys.js';
export { HOST_KEYS_BEGIN, HOST_KEYS_END, hostKeysFromSerialOutput } from './gce-host-keys.js';
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

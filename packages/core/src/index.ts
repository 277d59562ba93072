export type {
  DefineOptionsSettings,
  OptionSpec,
  OptionsDefinition,
  ParsedOptions,
} from './config/define-options.js';
export { defineOptions, option } from './config/define-options.js';
export type { OptionType } from './config/option-types.js';
export { optionTypes } from './config/option-types.js';
export { OPTIONS_TABLE_END, OPTIONS_TABLE_START, withOptionsTable } from './config/options-table.js';
export type { ConfigOrigin } from './config/provider-config.js';
export { ProviderConfig } from './config/provider-config.js';
export type {
  StandardSchemaIssue,
  StandardSchemaProps,
  StandardSchemaResult,
  StandardSchemaV1,
} from './config/standard-schema.js';
export * from './errors/index.js';
export type { FleetLinkOptions, FleetOptionValues } from './fleet/fleet-link.js';
export { dynamicConfigTtl, FleetLink, fleetLinkFor } from './fleet/fleet-link.js';
export { fleetOptions } from './fleet/fleet-options.js';
export type {
  FleetModule,
  FleetRateLimiter,
  FleetRateLimiterOptions,
  FleetSession,
  FleetSessionOptions,
} from './fleet/fleet-session.js';
export { FLEET_PACKAGE, loadFleetModule, registerFleetModule } from './fleet/fleet-session.js';
export type { OwnerLeaseState, OwnerLeaseStore, WithOwnerLeases } from './fleet/owner-leases.js';
export { leaseOwnerId, withLeaseStates } from './fleet/owner-leases.js';
export type { RedisUrl } from './fleet/redis-url.js';
export { parseRedisUrl, REDIS_URL_EXPECTED, redactRedisUrl } from './fleet/redis-url.js';
export { hostnameFromJob } from './hostname.js';
export type { ApiImageSelectorOptions } from './image/api-image-selector.js';
export { ApiImageSelector, apiImageQueryLines } from './image/api-image-selector.js';
export { createImageSelector } from './image/create-image-selector.js';
export { EnvImageSelector, envImageCandidates } from './image/env-image-selector.js';
export type { ImageSelector, ImageSelectParams } from './image/image-selector.js';
export { imageSelectParams } from './image/image-selector.js';
export type { LifecycleInfo } from './lifecycle/labels.js';
export {
  DEFAULT_EXPIRY_GRACE_MS,
  DEFAULT_HARD_TIMEOUT_MS,
  defaultOwnerId,
  expiryFor,
  LIFECYCLE_LABELS,
  lifecycleLabels,
  readLifecycleLabels,
} from './lifecycle/labels.js';
export type { ManagedResource } from './lifecycle/managed-resource.js';
export type { OwnerLiveness, ReapDecision, ReapOptions } from './lifecycle/reap.js';
export { localOwnerLiveness, reap, reapReason } from './lifecycle/reap.js';
export type { Logger } from './logger.js';
export { silentLogger, stderrLogger } from './logger.js';
export type { OutputSink } from './output.js';
export { OutputMeter, OutputWriteError } from './output.js';
export type { ProgressEntry, Progresser, ProgressState } from './progress/progress-entry.js';
export { nullProgresser } from './progress/progress-entry.js';
export { renderProgress, TextProgresser } from './progress/text-progresser.js';
export type { Instance, Provider, RunOptions, SignalOptions, StartOptions } from './provider.js';
export type { BackendDefinition, ProviderContext } from './registry.js';
export {
  eachBackend,
  getBackend,
  newBackendProvider,
  providerContext,
  registerBackend,
  toProviderConfig,
  unregisterBackend,
} from './registry.js';
export type { CompletedRun, IncompleteReason, IncompleteRun, RunResult } from './run-result.js';
export { exitedBySignal } from './run-result.js';
export type { StartAttributeDefaults, StartAttributes, VmConfig } from './start-attributes.js';
export {
  DOCKER_MIN_SUPPORTED_API_VERSION,
  START_ATTRIBUTE_DEFAULTS,
  withDefaults,
} from './start-attributes.js';
export * from './telemetry/index.js';
export {
  abortable,
  abortedByTimeout,
  HardTimeoutError,
  sleep,
  whenAborted,
  withHardTimeout,
} from './util/abort.js';
export { asBool } from './util/as-bool.js';
export type { BackoffOptions } from './util/backoff.js';
export { backoffDelay, retryWithBackoff } from './util/backoff.js';
export { closestWord, editDistance } from './util/closest-word.js';
export { formatDuration, parseDuration } from './util/duration.js';
export { str2map } from './util/str2map.js';

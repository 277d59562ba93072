export type { GceEmulator, GceEmulatorCalls, GceEmulatorInstance } from './gce-emulator.js';
export { startGceEmulator } from './gce-emulator.js';
export type {
  FaultTimes,
  GceFault,
  GuestFault,
  HttpFault,
  InsertOperationFault,
  ZoneExhaustedFault,
} from './gce-emulator-faults.js';
export { GceEmulatorFaults } from './gce-emulator-faults.js';
export type { ResourceFilter } from './gce-emulator-filter.js';
export { FilterSyntaxError, parseFilter } from './gce-emulator-filter.js';
export { parseSshKeys } from './gce-emulator-metadata.js';
export { gceSshdGuestBooter } from './gce-emulator-sshd.js';
export type { GceEmulatorTimings, GceTimingProfile, MsRange } from './gce-emulator-timing.js';
export { DEFAULT_TIME_FACTOR as GCE_DEFAULT_TIME_FACTOR } from './gce-emulator-timing.js';
export type {
  GceEmulatorImage,
  GceEmulatorOptions,
  GceGuest,
  GceGuestBooter,
  GceGuestHost,
  GceGuestSpec,
  GceInstanceStatus,
} from './gce-emulator-types.js';
export { GCE_INSTANCE_STATUSES } from './gce-emulator-types.js';

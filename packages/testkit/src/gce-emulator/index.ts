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
export type {
  GceEmulatorImage,
  GceEmulatorOptions,
  GceGuest,
  GceGuestBooter,
  GceGuestSpec,
  GceInstanceStatus,
} from './gce-emulator-types.js';

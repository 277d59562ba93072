export type { Ec2Emulator, Ec2EmulatorOptions } from './ec2-emulator.js';
export { startEc2Emulator } from './ec2-emulator.js';
export type {
  EmulatedBlockDevice,
  EmulatedImage,
  EmulatedInstance,
  EmulatedKeyPair,
  EmulatedSecurityGroup,
  EmulatedSubnet,
  InstanceStateName,
} from './ec2-emulator-types.js';
export { INSTANCE_STATE_CODES } from './ec2-emulator-types.js';
export type { CapacityFault, Ec2Action, Ec2ErrorSpec, LaunchFailureCode } from './ec2-faults.js';
export { EC2_ACTIONS, Ec2Faults } from './ec2-faults.js';
export type { Ec2Guest, Ec2GuestBooter, Ec2GuestSpec } from './ec2-guest.js';
export { ec2SshdGuestBooter } from './ec2-guest.js';
export type { SpotInterruption } from './ec2-instance-lifecycle.js';
export type { EmulatedInstanceType } from './ec2-instance-types.js';
export { DEFAULT_INSTANCE_TYPES } from './ec2-instance-types.js';
export type { GeneratedKeyMaterial as Ec2KeyMaterial } from './ec2-key-material.js';
export { generateKeyMaterial as generateEc2KeyMaterial } from './ec2-key-material.js';
export type { DurationRange, Ec2TimingProfile, Ec2Timings } from './ec2-timing.js';
export {
  DEFAULT_TIME_FACTOR as EC2_DEFAULT_TIME_FACTOR,
  REALISTIC_TIMINGS as EC2_REALISTIC_TIMINGS,
} from './ec2-timing.js';

export type { Ec2Emulator, Ec2EmulatorOptions } from './ec2-emulator.js';
export { startEc2Emulator } from './ec2-emulator.js';
export type {
  EmulatedImage,
  EmulatedInstance,
  EmulatedKeyPair,
  InstanceStateName,
} from './ec2-emulator-types.js';
export { INSTANCE_STATE_CODES } from './ec2-emulator-types.js';
export type { CapacityFault, Ec2Action, Ec2ErrorSpec } from './ec2-faults.js';
export { EC2_ACTIONS, Ec2Faults } from './ec2-faults.js';
export type { Ec2Guest, Ec2GuestBooter, Ec2GuestSpec } from './ec2-guest.js';
export { ec2SshdGuestBooter } from './ec2-guest.js';
export type { GeneratedKeyMaterial as Ec2KeyMaterial } from './ec2-key-material.js';
export { generateKeyMaterial as generateEc2KeyMaterial } from './ec2-key-material.js';

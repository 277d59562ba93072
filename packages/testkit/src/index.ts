export { RecordingSink } from './conformance/recording-sink.js';
export type { ConformanceJob } from './conformance/scripts.js';
export { allBytesBuffer, conformanceJobs, largeOutputDigest } from './conformance/scripts.js';
export * from './docker/index.js';
export * from './ec2-emulator/index.js';
export * from './gce-emulator/index.js';
export { installLoopbackGuard, isLoopbackAddress, NonLoopbackConnectionError } from './loopback-guard.js';
export * from './sshd/index.js';

export { RecordingSink } from './conformance/recording-sink.js';
export { allBytesBuffer, conformanceScripts, largeOutputDigest } from './conformance/scripts.js';
export { installLoopbackGuard, isLoopbackAddress, NonLoopbackConnectionError } from './loopback-guard.js';

export type { EngineFault, EngineProxy, EngineRequest } from './engine-proxy.js';
export { startEngineProxy } from './engine-proxy.js';
export type { DockerdHandle, EnsureDockerdOptions } from './ensure-dockerd.js';
export { ensureDockerd, installDockerPackages, pingDocker } from './ensure-dockerd.js';
export type { DockerTarget } from './test-images.js';
export {
  buildBusyboxImage,
  buildSshdImage,
  buildTermIgnoringImage,
  hasImage,
  importRootfs,
  TRAVIS_UID,
} from './test-images.js';

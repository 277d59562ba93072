import { registerBackend } from '@workerkit/core';
import { dockerOptions } from './docker-options.js';
import { DockerProvider } from './docker-provider.js';

export type { CpuSetLease } from './cpu-set-allocator.js';
export { CpuSetAllocator } from './cpu-set-allocator.js';
export type { ContainerSpecInput, SshEndpoint } from './docker-container-spec.js';
export { containerLabels, containerNameFor, containerSpec } from './docker-container-spec.js';
export type { DockerImageChoice } from './docker-image-selection.js';
export { DockerImageSelection, tagCandidates } from './docker-image-selection.js';
export { DockerInstance } from './docker-instance.js';
export { NATIVE_SCRIPT_PATH, TRACE_PATH } from './docker-native-channel.js';
export type { DockerEndpoint, DockerOptions, PortRange } from './docker-options.js';
export { DOCKER_ALIAS, dockerOptions, parseBytes, parseDockerOptions } from './docker-options.js';
export { createDockerProvider, DockerProvider } from './docker-provider.js';

registerBackend({
  alias: 'docker',
  humanReadableName: 'Docker',
  packageName: '@workerkit/backend-docker',
  providerHelp: dockerOptions.help(),
  create: (config, context) => new DockerProvider(config, context),
});

import { registerBackend } from '@workerkit/core';
import { localOptions } from './local-options.js';
import { LocalProvider } from './local-provider.js';

export { LocalInstance } from './local-instance.js';
export type { LocalOptions } from './local-options.js';
export { localOptions, parseLocalOptions } from './local-options.js';
export { createLocalProvider, LocalProvider } from './local-provider.js';

registerBackend({
  alias: 'local',
  humanReadableName: 'Local',
  packageName: '@workerkit/backend-local',
  providerHelp: localOptions.help(),
  create: (config, context) => new LocalProvider(config, context),
});

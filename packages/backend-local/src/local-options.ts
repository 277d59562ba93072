import { defineOptions, option, optionTypes, type ProviderConfig } from '@workerkit/core';

export const localOptions = defineOptions('local', {
  SCRIPTS_DIR: option(optionTypes.string(), {
    description:
      'directory where generated scripts will be written; each instance gets its own fresh subdirectory (default: the system temp dir)',
  }),
  SHELL: option(optionTypes.string(), {
    description: 'program that runs the build script, given the script path as its only argument',
    default: 'bash',
  }),
  KILL_GRACE: option(optionTypes.duration(), {
    description: 'time between SIGTERM and SIGKILL when a run is cancelled or times out',
    default: '2s',
  }),
});

export type LocalOptions = ReturnType<typeof localOptions.parse>;

/** Reads and checks the local backend's options; throws `InvalidConfigError` naming a bad one. */
export function parseLocalOptions(config: ProviderConfig): LocalOptions {
  return localOptions.parse(config);
}

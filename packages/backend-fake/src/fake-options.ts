import { defineOptions, option, optionTypes, type ProviderConfig } from '@workerkit/core';

export const fakeOptions = defineOptions('fake', {
  LOG_OUTPUT: option(optionTypes.string(), { description: 'faked log output to write' }),
  RUN_SLEEP: option(optionTypes.duration(), {
    description: 'faked runtime sleep duration (cut short when the run is aborted)',
  }),
  ERROR: option(optionTypes.string(), {
    description: 'error out all jobs (useful for testing requeue storms); only the exact value "true" does',
  }),
  STARTUP_DURATION: option(optionTypes.duration(), {
    description: 'startup duration to report for each instance (no time is spent)',
  }),
  EXIT_CODE: option(optionTypes.int({ min: 0, max: 255 }), {
    description: 'exit code every run reports',
    default: '0',
  }),
});

export type FakeOptions = ReturnType<typeof fakeOptions.parse>;

/** Reads and checks the fake backend's options; throws `InvalidConfigError` naming a bad one. */
export function parseFakeOptions(config: ProviderConfig): FakeOptions {
  return fakeOptions.parse(config);
}

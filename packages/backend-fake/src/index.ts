import { registerBackend } from '@workerkit/core';
import { fakeOptions } from './fake-options.js';
import { FakeProvider } from './fake-provider.js';

export { FakeInstance } from './fake-instance.js';
export type { FakeCall, FakeJob } from './fake-job.js';
export type { FakeOptions } from './fake-options.js';
export { fakeOptions, parseFakeOptions } from './fake-options.js';
export { createFakeProvider, FakeProvider } from './fake-provider.js';

registerBackend({
  alias: 'fake',
  humanReadableName: 'Fake',
  packageName: '@workerkit/backend-fake',
  providerHelp: fakeOptions.help(),
  create: (config, context) => new FakeProvider(config, context),
});

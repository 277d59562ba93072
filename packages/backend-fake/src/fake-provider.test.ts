import { providerConformanceSuite } from '@workerkit/testkit/conformance';
import { createFakeProvider, type FakeProvider } from './fake-provider.js';

let provider: FakeProvider;

providerConformanceSuite({
  name: 'fake',
  createProvider: () => {
    provider = createFakeProvider();
    return provider;
  },
  // The fake runs no shell: it is told what each job prints and replays it through the same
  // streaming, abort and lifecycle paths a real provider uses.
  prepareJob: (job) =>
    provider.enqueue({
      output: job.output,
      exitCode: job.exitCode,
      hangs: job.hangs,
      trace: job.trace,
      // Long enough for the suite's aborts at 1 and 25 ms to land mid-start.
      startDelayMs: 100,
    }),
  trace: 'supported',
});

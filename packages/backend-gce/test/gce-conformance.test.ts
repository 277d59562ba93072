import type { GceEmulator } from '@workerkit/testkit';
import { providerConformanceSuite } from '@workerkit/testkit/conformance';
import { gceTestEnv } from './gce-test-env.js';

let emulator: GceEmulator | undefined;

providerConformanceSuite({
  name: 'gce on the GCE emulator',
  async createProvider() {
    // A boot clock of a few ms per step, so aborts at 1/25/250 ms land before, during and after the insert.
    const env = await gceTestEnv({
      emulator: { timings: { provisioningMs: 20, stagingMs: 20, stoppingMs: 10 } },
    });
    emulator = env.emulator;
    return env.provider;
  },
  trace: 'supported',
  async afterAll() {
    await emulator?.stop();
  },
});

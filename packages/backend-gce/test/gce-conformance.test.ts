import { GCE_DEFAULT_TIME_FACTOR, type GceEmulator } from '@workerkit/testkit';
import { providerConformanceSuite } from '@workerkit/testkit/conformance';
import { gceTestEnv } from './gce-test-env.js';

let emulator: GceEmulator | undefined;

providerConformanceSuite({
  name: 'gce on the GCE emulator',
  async createProvider() {
    // The realistic profile at its default scale (one Google second = 10 ms): inserts of
    // 50-300 ms, sshd 100-400 ms after RUNNING, so aborts at 1/25/250 ms land before and during the insert.
    const env = await gceTestEnv({ emulator: { profile: 'realistic', timeFactor: GCE_DEFAULT_TIME_FACTOR } });
    emulator = env.emulator;
    return env.provider;
  },
  trace: 'supported',
  async afterAll() {
    await emulator?.stop();
  },
});

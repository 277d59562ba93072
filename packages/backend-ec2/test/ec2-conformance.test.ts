import type { Ec2Emulator } from '@workerkit/testkit';
import { providerConformanceSuite } from '@workerkit/testkit/conformance';
import { startEmulatedProvider } from './ec2-test-helpers.js';

let emulator: Ec2Emulator | undefined;

providerConformanceSuite({
  name: 'ec2 on the EC2 emulator',
  async createProvider() {
    const setup = await startEmulatedProvider();
    emulator = setup.emulator;
    return setup.provider;
  },
  trace: 'supported',
  async afterAll() {
    await emulator?.stop();
  },
});

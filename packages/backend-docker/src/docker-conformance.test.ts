import { providerConformanceSuite } from '@workerkit/testkit/conformance';
import { BUSYBOX_IMAGE, nativeProvider } from '../test/docker-test-env.js';

providerConformanceSuite({
  name: 'docker (native exec, busybox image, network none)',
  createProvider: () => nativeProvider('conformance'),
  startAttributes: {
    imageName: BUSYBOX_IMAGE,
    jobId: '4242',
    repository: 'workerkit/conformance-native',
    hardTimeoutMs: 5 * 60_000,
  },
  trace: 'supported',
});

import { buildBusyboxImage, buildSshdImage, buildTermIgnoringImage, ensureDockerd } from '@workerkit/testkit';
import type { TestProject } from 'vitest/node';

/**
 * One Docker Engine for the whole run: the one at DOCKER_HOST / the default socket, or a
 * private dockerd (stopped at the end). The test images are built once.
 */
export default async function setup(project: TestProject) {
  const daemon = await ensureDockerd();
  await buildBusyboxImage(daemon, 'workerkit-test/busybox:latest');
  await buildSshdImage(daemon, 'workerkit-test/sshd:latest');
  await buildTermIgnoringImage(daemon, 'workerkit-test/ignores-term:latest');
  project.provide('dockerSocket', daemon.socketPath);
  return async () => {
    await daemon.stop();
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    dockerSocket: string;
  }
}

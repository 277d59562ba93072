import { buildBusyboxImage, buildSshdImage, ensureDockerd, hasImage, pingDocker } from '@workerkit/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { BUSYBOX_IMAGE, dockerSocket, SSHD_IMAGE } from '../test/docker-test-env.js';

describe('testkit docker harness (what these tests stand on)', () => {
  const saved = process.env.DOCKER_HOST;
  afterEach(() => {
    if (saved === undefined) delete process.env.DOCKER_HOST;
    else process.env.DOCKER_HOST = saved;
  });

  it('uses a daemon that answers at DOCKER_HOST instead of starting one, and leaves it running', async () => {
    process.env.DOCKER_HOST = `unix://${dockerSocket()}`;
    const daemon = await ensureDockerd({ install: false });
    expect(daemon).toMatchObject({ socketPath: dockerSocket(), private: false, pid: undefined });
    await daemon.stop();
    expect(await pingDocker(dockerSocket())).toBe(true);
  });

  it('pings only a socket where a daemon answers', async () => {
    expect(await pingDocker(dockerSocket())).toBe(true);
    expect(await pingDocker('/tmp/workerkit-no-daemon-here.sock')).toBe(false);
  });

  it('builds each test image once and reuses it by name', async () => {
    const target = { socketPath: dockerSocket() };
    expect(await hasImage(target, BUSYBOX_IMAGE)).toBe(true);
    expect(await buildBusyboxImage(target, BUSYBOX_IMAGE)).toEqual({ name: BUSYBOX_IMAGE, built: false });
    expect(await buildSshdImage(target, SSHD_IMAGE)).toEqual({ name: SSHD_IMAGE, built: false });
    expect(await hasImage(target, 'workerkit-test/never-built:1')).toBe(false);
  });
});

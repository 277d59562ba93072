import type Docker from 'dockerode';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CollectingSink,
  dockerClient,
  expectNoContainerLeft,
  jobAttributes,
  killEvents,
  nativeProvider,
  TERM_IGNORING_IMAGE,
} from '../test/docker-test-env.js';
import type { DockerInstance } from './index.js';

const SCOPE = 'stop';
const docker = dockerClient();

afterEach(() => expectNoContainerLeft(SCOPE));

/** The signals the daemon sent the container's processes (its `kill` events), in order. */
async function signalsSent(containerId: string, since: number): Promise<string[]> {
  return (await killEvents(docker, containerId, since)).map((event) => event.signal);
}

async function oneLineJob(
  extra: Record<string, string>,
): Promise<{ instance: DockerInstance; stopMs: number }> {
  const provider = nativeProvider(SCOPE, extra);
  const instance = (await provider.start(
    jobAttributes(SCOPE, { imageName: TERM_IGNORING_IMAGE }),
  )) as DockerInstance;
  try {
    await instance.uploadScript('echo hello\n');
    const sink = new CollectingSink();
    expect(await instance.runScript(sink)).toMatchObject({ completed: true, exitCode: 0 });
    expect(sink.text).toBe('hello\n');
    const began = performance.now();
    await instance.stop();
    return { instance, stopMs: performance.now() - began };
  } finally {
    await instance.stop();
    await provider.close();
  }
}

async function expectGone(instance: DockerInstance): Promise<void> {
  const answer = await docker
    .getContainer(instance.containerId)
    .inspect()
    .then(
      (info: Docker.ContainerInspectInfo) => info.State.Status,
      (error: { statusCode?: number }) => error.statusCode,
    );
  expect(answer).toBe(404);
}

describe('docker provider: a job ends when its script ends, whatever PID 1 does with SIGTERM', () => {
  it('by default the container is killed and removed at once: no SIGTERM, no grace period', async () => {
    const since = Date.now() - 1000;
    const { instance } = await oneLineJob({});
    await expectGone(instance);
    // Only SIGKILL: a SIGTERM would mean a graceful stop that this PID 1 sits out (the daemon's
    // default grace is 10 s). This, not the stop's wall time, shows no grace period was spent.
    expect(await signalsSent(instance.containerId, since)).toEqual(['9']);
  });

  it('STOP_TIMEOUT asks for a grace period: SIGTERM first, the kill after it', async () => {
    const since = Date.now() - 1000;
    const { instance, stopMs } = await oneLineJob({ STOP_TIMEOUT: '1s' });
    await expectGone(instance);
    expect(await signalsSent(instance.containerId, since)).toEqual(['15', '9']);
    expect(stopMs).toBeGreaterThanOrEqual(900);
  });

  it('a stop whose signal aborts during the grace period kills and removes at once', async () => {
    // Not cut short, the grace period would last 10 minutes: far past the bound and the test's timeout.
    const provider = nativeProvider(SCOPE, { STOP_TIMEOUT: '600s' });
    const instance = (await provider.start(
      jobAttributes(SCOPE, { imageName: TERM_IGNORING_IMAGE }),
    )) as DockerInstance;
    const began = performance.now();
    await instance.stop({ signal: AbortSignal.timeout(300) });
    await provider.close();
    await expectGone(instance);
    expect(performance.now() - began).toBeLessThan(20_000);
  });
});

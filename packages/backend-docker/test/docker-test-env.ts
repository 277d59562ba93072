import type { StartAttributes } from '@workerkit/core';
import Docker from 'dockerode';
import { expect, inject } from 'vitest';
import { createDockerProvider, type DockerProvider } from '../src/index.js';
import './global-setup.js';

export const BUSYBOX_IMAGE = 'workerkit-test/busybox:latest';
export const SSHD_IMAGE = 'workerkit-test/sshd:latest';
/** busybox whose PID 1 ignores SIGTERM (a shell loop with `trap '' TERM`), as many CI images'. */
export const TERM_IGNORING_IMAGE = 'workerkit-test/ignores-term:latest';

export function dockerSocket(): string {
  return inject('dockerSocket');
}

export function dockerClient(): Docker {
  return new Docker({ socketPath: dockerSocket() });
}

/**
 * The signals the daemon sent a container's processes (its `kill` events), in order, each with
 * the daemon's own time of sending: the gap between two is the daemon's timer, not this process's.
 */
export async function killEvents(
  docker: Docker,
  containerId: string,
  since: number,
): Promise<{ signal: string; atMs: number }[]> {
  const stream = await docker.getEvents({
    since: Math.floor(since / 1000),
    until: Math.ceil(Date.now() / 1000) + 1,
    filters: { container: [containerId], event: ['kill'] },
  });
  let text = '';
  for await (const chunk of stream) text += String(chunk);
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const event = JSON.parse(line) as { timeNano: number; Actor: { Attributes: Record<string, string> } };
      return { signal: event.Actor.Attributes.signal!, atMs: event.timeNano / 1e6 };
    });
}

/**
 * Options for a native-mode provider on the test daemon: busybox image, network none, and a
 * label that scopes this test file's containers (files share the daemon and run in parallel).
 */
export function nativeConfig(scope: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    ENDPOINT: `unix://${dockerSocket()}`,
    NATIVE: 'true',
    EXEC_CMD: 'sh /home/travis/build.sh',
    NETWORK_MODE: 'none',
    CPUS: '0',
    INSPECT_INTERVAL: '100ms',
    CONTAINER_LABELS: `workerkit-test:${scope}`,
    ...extra,
  };
}

export function nativeProvider(scope: string, extra: Record<string, string> = {}): DockerProvider {
  return createDockerProvider(nativeConfig(scope, extra), { ownerId: `test-${scope}` });
}

let jobCounter = 0;

/** Attributes with a job id unique to this file and test, so container names never collide. */
export function jobAttributes(scope: string, extra: Partial<StartAttributes> = {}): StartAttributes {
  jobCounter += 1;
  return {
    imageName: BUSYBOX_IMAGE,
    jobId: `${process.pid}${jobCounter}`,
    repository: `workerkit/${scope}`,
    hardTimeoutMs: 5 * 60_000,
    ...extra,
  };
}

/**
 * For `afterEach`: every test, passing or failing, must leave no container of its scope behind.
 * Leftovers are removed before the check fails, so one failure does not fail the tests after it.
 */
export async function expectNoContainerLeft(scope: string): Promise<void> {
  const left = await scopedContainers(scope);
  await Promise.all(
    left.map((container) =>
      dockerClient()
        .getContainer(container.Id)
        .remove({ force: true })
        .catch(() => {}),
    ),
  );
  expect(left.map((container) => container.Names)).toEqual([]);
}

/** Every container on the daemon carrying this scope's label, running or not. */
export async function scopedContainers(scope: string): Promise<Docker.ContainerInfo[]> {
  return dockerClient().listContainers({ all: true, filters: { label: [`workerkit-test=${scope}`] } });
}

/**
 * A sink collecting copies of everything written. It keeps no chunk it was given, so native runs
 * lend it their reused read buffer (the raw exec connection); the conformance suite's sink keeps
 * chunks and covers dockerode's stream.
 */
export class CollectingSink {
  readonly retainsChunks = false;
  readonly chunks: Buffer[] = [];
  write(chunk: Uint8Array): boolean {
    this.chunks.push(Buffer.from(chunk));
    return true;
  }
  get text(): string {
    return Buffer.concat(this.chunks).toString();
  }
}

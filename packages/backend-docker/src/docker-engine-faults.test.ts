import { ProviderApiError } from '@workerkit/core';
import { type EngineProxy, type EngineRequest, RecordingLogger, startEngineProxy } from '@workerkit/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  CollectingSink,
  dockerClient,
  dockerSocket,
  expectNoContainerLeft,
  jobAttributes,
  nativeConfig,
} from '../test/docker-test-env.js';
import { createDockerProvider, type DockerInstance, type DockerProvider } from './index.js';

/**
 * Failures only a daemon can produce, injected by a proxy in front of the real daemon: the
 * provider talks to the proxy, which forwards everything else unchanged.
 */
const SCOPE = 'engine-faults';
const CONTAINER = '[0-9a-f]{64}';
const docker = dockerClient();
let proxy: EngineProxy;

beforeAll(async () => {
  proxy = await startEngineProxy(dockerSocket());
});
afterAll(() => proxy.close());

afterEach(() => expectNoContainerLeft(SCOPE));

function proxiedProvider(extra: Record<string, string>, logger = new RecordingLogger()): DockerProvider {
  return createDockerProvider(
    nativeConfig(SCOPE, { ENDPOINT: `unix://${proxy.socketPath}`, CPUS: '1', CPU_SET_SIZE: '2', ...extra }),
    { ownerId: `test-${SCOPE}`, logger },
  );
}

async function isGone(containerId: string): Promise<boolean> {
  const answer = await docker
    .getContainer(containerId)
    .inspect()
    .catch((e: unknown) => e);
  return (answer as { statusCode?: number }).statusCode === 404;
}

describe('docker provider: daemon faults (injected by a proxy in front of the real daemon)', () => {
  it('INSPECT_INTERVAL paces the readiness inspections while the container is not running yet', async () => {
    const provider = proxiedProvider({ INSPECT_INTERVAL: '1s' });
    proxy.inject({
      method: 'GET',
      path: new RegExp(`^/containers/${CONTAINER}/json$`),
      times: 2,
      rewrite: (body) => {
        const info = body as { State: Record<string, unknown> };
        return { ...info, State: { ...info.State, Running: false, Status: 'created' } };
      },
    });
    const seen = proxy.requests.length;
    const instance = (await provider.start(jobAttributes(SCOPE))) as DockerInstance;
    try {
      const inspects = proxy.requests
        .slice(seen)
        .filter((r) => r.method === 'GET' && r.path === `/containers/${instance.containerId}/json`);
      expect(inspects).toHaveLength(3);
      const pairs: [EngineRequest, EngineRequest][] = [
        [inspects[0]!, inspects[1]!],
        [inspects[1]!, inspects[2]!],
      ];
      for (const [earlier, later] of pairs) {
        // A second apart: not back to back, and not the 500 ms default (a lower bound holds on
        // a loaded machine too).
        expect(later.at - earlier.at).toBeGreaterThanOrEqual(990);
        expect(later.at - earlier.at).toBeLessThan(10_000);
      }
    } finally {
      await instance.stop();
      await provider.close();
    }
  });

  it('a graceful stop (STOP_TIMEOUT) the daemon fails is logged, and the container is still force-removed with its CPU set back', async () => {
    const logger = new RecordingLogger();
    const provider = proxiedProvider({ STOP_TIMEOUT: '5s' }, logger);
    const instance = (await provider.start(jobAttributes(SCOPE))) as DockerInstance;
    proxy.inject({
      method: 'POST',
      path: new RegExp(`^/containers/${instance.containerId}/stop$`),
      times: 1,
      status: 500,
      message: 'injected: cannot stop',
    });
    await instance.stop();
    expect(await isGone(instance.containerId)).toBe(true);
    expect(provider.freeCpus).toBe(2);
    expect(logger.lines).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        message: 'docker: stopping the container failed; removing it by force',
        fields: expect.objectContaining({ error: 'injected: cannot stop' }),
      }),
    );
    await provider.close();
  });

  it('a removal the daemon fails rejects the stop; the CPU set is held until a later stop removes it', async () => {
    const provider = proxiedProvider({});
    const instance = (await provider.start(jobAttributes(SCOPE))) as DockerInstance;
    proxy.inject({
      method: 'DELETE',
      path: new RegExp(`^/containers/${instance.containerId}$`),
      times: 1,
      status: 500,
      message: 'injected: cannot remove',
    });
    const error = await instance.stop().catch((e: unknown) => e);
    expect(ProviderApiError.isInstance(error)).toBe(true);
    expect(String(error)).toMatch(/container remove failed: HTTP 500: injected: cannot remove/);
    expect((error as ProviderApiError).retryable).toBe(true);
    expect(provider.freeCpus).toBe(1);
    await instance.stop();
    expect(await isGone(instance.containerId)).toBe(true);
    expect(provider.freeCpus).toBe(2);
    await provider.close();
  });

  // Without a TTY the script travels with the run (exec stdin): the upload only checks that no
  // script is in place yet. With a TTY it is an archive upload.
  it.each([
    { tty: 'false', method: 'GET', step: /script upload \(stat\) failed: HTTP 500: injected: disk full/ },
    { tty: 'true', method: 'PUT', step: /script upload failed: HTTP 500: injected: disk full/ },
  ])(
    'an upload the daemon fails rejects with a retryable error naming the step (TTY=$tty: $method archive)',
    async ({ tty, method, step }) => {
      const provider = proxiedProvider({ TTY: tty });
      const instance = (await provider.start(jobAttributes(SCOPE))) as DockerInstance;
      try {
        proxy.inject({
          method,
          path: new RegExp(`^/containers/${instance.containerId}/archive$`),
          times: 1,
          status: 500,
          message: 'injected: disk full',
        });
        const error = await instance.uploadScript('echo hi\n').catch((e: unknown) => e);
        expect(String(error)).toMatch(step);
        expect((error as ProviderApiError).retryable).toBe(true);
      } finally {
        await instance.stop();
        await provider.close();
      }
    },
  );

  it('an exec the daemon fails is an incomplete run (provider-error), not a thrown error', async () => {
    const provider = proxiedProvider({});
    const instance = (await provider.start(jobAttributes(SCOPE))) as DockerInstance;
    try {
      await instance.uploadScript('echo hi\n');
      proxy.inject({
        method: 'POST',
        path: new RegExp(`^/containers/${instance.containerId}/exec$`),
        times: 1,
        status: 500,
        message: 'injected: exec refused',
      });
      const result = await instance.runScript(new CollectingSink());
      expect(result).toMatchObject({ completed: false, reason: 'provider-error' });
      expect(result.completed === false && result.message).toMatch(
        /starting the script failed: injected: exec refused/,
      );
    } finally {
      await instance.stop();
      await provider.close();
    }
  });

  it.each([
    ['the exec create', 'POST', (id: string) => new RegExp(`^/containers/${id}/exec$`), false],
    ['the exec start, own connection', 'POST', () => /^\/exec\/\w+\/start$/, false],
    ['the exec start, dockerode stream', 'POST', () => /^\/exec\/\w+\/start$/, true],
    ['the exit-code inspect', 'GET', () => /^\/exec\/\w+\/json$/, false],
  ] as const)(
    'a daemon that never answers %s cannot hold a run past its hard timeout',
    async (_step, method, path, sinkKeepsChunks) => {
      const provider = proxiedProvider({});
      const instance = (await provider.start(jobAttributes(SCOPE))) as DockerInstance;
      try {
        await instance.uploadScript('echo hi\n');
        proxy.inject({ method, path: path(instance.containerId), times: 1, hang: true });
        // CollectingSink keeps no chunk (own connection); a plain sink may keep them (dockerode's stream).
        const sink = sinkKeepsChunks ? { write: () => true } : new CollectingSink();
        const began = Date.now();
        const result = await instance.runScript(sink, { hardTimeoutMs: 1500 });
        expect(result).toMatchObject({ completed: false, reason: 'hard-timeout' });
        // The hung call never answers: a run it held would last until the test's timeout.
        expect(Date.now() - began).toBeLessThan(20_000);
      } finally {
        await instance.stop();
        await provider.close();
      }
    },
  );

  it('an abort reaches a start whose container start the daemon never answers, and nothing is left', async () => {
    const provider = proxiedProvider({});
    proxy.inject({
      method: 'POST',
      path: new RegExp(`^/containers/${CONTAINER}/start$`),
      times: 1,
      hang: true,
    });
    const began = Date.now();
    const error = await provider
      .start(jobAttributes(SCOPE), { signal: AbortSignal.timeout(500) })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).name).toBe('TimeoutError');
    // The container start never answers: a start the abort did not reach would hang until the test's timeout.
    expect(Date.now() - began).toBeLessThan(20_000);
    expect(provider.freeCpus).toBe(2);
    await provider.close();
  });

  it('a job runs through the proxy unchanged (hijacked exec streams pass both ways)', async () => {
    const provider = proxiedProvider({});
    const instance = (await provider.start(jobAttributes(SCOPE))) as DockerInstance;
    try {
      // Docker copies stdout and stderr separately: only output apart in time keeps its order.
      await instance.uploadScript('echo out; sleep 0.2; echo err >&2; exit 4\n');
      const sink = new CollectingSink();
      expect(await instance.runScript(sink)).toMatchObject({ completed: true, exitCode: 4 });
      expect(sink.text).toBe('out\nerr\n');
    } finally {
      await instance.stop();
      await provider.close();
    }
  });
});

import { ProviderApiError, reap } from '@workerkit/core';
import { RecordingLogger } from '@workerkit/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BUSYBOX_IMAGE,
  CollectingSink,
  dockerClient,
  expectNoContainerLeft,
  jobAttributes,
  nativeConfig,
  scopedContainers,
} from '../test/docker-test-env.js';
import { createDockerProvider, type DockerInstance, type DockerProvider } from './index.js';

const SCOPE = 'warm';
const docker = dockerClient();

function warmProvider(extra: Record<string, string> = {}, logger = new RecordingLogger()): DockerProvider {
  return createDockerProvider(nativeConfig(SCOPE, { WARM_CONTAINERS: '1', ...extra }), {
    ownerId: `test-${SCOPE}`,
    logger,
  });
}

/** The ids of this file's containers on the daemon. */
async function containerIds(): Promise<string[]> {
  return (await scopedContainers(SCOPE)).map((container) => container.Id);
}

afterEach(() => expectNoContainerLeft(SCOPE));

describe('docker provider: WARM_CONTAINERS', () => {
  it("a job takes a warm container, with the job's name and CPU set; its stop refills the pool; close removes it", async () => {
    const provider = warmProvider({ CPUS: '1', CPU_SET_SIZE: '2' });
    try {
      await provider.prewarm(jobAttributes(SCOPE));
      expect(provider.warmCount).toBe(1);
      const [warmId] = await containerIds();
      const attributes = jobAttributes(SCOPE);
      const entries: string[] = [];
      const instance = (await provider.start(attributes, {
        progress: { progress: (entry) => entries.push(entry.message) },
      })) as DockerInstance;
      expect(instance.containerId).toBe(warmId);
      expect(entries).toContain(`claimed warm container ${warmId!.slice(0, 7)}`);
      expect(entries.some((entry) => entry.startsWith('creating container'))).toBe(false);
      const info = await docker.getContainer(warmId!).inspect();
      expect(info.Name).toBe(`/${instance.containerName}`);
      expect(instance.containerName).toBe(`travis-job-workerkit-${SCOPE}-${attributes.jobId}`);
      expect(info.HostConfig.CpusetCpus).toMatch(/^[01]$/);
      expect(provider.freeCpus).toBe(1);
      await instance.uploadScript('echo "from $(id -un)"; exit 3\n');
      const sink = new CollectingSink();
      expect(await instance.runScript(sink)).toMatchObject({ completed: true, exitCode: 3 });
      expect(sink.text).toBe('from travis\n');
      await instance.stop();
      expect(provider.freeCpus).toBe(2);
      await provider.whenWarmPoolIdle();
      expect(provider.warmCount).toBe(1);
      const after = await containerIds();
      expect(after).toHaveLength(1);
      expect(after).not.toContain(warmId);
    } finally {
      await provider.close();
    }
    expect(await containerIds()).toEqual([]);
  });

  it('warm containers carry the owner and a 24-hour expiry, so gc collects them when their worker dies', async () => {
    const provider = warmProvider();
    try {
      await provider.prewarm(jobAttributes(SCOPE));
      const [resource] = await provider.listManagedResources();
      expect(resource).toMatchObject({ kind: 'container', ownerId: `test-${SCOPE}` });
      expect(resource!.jobId).toBeUndefined();
      const hours = (resource!.expiresAt!.getTime() - Date.now()) / 3_600_000;
      expect(hours).toBeGreaterThan(23.9);
      expect(hours).toBeLessThanOrEqual(24);
      expect(String(resource!.details?.name)).toMatch(/^workerkit-warm-[0-9a-f]{12}$/);
      const decisions = await reap(provider, { isOwnerAlive: () => false });
      expect(decisions.map((d) => [d.why, d.deleted])).toEqual([['owner-gone', true]]);
      expect(await containerIds()).toEqual([]);
    } finally {
      await provider.close();
    }
  });

  it('a leftover of the same job is removed before the warm container takes its name', async () => {
    const attributes = jobAttributes(SCOPE);
    const provider = warmProvider();
    try {
      const leftover = (await provider.start(attributes)) as DockerInstance;
      await provider.prewarm(attributes);
      const instance = (await provider.start(attributes)) as DockerInstance;
      expect(instance.containerId).not.toBe(leftover.containerId);
      expect(await containerIds()).toEqual([instance.containerId]);
      await instance.stop();
      await leftover.stop();
    } finally {
      await provider.close();
    }
    expect(await containerIds()).toEqual([]);
  });

  it('a foreign container holding the name fails the start clearly, and the warm container is removed', async () => {
    const attributes = jobAttributes(SCOPE);
    const foreign = await docker.createContainer({
      name: `travis-job-workerkit-${SCOPE}-${attributes.jobId}`,
      Image: BUSYBOX_IMAGE,
      Cmd: ['true'],
      Labels: { 'workerkit-test': `${SCOPE}-foreign` },
    });
    const provider = warmProvider();
    try {
      await provider.prewarm(attributes);
      const error = await provider.start(attributes).catch((e: unknown) => e);
      expect(ProviderApiError.isInstance(error)).toBe(true);
      expect(String(error)).toMatch(/container rename failed: HTTP 409/);
      expect((await foreign.inspect()).Id).toBe(foreign.id);
      await provider.whenWarmPoolIdle();
    } finally {
      await foreign.remove({ force: true });
      await provider.close();
    }
    expect(await containerIds()).toEqual([]);
  });

  it('a warm container that died is removed and the job starts cold', async () => {
    const logger = new RecordingLogger();
    const provider = warmProvider({}, logger);
    try {
      await provider.prewarm(jobAttributes(SCOPE));
      const [warmId] = await containerIds();
      await docker.getContainer(warmId!).kill();
      await docker.getContainer(warmId!).wait();
      const instance = (await provider.start(jobAttributes(SCOPE))) as DockerInstance;
      expect(instance.containerId).not.toBe(warmId);
      expect(await containerIds()).toEqual([instance.containerId]);
      expect(logger.lines.map((line) => line.message)).toContain(
        'docker: a warm container could not take the job; trying the next',
      );
      await instance.stop();
    } finally {
      await provider.close();
    }
    expect(await containerIds()).toEqual([]);
  });

  it('a job whose hard timeout outlasts the warm label starts cold and leaves the warm container ready', async () => {
    const provider = warmProvider();
    try {
      await provider.prewarm(jobAttributes(SCOPE));
      const [warmId] = await containerIds();
      const instance = (await provider.start(
        jobAttributes(SCOPE, { hardTimeoutMs: 25 * 60 * 60_000 }),
      )) as DockerInstance;
      expect(instance.containerId).not.toBe(warmId);
      expect(provider.warmCount).toBe(1);
      await instance.stop();
    } finally {
      await provider.close();
    }
    expect(await containerIds()).toEqual([]);
  });

  it('a warm container that cannot start is logged; the job starts cold and reports the error itself', async () => {
    const logger = new RecordingLogger();
    const provider = warmProvider({ CMD: '/no/such/init' }, logger);
    try {
      await provider.prewarm(jobAttributes(SCOPE));
      expect(provider.warmCount).toBe(0);
      expect(logger.lines.map((line) => line.message)).toContain(
        'docker: starting a warm container failed; jobs start cold',
      );
      const error = await provider.start(jobAttributes(SCOPE)).catch((e: unknown) => e);
      expect(String(error)).toMatch(/container start failed: HTTP \d+: .*no\/such\/init/);
      await provider.whenWarmPoolIdle();
      expect(await containerIds()).toEqual([]);
    } finally {
      await provider.close();
    }
  });

  it('an abort right after the claim rejects, removes the claimed container and returns the CPU set', async () => {
    const provider = warmProvider({ CPUS: '1', CPU_SET_SIZE: '2' });
    try {
      await provider.prewarm(jobAttributes(SCOPE));
      const [warmId] = await containerIds();
      const controller = new AbortController();
      const reason = new Error('aborted after the claim');
      const error = await provider
        .start(jobAttributes(SCOPE), {
          signal: controller.signal,
          progress: {
            progress: (entry) => {
              if (entry.message.startsWith('claimed warm container')) controller.abort(reason);
            },
          },
        })
        .catch((e: unknown) => e);
      expect(error).toBe(reason);
      expect(provider.freeCpus).toBe(2);
      await provider.whenWarmPoolIdle();
      expect(await containerIds()).not.toContain(warmId);
    } finally {
      await provider.close();
    }
    expect(await containerIds()).toEqual([]);
  });

  it('is rejected in ssh mode, before anything is created', () => {
    expect(() => warmProvider({ NATIVE: 'false' })).toThrow(
      /WARM_CONTAINERS.*0 unless NATIVE=true \(ssh mode puts a per-job key into each container before it starts\)/,
    );
  });
});

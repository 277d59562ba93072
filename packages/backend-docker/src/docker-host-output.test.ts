import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProviderApiError, reap } from '@workerkit/core';
import { providerConformanceSuite } from '@workerkit/testkit/conformance';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  BUSYBOX_IMAGE,
  CollectingSink,
  dockerClient,
  expectNoContainerLeft,
  jobAttributes,
  nativeConfig,
  scopedContainers,
} from '../test/docker-test-env.js';
import { CONTAINER_OUTPUT_DIR, ORPHAN_AFTER_MS, OUTPUT_DIR_LABEL } from './host-output.js';
import { createDockerProvider, type DockerInstance, type DockerProvider } from './index.js';

const SCOPE = 'host-output';
const docker = dockerClient();
const root = mkdtempSync(join(tmpdir(), 'workerkit-host-output-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function outputProvider(extra: Record<string, string> = {}): DockerProvider {
  return createDockerProvider(nativeConfig(SCOPE, { HOST_OUTPUT_DIR: root, ...extra }), {
    ownerId: `test-${SCOPE}`,
  });
}

providerConformanceSuite({
  name: 'docker (native mode, HOST_OUTPUT_DIR)',
  createProvider: () =>
    createDockerProvider(nativeConfig('host-output-conformance', { HOST_OUTPUT_DIR: root }), {
      ownerId: 'test-host-output',
    }),
  startAttributes: {
    imageName: BUSYBOX_IMAGE,
    jobId: '4444',
    repository: 'workerkit/conformance-host-output',
    hardTimeoutMs: 5 * 60_000,
  },
  largeOutputBytes: 20_000_000,
  trace: 'supported',
});

afterEach(() => expectNoContainerLeft(SCOPE));

describe('docker provider: HOST_OUTPUT_DIR', () => {
  it('binds a directory of its own read-only, keeps stdout and stderr in exact order, and removes it on stop', async () => {
    const provider = outputProvider();
    await provider.setup();
    const instance = (await provider.start(jobAttributes(SCOPE))) as DockerInstance;
    let dir: string;
    try {
      const info = await docker.getContainer(instance.containerId).inspect();
      dir = info.Config.Labels[OUTPUT_DIR_LABEL]!;
      expect(dir.startsWith(`${root}/wk-`)).toBe(true);
      expect(info.HostConfig.Binds).toContain(`${dir}:${CONTAINER_OUTPUT_DIR}:ro`);
      // Docker's exec stream copies stdout and stderr separately; through one FIFO they keep
      // the order the script wrote them in.
      await instance.uploadScript(
        'i=0; while [ $i -lt 300 ]; do i=$((i+1)); echo "out $i"; echo "err $i" >&2; done; touch /var/lib/workerkit-output/x 2>/dev/null && echo writable; exit 7\n',
      );
      const sink = new CollectingSink();
      expect(await instance.runScript(sink)).toMatchObject({ completed: true, exitCode: 7 });
      const expected = Array.from({ length: 300 }, (_, i) => `out ${i + 1}\nerr ${i + 1}\n`).join('');
      expect(sink.text).toBe(expected);
      // The run's FIFO is gone once it ended.
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      await instance.stop();
      await provider.close();
    }
    expect(existsSync(dir)).toBe(false);
  });

  it('a script that cannot open the FIFO ends with sh’s message instead of hanging', async () => {
    const provider = outputProvider();
    const instance = (await provider.start(jobAttributes(SCOPE))) as DockerInstance;
    try {
      const dir = (await docker.getContainer(instance.containerId).inspect()).Config.Labels[
        OUTPUT_DIR_LABEL
      ]!;
      chmodSync(dir, 0o700); // travis may no longer reach it
      await instance.uploadScript('echo never\n');
      const sink = new CollectingSink();
      const result = await instance.runScript(sink);
      expect(result.completed && result.exitCode).not.toBe(0);
      expect(sink.text).toMatch(/can't create|Permission denied/);
      expect(sink.text).not.toContain('never');
    } finally {
      await instance.stop();
      await provider.close();
    }
  });

  it('TTY=true runs keep the exec’s terminal stream', async () => {
    const provider = outputProvider({ TTY: 'true' });
    const instance = (await provider.start(jobAttributes(SCOPE))) as DockerInstance;
    try {
      await instance.uploadScript('echo tty\n');
      const sink = new CollectingSink();
      expect(await instance.runScript(sink)).toMatchObject({ completed: true, exitCode: 0 });
      expect(sink.text).toBe('tty\r\n');
    } finally {
      await instance.stop();
      await provider.close();
    }
  });

  it('warm containers get their directory too, removed with them', async () => {
    const provider = outputProvider({ WARM_CONTAINERS: '1' });
    try {
      await provider.prewarm(jobAttributes(SCOPE));
      const [warm] = await scopedContainers(SCOPE);
      const dir = warm!.Labels[OUTPUT_DIR_LABEL]!;
      expect(existsSync(dir)).toBe(true);
      const instance = (await provider.start(jobAttributes(SCOPE))) as DockerInstance;
      await instance.uploadScript('echo warm\n');
      const sink = new CollectingSink();
      expect(await instance.runScript(sink)).toMatchObject({ completed: true, exitCode: 0 });
      expect(sink.text).toBe('warm\n');
      await instance.stop();
      expect(existsSync(dir)).toBe(false);
      await provider.whenWarmPoolIdle();
    } finally {
      await provider.close();
    }
    expect(readdirSync(root).filter((name) => name.startsWith('wk-'))).toEqual([]);
  });

  it('gc removes a container with its directory, and directories left without one once they are old', async () => {
    const provider = outputProvider();
    const instance = (await provider.start(jobAttributes(SCOPE))) as DockerInstance;
    const fresh = mkdtempSync(join(root, 'wk-'));
    const old = mkdtempSync(join(root, 'wk-'));
    const past = (Date.now() - ORPHAN_AFTER_MS - 60_000) / 1000;
    utimesSync(old, past, past);
    writeFileSync(join(root, 'not-ours'), '');
    try {
      const listed = await provider.listManagedResources();
      const container = listed.find((r) => r.kind === 'container')!;
      const dir = container.details!.outputDir!;
      expect(existsSync(dir)).toBe(true);
      expect(listed.filter((r) => r.kind === 'directory').map((r) => r.id)).toEqual([old]);
      const decisions = await reap(provider, {
        isOwnerAlive: (owner) => (owner === `test-${SCOPE}` ? false : undefined),
      });
      expect(decisions.map((d) => [d.resource.kind, d.why, d.deleted]).sort()).toEqual([
        ['container', 'owner-gone', true],
        ['directory', 'expired', true],
      ]);
      expect(existsSync(dir)).toBe(false);
      expect(existsSync(old)).toBe(false);
      expect(existsSync(fresh)).toBe(true);
      expect(existsSync(join(root, 'not-ours'))).toBe(true);
      const outside = await provider
        .deleteManagedResource({ kind: 'directory', id: '/etc' })
        .catch((e: unknown) => e);
      expect(ProviderApiError.isInstance(outside)).toBe(true);
      expect(existsSync('/etc')).toBe(true);
    } finally {
      await instance.stop();
      await provider.close();
      rmSync(fresh, { recursive: true, force: true });
      rmSync(join(root, 'not-ours'), { force: true });
    }
  });

  it('setup fails clearly when HOST_OUTPUT_DIR cannot be a directory', async () => {
    const file = join(root, 'a-file');
    writeFileSync(file, '');
    const provider = outputProvider({ HOST_OUTPUT_DIR: file });
    try {
      const error = await provider.setup().catch((e: unknown) => e);
      expect(ProviderApiError.isInstance(error)).toBe(true);
      expect(String(error)).toContain(`HOST_OUTPUT_DIR ${file} cannot hold the output FIFOs`);
    } finally {
      await provider.close();
      rmSync(file);
    }
  });

  it('a start whose HOST_OUTPUT_DIR cannot hold a directory fails clearly and creates nothing', async () => {
    const file = join(root, 'not-a-dir');
    writeFileSync(file, '');
    const provider = outputProvider({ HOST_OUTPUT_DIR: join(file, 'sub') });
    try {
      const error = await provider.start(jobAttributes(SCOPE)).catch((e: unknown) => e);
      expect(ProviderApiError.isInstance(error)).toBe(true);
      expect(String(error)).toContain(`cannot make a directory under HOST_OUTPUT_DIR ${file}/sub`);
      expect(await scopedContainers(SCOPE)).toEqual([]);
    } finally {
      await provider.close();
      rmSync(file);
    }
  });

  it.each([
    [{ HOST_OUTPUT_DIR: 'relative/dir' }, /HOST_OUTPUT_DIR.*an absolute directory path/],
    [{ NATIVE: 'false' }, /HOST_OUTPUT_DIR.*to be unset unless NATIVE=true/],
    [{ ENDPOINT: 'tcp://127.0.0.1:2375' }, /HOST_OUTPUT_DIR.*the daemon must run on this host/],
  ])('rejects %o before anything is created', (extra, pattern) => {
    expect(() => outputProvider(extra)).toThrow(pattern);
  });
});

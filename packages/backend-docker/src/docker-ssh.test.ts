import { createServer } from 'node:net';
import { SshNotReadyError } from '@workerkit/ssh';
import { providerConformanceSuite } from '@workerkit/testkit/conformance';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CollectingSink,
  dockerClient,
  dockerSocket,
  jobAttributes,
  SSHD_IMAGE,
} from '../test/docker-test-env.js';
import { createDockerProvider, type DockerInstance } from './index.js';

/**
 * SSH mode on host networking: each container's sshd listens on its own port of a loopback
 * address (SSH_ADDRESS + an SSH_PORT range, handed to sshd through CMD placeholders); the
 * provider installs a fresh host key and login key into each container before it starts.
 */
const SSH_ADDRESS = '127.0.44.1';
const SSH_PORTS = `${20_200 + (process.pid % 50) * 10}-${20_209 + (process.pid % 50) * 10}`;

function sshConfig(scope: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    ENDPOINT: `unix://${dockerSocket()}`,
    NATIVE: 'false',
    NETWORK_MODE: 'host',
    CMD: '/usr/sbin/start-sshd -p {ssh_port} -o ListenAddress={ssh_address}',
    EXEC_CMD: 'sh /home/travis/build.sh',
    SSH_ADDRESS,
    SSH_PORT: SSH_PORTS,
    SSH_READY_TIMEOUT: '20s',
    CPUS: '0',
    CONTAINER_LABELS: `workerkit-test:${scope}`,
    ...extra,
  };
}

providerConformanceSuite({
  name: 'docker (ssh mode, sshd image, network host)',
  createProvider: () => createDockerProvider(sshConfig('ssh-conformance'), { ownerId: 'test-ssh' }),
  startAttributes: {
    imageName: SSHD_IMAGE,
    jobId: '4343',
    repository: 'workerkit/conformance-ssh',
    hardTimeoutMs: 5 * 60_000,
  },
  largeOutputBytes: 20_000_000,
  trace: 'supported',
});

describe('docker ssh mode', () => {
  const provider = createDockerProvider(sshConfig('ssh'), { ownerId: 'test-ssh' });
  afterAll(() => provider.close());

  it('hands each container its own port and address through CMD, and reports ssh progress', async () => {
    const messages: string[] = [];
    const first = (await provider.start(jobAttributes('ssh', { imageName: SSHD_IMAGE }), {
      progress: { progress: (entry) => messages.push(entry.message) },
    })) as DockerInstance;
    const second = (await provider.start(jobAttributes('ssh', { imageName: SSHD_IMAGE }))) as DockerInstance;
    try {
      const docker = dockerClient();
      const [a, b] = await Promise.all(
        [first, second].map((instance) => docker.getContainer(instance.containerId).inspect()),
      );
      const portOf = (cmd: string[]) => Number(cmd[cmd.indexOf('-p') + 1]);
      expect(a!.Config.Cmd).toContain(`ListenAddress=${SSH_ADDRESS}`);
      expect(portOf(a!.Config.Cmd)).not.toBe(portOf(b!.Config.Cmd));
      expect(a!.Config.Env).toContain(`WORKERKIT_SSH_PORT=${portOf(a!.Config.Cmd)}`);
      expect(a!.HostConfig.NetworkMode).toBe('host');
      expect(messages.some((m) => m.startsWith(`ssh to ${SSH_ADDRESS}:`))).toBe(true);
    } finally {
      await first.stop();
      await second.stop();
    }
  });

  it('skips a port of the range that another program holds', async () => {
    const last = Number(SSH_PORTS.split('-')[1]);
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(last - 1, SSH_ADDRESS, resolve));
    const narrow = createDockerProvider(sshConfig('ssh', { SSH_PORT: `${last - 1}-${last}` }), {
      ownerId: 'test-ssh',
    });
    try {
      const instance = (await narrow.start(
        jobAttributes('ssh', { imageName: SSHD_IMAGE }),
      )) as DockerInstance;
      const info = await dockerClient().getContainer(instance.containerId).inspect();
      await instance.stop();
      expect(info.Config.Cmd).toContain(String(last));
      // Both ports held (one by us, one by the squatter): a retryable error, nothing created.
      const held = (await narrow.start(jobAttributes('ssh', { imageName: SSHD_IMAGE }))) as DockerInstance;
      const error = await narrow
        .start(jobAttributes('ssh', { imageName: SSHD_IMAGE }))
        .catch((e: unknown) => e);
      await held.stop();
      expect(String(error)).toContain(`no free ssh port in ${last - 1}-${last}`);
    } finally {
      squatter.close();
      await narrow.close();
    }
    expect(await provider.listManagedResources()).toEqual([]);
  });

  it('runs EXEC_CMD as travis over ssh with the proxy variables', async () => {
    const proxied = createDockerProvider(sshConfig('ssh', { HTTPS_PROXY: "http://127.0.0.1:3128/it's" }), {
      ownerId: 'test-ssh',
    });
    const instance = await proxied.start(jobAttributes('ssh', { imageName: SSHD_IMAGE }));
    try {
      await instance.uploadScript('id -un\necho "$HTTPS_PROXY|$https_proxy"\npwd\n');
      const sink = new CollectingSink();
      expect(await instance.runScript(sink)).toMatchObject({ completed: true, exitCode: 0 });
      expect(sink.text).toBe("travis\nhttp://127.0.0.1:3128/it's|http://127.0.0.1:3128/it's\n/home/travis\n");
    } finally {
      await instance.stop();
      await proxied.close();
    }
    expect(await provider.listManagedResources()).toEqual([]);
  });

  it('a container that exits before sshd accepts a login fails the start at once with its output', async () => {
    const broken = createDockerProvider(
      sshConfig('ssh', { CMD: 'sh -c {ssh_port}', SSH_READY_TIMEOUT: '60s' }),
      { ownerId: 'test-ssh' },
    );
    const began = Date.now();
    // `sh -c <port>`: "sh: <port>: not found", exit code 127, a moment after the start.
    const error = await broken
      .start(jobAttributes('ssh', { imageName: SSHD_IMAGE }))
      .catch((e: unknown) => e);
    await broken.close();
    expect(String(error)).toMatch(/exit code 127\).*not found/);
    expect(Date.now() - began).toBeLessThan(15_000);
    expect(await provider.listManagedResources()).toEqual([]);
  });

  it('SSH_DIAL_TIMEOUT bounds each login attempt when the port accepts TCP but never speaks SSH', async () => {
    // busybox nc accepts every connection and runs a silent `sleep` on it.
    const silent = createDockerProvider(
      sshConfig('ssh', {
        CMD: 'nc -ll -p {ssh_port} -e sleep 1000',
        SSH_DIAL_TIMEOUT: '300ms',
        SSH_READY_TIMEOUT: '2000ms',
      }),
      { ownerId: 'test-ssh' },
    );
    const attempts: string[] = [];
    const began = Date.now();
    const error = await silent
      .start(jobAttributes('ssh', { imageName: SSHD_IMAGE }), {
        progress: {
          progress: (entry) => {
            if (entry.raw) attempts.push(entry.message);
          },
        },
      })
      .catch((e: unknown) => e);
    await silent.close();
    expect(SshNotReadyError.isInstance(error), String(error)).toBe(true);
    // The last attempt gets what is left of the 2 s, at most the 300 ms dial timeout: with the
    // default 5 s dial timeout it would be given all that is left (whatever the machine's load).
    const lastAttemptMs = /no SSH handshake within (\d+) ms/.exec(String((error as SshNotReadyError).cause));
    expect(Number(lastAttemptMs?.[1])).toBeLessThanOrEqual(300);
    // An attempt ended and was retried before the deadline (one unbounded attempt takes all 2 s).
    expect(attempts.length).toBeGreaterThanOrEqual(1);
    // Without SSH_READY_TIMEOUT it would wait the default 60 s.
    expect(Date.now() - began).toBeLessThan(20_000);
    expect(await provider.listManagedResources()).toEqual([]);
  });

  it('an sshd that never comes up fails the start within SSH_READY_TIMEOUT and removes the container', async () => {
    const broken = createDockerProvider(
      sshConfig('ssh', { CMD: '/sbin/init', SSH_READY_TIMEOUT: '1500ms' }),
      {
        ownerId: 'test-ssh',
      },
    );
    const began = Date.now();
    const error = await broken
      .start(jobAttributes('ssh', { imageName: SSHD_IMAGE }))
      .catch((e: unknown) => e);
    await broken.close();
    expect(error).toBeInstanceOf(Error);
    // Without SSH_READY_TIMEOUT it would wait the default 60 s.
    expect(Date.now() - began).toBeLessThan(20_000);
    expect(await provider.listManagedResources()).toEqual([]);
  });
});

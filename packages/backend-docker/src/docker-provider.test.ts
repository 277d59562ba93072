import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  LIFECYCLE_LABELS,
  newBackendProvider,
  ProviderApiError,
  reap,
  StaleVmError,
  TraceNotFoundError,
} from '@workerkit/core';
import type Docker from 'dockerode';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  BUSYBOX_IMAGE,
  CollectingSink,
  dockerClient,
  expectNoContainerLeft,
  jobAttributes,
  killEvents,
  nativeConfig,
  nativeProvider,
  scopedContainers,
} from '../test/docker-test-env.js';
import { createDockerProvider, type DockerInstance, type DockerProvider } from './index.js';

const SCOPE = 'provider';
const docker = dockerClient();

async function inspectStarted(
  extra: Record<string, string>,
  attributes = jobAttributes(SCOPE),
): Promise<{ info: Docker.ContainerInspectInfo; instance: DockerInstance; provider: DockerProvider }> {
  const provider = nativeProvider(SCOPE, extra);
  const instance = (await provider.start(attributes)) as DockerInstance;
  const info = await docker.getContainer(instance.containerId).inspect();
  return { info, instance, provider };
}

async function withStarted(
  extra: Record<string, string>,
  check: (info: Docker.ContainerInspectInfo, instance: DockerInstance) => Promise<void> | void,
  attributes = jobAttributes(SCOPE),
): Promise<void> {
  const { info, instance, provider } = await inspectStarted(extra, attributes);
  try {
    await check(info, instance);
  } finally {
    await instance.stop();
    await provider.close();
  }
}

async function run(
  instance: DockerInstance,
  script: string,
): Promise<{ text: string; exitCode: number | undefined }> {
  await instance.uploadScript(script);
  const sink = new CollectingSink();
  const result = await instance.runScript(sink);
  expect(result.completed).toBe(true);
  return { text: sink.text, exitCode: result.exitCode };
}

afterEach(() => expectNoContainerLeft(SCOPE));

describe('docker provider: options applied to the container (verified with inspect)', () => {
  it('names the container from the job and labels it as Go did plus the lifecycle labels', async () => {
    const attributes = jobAttributes(SCOPE, {
      dist: 'focal',
      repository: 'Some_Owner/My.Repo',
      hardTimeoutMs: 120_000,
    });
    const before = Date.now();
    const busyboxId = (await docker.getImage(BUSYBOX_IMAGE).inspect()).Id;
    await withStarted(
      { CONTAINER_LABELS: 'team:ci,pool:blue' },
      (info, instance) => {
        expect(info.Name).toBe(`/travis-job-some-owner-my-repo-${attributes.jobId}`);
        expect(info.Config.Hostname).toBe(`travis-job-some-owner-my-repo-${attributes.jobId}`);
        expect(info.Config.Domainname).toBe('travisci.net');
        const labels = info.Config.Labels;
        expect(labels).toMatchObject({
          'travis.dist': 'focal',
          'travis.repo': 'Some_Owner/My.Repo',
          'travis.job_id': attributes.jobId,
          team: 'ci',
          pool: 'blue',
          [LIFECYCLE_LABELS.managed]: 'true',
          [LIFECYCLE_LABELS.owner]: `test-${SCOPE}`,
          [LIFECYCLE_LABELS.job]: attributes.jobId,
        });
        const expires = Number(labels[LIFECYCLE_LABELS.expiresAt]) * 1000;
        expect(expires).toBeGreaterThanOrEqual(before + 120_000);
        expect(expires).toBeLessThan(Date.now() + 120_000 + 16 * 60_000);
        expect(instance.id).toBe(info.Id.slice(0, 7));
        expect(instance.imageName).toBe(BUSYBOX_IMAGE);
        // image_name from the job is what is sent (Go sent an empty image ID here).
        expect(info.Image).toBe(busyboxId);
        expect(info.Config.Cmd).toEqual(['/sbin/init']);
      },
      attributes,
    );
  });

  it('applies MEMORY, SHM and TMPFS_MAP', async () => {
    await withStarted(
      { MEMORY: '96MiB', SHM: '32MiB', TMPFS_MAP: '/run:rw,exec,size=1m+/scratch:rw,size=2m' },
      async (info, instance) => {
        expect(info.HostConfig.Memory).toBe(96 * 2 ** 20);
        expect(info.HostConfig.ShmSize).toBe(32 * 2 ** 20);
        expect(info.HostConfig.Tmpfs).toEqual({ '/run': 'rw,exec,size=1m', '/scratch': 'rw,size=2m' });
        const { text } = await run(instance, "grep -E ' /(scratch|dev/shm) ' /proc/mounts | sort\n");
        expect(text).toMatch(/ \/dev\/shm tmpfs .*size=32768k/);
        expect(text).toMatch(/tmpfs \/scratch tmpfs .*size=2048k/);
      },
    );
  });

  it('MEMORY=0 and SHM=0 leave the limits unset', async () => {
    await withStarted({ MEMORY: '0', SHM: '0' }, (info) => {
      expect(info.HostConfig.Memory).toBe(0);
      expect(info.HostConfig.ShmSize).toBe(64 * 2 ** 20);
    });
  });

  it('applies SECURITY_OPT', async () => {
    await withStarted({ SECURITY_OPT: 'seccomp=unconfined no-new-privileges' }, async (info, instance) => {
      expect(info.HostConfig.SecurityOpt).toEqual(['seccomp=unconfined', 'no-new-privileges']);
      expect((await run(instance, "grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status\n")).text).toBe(
        'NoNewPrivs:\t1\nSeccomp:\t0\n',
      );
    });
  });

  it('applies PRIVILEGED', async () => {
    await withStarted({}, (info) => {
      expect(info.HostConfig.Privileged).toBe(false);
    });
    // A privileged container needs every capability; where the daemon itself runs confined (as
    // in some CI sandboxes) runc cannot grant them and the start fails: the request still has
    // to carry Privileged, and the failed start must leave nothing behind.
    const provider = nativeProvider(SCOPE, { PRIVILEGED: 'true' });
    try {
      const started = await provider.start(jobAttributes(SCOPE)).then(
        (instance) => ({ instance: instance as DockerInstance }),
        (error: unknown) => ({ error }),
      );
      if ('instance' in started) {
        const info = await docker.getContainer(started.instance.containerId).inspect();
        await started.instance.stop();
        expect(info.HostConfig.Privileged).toBe(true);
      } else {
        expect(String(started.error)).toMatch(/container start failed: .*(caps|operation not permitted)/);
      }
    } finally {
      await provider.close();
    }
  });

  it('applies BINDS', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'workerkit-bind-'));
    writeFileSync(join(dir, 'marker'), 'bound\n');
    chmodSync(dir, 0o755);
    try {
      await withStarted({ BINDS: `${dir}:/data:ro` }, async (info, instance) => {
        expect(info.HostConfig.Binds).toEqual([`${dir}:/data:ro`]);
        expect((await run(instance, 'cat /data/marker\n')).text).toBe('bound\n');
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('gives each container its own CPU set and takes it back on stop (CPUS, CPU_SET_SIZE)', async () => {
    const provider = nativeProvider(SCOPE, { CPUS: '1', CPU_SET_SIZE: '2' });
    try {
      const first = (await provider.start(jobAttributes(SCOPE))) as DockerInstance;
      const second = (await provider.start(jobAttributes(SCOPE))) as DockerInstance;
      const sets = await Promise.all(
        [first, second].map(
          async (i) => (await docker.getContainer(i.containerId).inspect()).HostConfig.CpusetCpus,
        ),
      );
      expect(sets.sort()).toEqual(['0', '1']);
      expect(provider.freeCpus).toBe(0);
      const third = await provider.start(jobAttributes(SCOPE)).catch((error: unknown) => error);
      expect(ProviderApiError.isInstance(third)).toBe(true);
      expect((third as ProviderApiError).retryable).toBe(true);
      expect(String(third)).toContain('not enough free CPU sets');
      await first.stop();
      expect(provider.freeCpus).toBe(1);
      await first.stop();
      expect(provider.freeCpus).toBe(1);
      await second.stop();
      expect(provider.freeCpus).toBe(2);
    } finally {
      await provider.close();
    }
  });

  it('CPUS=0 sets no cpuset', async () => {
    await withStarted({ CPUS: '0' }, (info) => {
      expect(info.HostConfig.CpusetCpus).toBe('');
    });
  });

  it('applies CMD and NETWORK_MODE', async () => {
    await withStarted({ CMD: 'sleep 600', NETWORK_MODE: 'none', STOP_TIMEOUT: '0s' }, (info) => {
      expect(info.Config.Cmd).toEqual(['sleep', '600']);
      expect(info.HostConfig.NetworkMode).toBe('none');
    });
    await withStarted({ NETWORK_MODE: 'host' }, (info) => {
      expect(info.HostConfig.NetworkMode).toBe('host');
      expect(info.Config.Domainname).toBe('');
    });
  });

  it('runs EXEC_CMD as travis with the proxy variables in both cases', async () => {
    await withStarted(
      {
        EXEC_CMD: 'sh -e /home/travis/build.sh',
        HTTP_PROXY: 'http://127.0.0.1:3128',
        HTTPS_PROXY: 'http://127.0.0.1:3129',
        FTP_PROXY: 'ftp://127.0.0.1:21',
        NO_PROXY: 'localhost,127.0.0.1',
      },
      async (_info, instance) => {
        const { text, exitCode } = await run(
          instance,
          'echo "$HTTP_PROXY|$http_proxy|$HTTPS_PROXY|$https_proxy|$FTP_PROXY|$ftp_proxy|$NO_PROXY|$no_proxy"\nid -un\nfalse\necho not-reached-with-e\n',
        );
        expect(text).toBe(
          'http://127.0.0.1:3128|http://127.0.0.1:3128|http://127.0.0.1:3129|http://127.0.0.1:3129|ftp://127.0.0.1:21|ftp://127.0.0.1:21|localhost,127.0.0.1|localhost,127.0.0.1\ntravis\n',
        );
        expect(exitCode).toBe(1);
      },
    );
  });

  it('uploads the script with mode 0755 to /home/travis/build.sh', async () => {
    await withStarted({}, async (_info, instance) => {
      const { text } = await run(instance, 'stat -c "%a %n" /home/travis/build.sh\n');
      expect(text).toBe('755 /home/travis/build.sh\n');
    });
  });

  it('TTY=true runs the exec with a terminal (output gets \\r\\n)', async () => {
    await withStarted({ TTY: 'true' }, async (_info, instance) => {
      const { text } = await run(instance, '[ -t 1 ] && echo tty\n');
      expect(text).toBe('tty\r\n');
    });
    await withStarted({}, async (_info, instance) => {
      const { text } = await run(instance, '[ -t 1 ] && echo tty || echo no-tty\n');
      expect(text).toBe('no-tty\n');
    });
  });

  it('STOP_TIMEOUT bounds the wait for a container that ignores SIGTERM', async () => {
    // PID 1 `sleep` ignores SIGTERM: stop waits STOP_TIMEOUT, then the container is killed and removed.
    const { instance, provider } = await inspectStarted({ CMD: 'sleep 600', STOP_TIMEOUT: '1s' });
    const began = Date.now();
    await instance.stop();
    const took = Date.now() - began;
    await provider.close();
    // The grace period was given: the stop cannot end before it.
    expect(took).toBeGreaterThanOrEqual(900);
    // The daemon killed 1 s after SIGTERM, by its own clock: without STOP_TIMEOUT it would wait
    // its default 10 s. Unlike the stop's wall time, this gap does not grow with this process's load.
    const events = await killEvents(docker, instance.containerId, began - 1000);
    expect(events.map((event) => event.signal)).toEqual(['15', '9']);
    expect(events[1]!.atMs - events[0]!.atMs).toBeLessThan(5000);
    // Waiting for PID 1 instead would last its 600 s.
    expect(took).toBeLessThan(30_000);
  });

  it('stop with an aborted signal skips the grace period and still removes the container', async () => {
    // Not skipped, the grace period would last 10 minutes: far past the bound and the test's timeout.
    const { instance, provider } = await inspectStarted({ CMD: 'sleep 600', STOP_TIMEOUT: '600s' });
    const began = Date.now();
    await instance.stop({ signal: AbortSignal.abort(new Error('shutting down')) });
    await provider.close();
    expect(Date.now() - began).toBeLessThan(20_000);
    const gone = await docker
      .getContainer(instance.containerId)
      .inspect()
      .catch((e: unknown) => e);
    expect((gone as { statusCode?: number }).statusCode).toBe(404);
  });

  it('API_VERSION is spoken, and setup rejects one the daemon does not speak', async () => {
    const provider = nativeProvider(SCOPE, { API_VERSION: '1.41' });
    await provider.setup();
    await provider.close();
    const tooNew = nativeProvider(SCOPE, { API_VERSION: '1.99' });
    const error = await tooNew.setup().catch((e: unknown) => e);
    await tooNew.close();
    expect(ProviderApiError.isInstance(error)).toBe(true);
    expect(String(error)).toContain('API_VERSION is 1.99');
  });

  it('ENDPOINT that does not answer fails setup with a retryable error', async () => {
    const provider = createDockerProvider({
      ...nativeConfig(SCOPE),
      ENDPOINT: 'unix:///tmp/workerkit-no-such.sock',
    });
    const error = await provider.setup().catch((e: unknown) => e);
    await provider.close();
    expect(ProviderApiError.isInstance(error)).toBe(true);
    expect((error as ProviderApiError).retryable).toBe(true);
  });

  it('is registered under "docker" with the generated help', () => {
    const provider = newBackendProvider('docker', nativeConfig(SCOPE));
    expect(provider.alias).toBe('docker');
    return provider.close();
  });
});

describe('docker provider: image selection', () => {
  const tagged: string[] = [];
  let imageId: string;

  beforeAll(async () => {
    imageId = (await docker.getImage(BUSYBOX_IMAGE).inspect()).Id;
    for (const [repo, tag] of [
      ['travis', 'ruby'],
      ['php', 'latest'],
      ['travis', 'default'],
    ] as const) {
      await docker.getImage(BUSYBOX_IMAGE).tag({ repo, tag });
      tagged.push(`${repo}:${tag}`);
    }
  });

  afterAll(async () => {
    for (const name of tagged) await docker.getImage(name).remove({ noprune: true });
  });

  it.each([
    ['ruby', 'travis:ruby'],
    ['php', 'php:latest'],
    ['go', 'travis:default'],
  ])('tag selector: language %s picks %s (Go candidate order)', async (language, expected) => {
    const attributes = jobAttributes(SCOPE, { language });
    delete attributes.imageName;
    await withStarted(
      { IMAGE_SELECTOR_TYPE: 'tag' },
      (info, instance) => {
        expect(instance.imageName).toBe(expected);
        expect(info.Image).toBe(imageId);
      },
      attributes,
    );
  });

  it('tag selector: no candidate fails clearly, creating nothing', async () => {
    const provider = nativeProvider(SCOPE, { IMAGE_SELECTOR_TYPE: 'tag' });
    await docker.getImage('travis:default').remove({ noprune: true });
    tagged.splice(tagged.indexOf('travis:default'), 1);
    const attributes = jobAttributes(SCOPE, { language: 'haskell' });
    delete attributes.imageName;
    const error = await provider.start(attributes).catch((e: unknown) => e);
    await provider.close();
    expect(ProviderApiError.isInstance(error)).toBe(true);
    expect(String(error)).toContain('failed to find matching docker image tag');
    expect(String(error)).toContain('travis:haskell, haskell, travis:default, default');
  });

  it('env selector uses every job attribute (IMAGE_DIST_*), and image_name from the job wins', async () => {
    const attributes = jobAttributes(SCOPE, { language: 'ruby', dist: 'focal' });
    delete attributes.imageName;
    await withStarted(
      { IMAGE_SELECTOR_TYPE: 'env', IMAGE_DIST_FOCAL_RUBY: 'travis:ruby', IMAGE_DEFAULT: 'nothing:here' },
      (info, instance) => {
        expect(instance.imageName).toBe('travis:ruby');
        expect(info.Image).toBe(imageId);
      },
      attributes,
    );
    await withStarted({ IMAGE_SELECTOR_TYPE: 'env', IMAGE_DEFAULT: 'nothing:here' }, (info, instance) => {
      expect(instance.imageName).toBe(BUSYBOX_IMAGE);
      expect(info.Image).toBe(imageId);
    });
  });

  it('api selector asks the image service', async () => {
    const bodies: string[] = [];
    const server: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      req.on('end', () => {
        bodies.push(body);
        res.setHeader('Content-Type', 'application/json');
        res.end(JSON.stringify({ data: [{ name: 'travis:ruby' }] }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const attributes = jobAttributes(SCOPE, {
      language: 'ruby',
      dist: 'jammy',
      group: 'stable',
      os: 'linux',
    });
    delete attributes.imageName;
    try {
      await withStarted(
        { IMAGE_SELECTOR_TYPE: 'api', IMAGE_SELECTOR_URL: `http://127.0.0.1:${port}/images` },
        (info, instance) => {
          expect(instance.imageName).toBe('travis:ruby');
          expect(info.Image).toBe(imageId);
        },
        attributes,
      );
    } finally {
      server.close();
    }
    expect(bodies[0]).toContain('infra=docker');
    expect(bodies[0]).toContain('dist%3Ajammy');
    expect(bodies[0]).toContain(`job_id=${attributes.jobId}`);
  });

  it('IMAGE_ALIASES resolves a stable name to an image', async () => {
    await withStarted(
      { IMAGE_ALIASES: 'tiny', IMAGE_ALIAS_TINY: BUSYBOX_IMAGE },
      (info, instance) => {
        expect(instance.imageName).toBe(BUSYBOX_IMAGE);
        expect(info.Image).toBe(imageId);
      },
      jobAttributes(SCOPE, { imageName: 'tiny' }),
    );
  });

  it('a missing image fails without creating anything', async () => {
    const provider = nativeProvider(SCOPE);
    const error = await provider
      .start(jobAttributes(SCOPE, { imageName: 'workerkit-test/missing:1' }))
      .catch((e: unknown) => e);
    await provider.close();
    expect(ProviderApiError.isInstance(error)).toBe(true);
    expect((error as ProviderApiError).code).toBe('image-not-found');
    expect(String(error)).toContain('workerkit-test/missing:1');
  });
});

describe('docker provider: failure paths leave nothing behind and return CPU sets', () => {
  async function expectStartFailure(extra: Record<string, string>, pattern: RegExp): Promise<void> {
    const provider = nativeProvider(SCOPE, { CPUS: '1', CPU_SET_SIZE: '2', ...extra });
    try {
      const error = await provider.start(jobAttributes(SCOPE)).catch((e: unknown) => e);
      expect(ProviderApiError.isInstance(error), String(error)).toBe(true);
      expect(String(error)).toMatch(pattern);
      expect(await scopedContainers(SCOPE)).toEqual([]);
      expect(provider.freeCpus).toBe(2);
    } finally {
      await provider.close();
    }
  }

  it('the daemon rejects the create (security option)', async () => {
    await expectStartFailure(
      { SECURITY_OPT: 'bogus=1' },
      /container create failed: HTTP 500: invalid --security-opt/,
    );
  });

  it('the daemon rejects the start (tmpfs option)', async () => {
    await expectStartFailure(
      { TMPFS_MAP: '/run:bogus' },
      /container start failed: HTTP 500: invalid tmpfs option/,
    );
  });

  it('the daemon cannot run CMD', async () => {
    await expectStartFailure({ CMD: '/no/such/init' }, /container start failed: HTTP \d+: .*no\/such\/init/);
  });

  it.each(['using image', 'creating container', 'container'])(
    'an abort when progress says "%s" rejects and removes everything',
    async (step) => {
      const provider = nativeProvider(SCOPE, { CPUS: '1', CPU_SET_SIZE: '2' });
      const controller = new AbortController();
      const reason = new Error(`aborted at ${step}`);
      const error = await provider
        .start(jobAttributes(SCOPE), {
          signal: controller.signal,
          progress: {
            progress: (entry) => {
              if (entry.message.startsWith(step)) controller.abort(reason);
            },
          },
        })
        .catch((e: unknown) => e);
      expect(error).toBe(reason);
      expect(await scopedContainers(SCOPE)).toEqual([]);
      expect(provider.freeCpus).toBe(2);
      await provider.close();
    },
  );

  it('exec and archive calls on a container removed behind our back fail cleanly, and stop still succeeds', async () => {
    const provider = nativeProvider(SCOPE, { CPUS: '1', CPU_SET_SIZE: '2' });
    const instance = (await provider.start(jobAttributes(SCOPE))) as DockerInstance;
    await docker.getContainer(instance.containerId).remove({ force: true });
    const upload = await instance.uploadScript('echo hi\n').catch((e: unknown) => e);
    expect(ProviderApiError.isInstance(upload)).toBe(true);
    const result = await instance.runScript(new CollectingSink());
    expect(result).toMatchObject({ completed: false, reason: 'provider-error' });
    const trace = await instance.downloadTrace().catch((e: unknown) => e);
    expect(TraceNotFoundError.isInstance(trace) || ProviderApiError.isInstance(trace)).toBe(true);
    await instance.stop();
    expect(provider.freeCpus).toBe(2);
    await provider.close();
  });

  it('an exec the daemon refuses (stopped container) is an incomplete run', async () => {
    const provider = nativeProvider(SCOPE);
    const instance = (await provider.start(jobAttributes(SCOPE))) as DockerInstance;
    try {
      await instance.uploadScript('echo hi\n');
      await docker.getContainer(instance.containerId).stop({ t: 0 });
      const result = await instance.runScript(new CollectingSink());
      expect(result).toMatchObject({ completed: false, reason: 'provider-error' });
      expect(result.completed === false && result.message).toMatch(/not running|is not running|stopped/i);
    } finally {
      await instance.stop();
      await provider.close();
    }
  });

  it('an aborted run kills every process of the script, background ones too', async () => {
    const provider = nativeProvider(SCOPE);
    const instance = (await provider.start(jobAttributes(SCOPE))) as DockerInstance;
    try {
      await instance.uploadScript('sleep 300 &\n(sleep 301; echo late) &\necho started\nsleep 302\n');
      const controller = new AbortController();
      const sink = new CollectingSink();
      const running = instance.runScript(sink, { signal: controller.signal });
      while (!sink.text.includes('started')) await new Promise((resolve) => setTimeout(resolve, 20));
      controller.abort(new Error('cancel'));
      expect(await running).toMatchObject({ completed: false, reason: 'cancelled' });
      const exec = await docker.getContainer(instance.containerId).exec({
        Cmd: ['ps', '-o', 'args'],
        AttachStdout: true,
        AttachStderr: true,
      });
      const stream = await exec.start({ hijack: true, stdin: false });
      const chunks: Buffer[] = [];
      for await (const chunk of stream) chunks.push(chunk as Buffer);
      const processes = Buffer.concat(chunks).toString();
      expect(processes).not.toMatch(/sleep 30[012]/);
    } finally {
      await instance.stop();
      await provider.close();
    }
  });

  it('a sink that throws ends the run as output-failed and kills the script', async () => {
    const provider = nativeProvider(SCOPE);
    const instance = await provider.start(jobAttributes(SCOPE));
    try {
      await instance.uploadScript('echo first\nsleep 300\n');
      const result = await instance.runScript({
        write() {
          throw new Error('disk full');
        },
      });
      expect(result).toMatchObject({ completed: false, reason: 'output-failed' });
    } finally {
      await instance.stop();
      await provider.close();
    }
  });

  it('an image that already holds build.sh is a stale VM (native stale check)', async () => {
    const provider = nativeProvider(SCOPE);
    const first = (await provider.start(jobAttributes(SCOPE))) as DockerInstance;
    // The script lands in the container with its run.
    await first.uploadScript('echo old\n');
    expect(await first.runScript(new CollectingSink())).toMatchObject({ completed: true, exitCode: 0 });
    const committed = await docker
      .getContainer(first.containerId)
      .commit({ repo: 'workerkit-test/stale', tag: 'latest' });
    await first.stop();
    try {
      const second = await provider.start(jobAttributes(SCOPE, { imageName: 'workerkit-test/stale:latest' }));
      const error = await second.uploadScript('echo new\n').catch((e: unknown) => e);
      await second.stop();
      expect(StaleVmError.isInstance(error)).toBe(true);
    } finally {
      await docker.getImage(committed.Id).remove({ force: true });
      await provider.close();
    }
  });

  it('a missing trace is TraceNotFoundError', async () => {
    await withStarted({}, async (_info, instance) => {
      await run(instance, 'true\n');
      const error = await instance.downloadTrace().catch((e: unknown) => e);
      expect(TraceNotFoundError.isInstance(error)).toBe(true);
    });
  });
});

describe('docker provider: leftovers and gc', () => {
  it('removes a leftover workerkit container of the same job first', async () => {
    const attributes = jobAttributes(SCOPE);
    const provider = nativeProvider(SCOPE);
    const leftover = (await provider.start(attributes)) as DockerInstance;
    const instance = (await provider.start(attributes)) as DockerInstance;
    try {
      expect(instance.containerId).not.toBe(leftover.containerId);
      const gone = await docker
        .getContainer(leftover.containerId)
        .inspect()
        .catch((e: unknown) => e);
      expect((gone as { statusCode?: number }).statusCode).toBe(404);
    } finally {
      await instance.stop();
      await leftover.stop();
      await provider.close();
    }
  });

  it('does not remove a foreign container holding the name; the start fails clearly', async () => {
    const attributes = jobAttributes(SCOPE);
    const name = `travis-job-workerkit-${SCOPE}-${attributes.jobId}`;
    const foreign = await docker.createContainer({
      name,
      Image: BUSYBOX_IMAGE,
      Cmd: ['true'],
      Labels: { 'workerkit-test': `${SCOPE}-foreign` },
    });
    const provider = nativeProvider(SCOPE);
    try {
      const error = await provider.start(attributes).catch((e: unknown) => e);
      expect(ProviderApiError.isInstance(error)).toBe(true);
      expect(String(error)).toMatch(/container create failed: HTTP 409/);
      expect((await foreign.inspect()).Id).toBe(foreign.id);
    } finally {
      await foreign.remove({ force: true });
      await provider.close();
    }
  });

  it('lists its containers and gc (reap) removes expired and ownerless ones only', async () => {
    const provider = nativeProvider(SCOPE);
    const live = (await provider.start(jobAttributes(SCOPE))) as DockerInstance;
    const expired = await docker.createContainer({
      Image: BUSYBOX_IMAGE,
      Cmd: ['/sbin/init'],
      HostConfig: { NetworkMode: 'none' },
      Labels: {
        'workerkit-test': SCOPE,
        [LIFECYCLE_LABELS.managed]: 'true',
        [LIFECYCLE_LABELS.owner]: 'elsewhere_1',
        [LIFECYCLE_LABELS.job]: '1',
        [LIFECYCLE_LABELS.expiresAt]: String(Math.floor(Date.now() / 1000) - 60),
      },
    });
    await expired.start();
    try {
      const listed = await provider.listManagedResources();
      expect(listed.map((r) => r.id).sort()).toEqual([live.containerId, expired.id].sort());
      const mine = listed.find((r) => r.id === live.containerId)!;
      expect(mine).toMatchObject({ kind: 'container', ownerId: `test-${SCOPE}` });
      expect(mine.details?.name).toBe(live.containerName);
      const decisions = await reap(provider, { isOwnerAlive: () => undefined });
      expect(decisions.map((d) => [d.resource.id, d.why, d.deleted])).toEqual([
        [expired.id, 'expired', true],
      ]);
      expect((await provider.listManagedResources()).map((r) => r.id)).toEqual([live.containerId]);
      // Its owner gone (a worker killed with -9), the live one is collected too.
      const ownerGone = await reap(provider, {
        isOwnerAlive: (owner) => (owner === `test-${SCOPE}` ? false : undefined),
      });
      expect(ownerGone.map((d) => [d.resource.id, d.why, d.deleted])).toEqual([
        [live.containerId, 'owner-gone', true],
      ]);
      expect(await provider.listManagedResources()).toEqual([]);
      const notMine = await provider
        .deleteManagedResource({ kind: 'instance', id: 'i-123' })
        .catch((e: unknown) => e);
      expect(String(notMine)).toContain(
        'the docker backend manages containers and the directories under HOST_OUTPUT_DIR',
      );
    } finally {
      await live.stop();
      await expired.remove({ force: true }).catch(() => {});
      await provider.close();
    }
  });
});

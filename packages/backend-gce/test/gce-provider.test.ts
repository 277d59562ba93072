import { createServer } from 'node:net';
import {
  getBackend,
  InvalidConfigError,
  newBackendProvider,
  ProviderConfig,
  silentLogger,
} from '@workerkit/core';
import { RecordingSink } from '@workerkit/testkit';
import { describe, expect, it } from 'vitest';
import { createGceProvider, gceOptions } from '../src/index.js';
import { emulatorConfig, type GceTestEnv, gceTestEnv, ProgressLog } from './gce-test-env.js';

const job = {
  language: 'python',
  jobId: '4242',
  repository: 'Work Erkit/Some.Repo',
  hardTimeoutMs: 20 * 60_000,
};

interface Resource {
  labels: Record<string, string>;
  tags: { items?: string[] };
  metadata: { items?: { key: string; value: string }[] };
  scheduling: Record<string, unknown>;
  machineType: string;
  disks: { diskSizeGb: string }[];
  guestAccelerators?: { acceleratorType: string; acceleratorCount: number }[];
  networkInterfaces: { accessConfigs?: unknown[]; subnetwork: string }[];
  description: string;
}

describe('gce provider on the emulator', { timeout: 60_000 }, () => {
  it('registers as "gce" with its Go-style help map', async () => {
    expect(getBackend('gce')).toMatchObject({
      alias: 'gce',
      humanReadableName: 'Google Compute Engine',
      packageName: '@workerkit/backend-gce',
    });
    expect(getBackend('gce')?.providerHelp).toEqual(gceOptions.help());
    await using env = await gceTestEnv();
    const provider = newBackendProvider('gce', env.config, { logger: silentLogger });
    expect(provider.alias).toBe('gce');
    expect(provider.supportsProgress).toBe(true);
    await provider.setup();
    await provider.close();
  });

  it('runs a job in at most 10 API calls on the realistic clock, with the Go progress messages', async () => {
    await using env = await gceTestEnv();
    await env.provider.setup();
    const progress = new ProgressLog();
    const instance = await env.provider.start(job, { progress });
    await instance.stop();
    // The image lookup is cached per provider: count one whole job after the first.
    env.emulator.calls.reset();
    const second = await env.provider.start(job);
    await second.uploadScript('echo hi\n');
    expect(await second.runScript(new RecordingSink())).toMatchObject({ completed: true, exitCode: 0 });
    await second.stop();
    const calls = env.emulator.calls.snapshot();
    expect(calls).toMatchObject({ 'instances.insert': 1, 'instances.get': 1, 'instances.delete': 1 });
    // The insert and the delete are long-polled (more than once when a wait comes back early);
    // the host keys are asked for until the guest agent has published them.
    expect(calls['zoneOperations.wait']).toBeGreaterThanOrEqual(2);
    expect(calls['instances.getGuestAttributes']).toBeGreaterThanOrEqual(1);
    expect(calls['instances.getSerialPortOutput']).toBeUndefined();
    expect(env.emulator.calls.total()).toBeLessThanOrEqual(10);
    // Dots (raw entries) come with each unfinished poll and SSH attempt: how many depends on the clock.
    expect(progress.entries.filter((e) => !e.raw).map((e) => e.message)).toEqual([
      'selected image "travis-ci-ubuntu-2204-1710000000"',
      'rendered startup script',
      'inserted instance',
      'polling for instance insert completion...',
      expect.stringMatching(/^instance is ready \(\d+(ms|\.\d+s|s)\)$/),
      'waiting for ssh connectivity...',
      expect.stringMatching(/^ssh connectivity established \(\d+(ms|\.\d+s|s)\)$/),
    ]);
    expect(instance.startupDuration).toBeGreaterThan(0);
    expect(instance.imageName).toBe('travis-ci-ubuntu-2204-1710000000');
  });

  it('builds the instance from options and the job: labels, tags, metadata, scheduling, disk', async () => {
    await using env = await gceTestEnv({
      config: { TRAVIS_SITE: 'org', DISK_SIZE: '30', DETERMINISTIC_HOSTNAME: 'true' },
    });
    await using instance = await env.provider.start(job);
    expect(instance.id).toBe('travis-job-work-erkit-some-repo-4242');
    const [emulated] = env.emulator.instances();
    const resource = emulated!.resource as unknown as Resource;
    expect(emulated!.labels).toMatchObject({
      workerkit: 'true',
      'workerkit-job': '4242',
      'workerkit-owner': `gce-test_${process.pid}`,
    });
    const expires = Number(emulated!.labels['workerkit-expires-at']) * 1000;
    expect(expires).toBeGreaterThan(Date.now() + 20 * 60_000);
    expect(resource.tags.items).toEqual(['testing', 'org']);
    expect(resource.description).toBe('workerkit python job VM');
    expect(resource.machineType).toMatch(/\/machineTypes\/n1-standard-2$/);
    expect(resource.disks[0]!.diskSizeGb).toBe('30');
    expect(resource.scheduling).toMatchObject({
      automaticRestart: false,
      onHostMaintenance: 'MIGRATE',
      preemptible: false,
      instanceTerminationAction: 'DELETE',
      maxRunDuration: { seconds: String(20 * 60 + 10 * 60) },
    });
    const metadata = Object.fromEntries((resource.metadata.items ?? []).map((i) => [i.key, i.value]));
    expect(metadata['enable-guest-attributes']).toBe('TRUE');
    expect(metadata['ssh-keys']).toMatch(/^travis:ssh-ed25519 AAAA\S+ workerkit$/);
    expect(metadata['startup-script']).toContain('echo poweroff | at now + 30 minutes');
    expect(metadata['startup-script']).toContain(metadata['ssh-keys']!.slice('travis:'.length));
    expect(resource.networkInterfaces[0]!.accessConfigs).toHaveLength(1);
  });

  it('uses a fresh ed25519 key per instance', async () => {
    await using env = await gceTestEnv();
    await using a = await env.provider.start(job);
    await using b = await env.provider.start(job);
    const keys = env.emulator.instances().map((i) => i.metadata['ssh-keys']);
    expect(new Set(keys).size).toBe(2);
    expect(a.id).not.toBe(b.id);
  });

  it('picks premium, vm_size and GPU machines', async () => {
    await using env = await gceTestEnv();
    const machine = async (attributes: Record<string, unknown>) => {
      await using instance = await env.provider.start({ ...job, ...attributes });
      return env.emulator.instances().find((i) => i.name === instance.id)!.resource as unknown as Resource;
    };
    expect((await machine({ vmType: 'premium' })).machineType).toMatch(/n1-standard-4$/);
    expect((await machine({ vmSize: 'large' })).machineType).toMatch(/n2-standard-4$/);
    const gpu = await machine({ vmSize: 'gpu-medium' });
    expect(gpu.machineType).toMatch(/n1-standard-8$/);
    expect(gpu.disks[0]!.diskSizeGb).toBe('300');
    expect(gpu.guestAccelerators).toEqual([
      { acceleratorType: expect.stringMatching(/\/acceleratorTypes\/nvidia-tesla-t4$/), acceleratorCount: 1 },
    ]);
    expect(gpu.scheduling.onHostMaintenance).toBe('TERMINATE');
    const custom = await machine({ vmConfig: { gpuCount: 2, gpuType: 'nvidia-tesla-v100' } });
    expect(custom.guestAccelerators).toEqual([
      { acceleratorType: expect.stringMatching(/nvidia-tesla-v100$/), acceleratorCount: 2 },
    ]);
  });

  it('boots Spot VMs and connects to the internal IP without a public one', async () => {
    await using env = await gceTestEnv({ config: { SPOT: 'true', PUBLIC_IP: 'false' } });
    await using instance = await env.provider.start(job);
    await instance.uploadScript('echo on-spot\n');
    const sink = new RecordingSink();
    expect(await instance.runScript(sink)).toMatchObject({ completed: true, exitCode: 0 });
    const resource = env.emulator.instances()[0]!.resource as unknown as Resource;
    expect(resource.scheduling).toMatchObject({
      provisioningModel: 'SPOT',
      instanceTerminationAction: 'DELETE',
      onHostMaintenance: 'TERMINATE',
    });
    expect(resource.networkInterfaces[0]!.accessConfigs).toBeUndefined();
    expect(resource.tags.items).toEqual(['testing', 'no-ip']);
  });

  it('selects images with the env selector, the exact name, or IMAGE_DEFAULT, and caches the lookup', async () => {
    await using env = await gceTestEnv({ config: { IMAGE_LANGUAGE_PYTHON: 'travis-ci-python.+' } });
    env.emulator.addImage({ name: 'travis-ci-python-1700000000', creationTimestamp: '2024-01-01T00:00:00Z' });
    env.emulator.addImage({ name: 'travis-ci-python-1800000000', creationTimestamp: '2024-06-01T00:00:00Z' });
    const progress = new ProgressLog();
    await (await env.provider.start(job, { progress })).stop();
    expect(progress.messages[0]).toBe('selected image "travis-ci-python-1800000000"');
    await (await env.provider.start(job)).stop();
    expect(env.emulator.calls.count('images.list')).toBe(1);
    const exact = await env.provider.start({ ...job, imageName: 'travis-ci-python-1700000000' });
    expect(exact.imageName).toBe('travis-ci-python-1700000000');
    await exact.stop();
    const fallback = await env.provider.start({ ...job, language: 'ruby' });
    expect(fallback.imageName).toBe('travis-ci-ubuntu-2204-1710000000');
    await fallback.stop();
    const none = new ProgressLog();
    await expect(
      env.provider.start({ ...job, imageName: 'no-such-image' }, { progress: none }),
    ).rejects.toMatchObject({ name: 'ProviderApiError', retryable: false });
    expect(none.messages).toEqual(['could not select image']);
    expect(env.emulator.instances()).toEqual([]);
  });

  it('sleeps BOOT_PRE_POLL_SLEEP when asked, and returns from stop right after the delete with SKIP_STOP_POLL', async () => {
    await using env = await gceTestEnv({
      config: { BOOT_PRE_POLL_SLEEP: '300ms', SKIP_STOP_POLL: 'true' },
      // The deletion lasts 2 s: the check right after stop must not race it on a loaded machine.
      emulator: { timings: { provisioningMs: 0, stagingMs: 0, stoppingMs: 2000 } },
    });
    const progress = new ProgressLog();
    const started = Date.now();
    const instance = await env.provider.start(job, { progress });
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(progress.messages).toContain('sleeping 300ms before checking instance insert');
    env.emulator.calls.reset();
    await instance.stop();
    expect(env.emulator.calls.snapshot()).toEqual({ 'instances.delete': 1 });
    // The deletion is still under way: the instance is on its way out (STOPPING, then
    // DEPROVISIONING halfway through the 2 s), not gone.
    expect(env.emulator.instances()).toMatchObject([
      { name: instance.id, status: expect.stringMatching(/^(STOPPING|DEPROVISIONING)$/) },
    ]);
    const goneBy = Date.now() + 30_000;
    while (env.emulator.instances().length > 0 && Date.now() < goneBy)
      await new Promise((resolve) => setTimeout(resolve, 50));
    expect(env.emulator.instances()).toEqual([]);
  });

  it('reports an unreachable API as a retryable ProviderApiError after BACKOFF_RETRY_MAX', async () => {
    // A port that was free a moment ago: nothing listens there now.
    const port = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port: free } = server.address() as { port: number };
        server.close(() => resolve(free));
      });
    });
    const provider = createGceProvider(
      ProviderConfig.fromMap({
        PROJECT_ID: 'unreachable-1',
        API_ENDPOINT: `http://127.0.0.1:${port}`,
        ACCESS_TOKEN: 't',
        BACKOFF_RETRY_MAX: '1500ms',
      }),
      { logger: silentLogger },
    );
    const started = Date.now();
    const error = await provider.setup().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({
      name: 'ProviderApiError',
      operation: 'zones.list',
      retryable: true,
      code: 'ECONNREFUSED',
    });
    expect(Date.now() - started).toBeLessThan(10_000);
    await provider.close();
  });

  it.each([
    [
      'credentials that are refused (401)',
      (env: GceTestEnv) => env.emulator.faults.invalidCredentials(),
      'ACCESS_TOKEN',
    ],
    [
      'credentials without permission (403 forbidden)',
      (env: GceTestEnv) => env.emulator.faults.permissionDenied(),
      'ACCESS_TOKEN',
    ],
  ])('fails setup on %s with InvalidConfigError naming the option', async (_what, inject, option) => {
    await using env = await gceTestEnv();
    inject(env);
    const error = await env.provider.setup().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(InvalidConfigError.isInstance(error), String(error)).toBe(true);
    expect((error as InvalidConfigError).option).toBe(option);
    expect(String(error)).not.toContain('emulator-token');
    expect(env.emulator.calls.count('zones.list')).toBe(1);
  });

  it('fails setup on an unknown project with InvalidConfigError PROJECT_ID', async () => {
    await using env = await gceTestEnv({ config: { PROJECT_ID: 'no-such-project-1' } });
    const error = await env.provider.setup().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(InvalidConfigError.isInstance(error), String(error)).toBe(true);
    expect((error as InvalidConfigError).option).toBe('PROJECT_ID');
  });

  it('takes images from IMAGE_PROJECT_ID', async () => {
    await using env = await gceTestEnv({
      config: { IMAGE_PROJECT_ID: 'travis-ci-images', IMAGE_DEFAULT: 'travis-ci-shared.+' },
    });
    env.emulator.addImage({ name: 'travis-ci-shared-1800000000', project: 'travis-ci-images' });
    await using instance = await env.provider.start(job);
    // The emulator resolves sourceImage in the image's own project: the insert would 404 otherwise.
    expect(instance.imageName).toBe('travis-ci-shared-1800000000');
    expect(env.emulator.calls.count('images.list')).toBe(1);
  });

  it('rejects bad job attributes and configuration before creating anything', async () => {
    await using env = await gceTestEnv();
    await expect(env.provider.start({ ...job, vmSize: 'enormous' })).rejects.toSatisfy(
      (e) => InvalidConfigError.isInstance(e) && /vm_size/.test(String(e)),
    );
    await expect(env.provider.start({ ...job, os: 'windows' })).rejects.toSatisfy(
      InvalidConfigError.isInstance,
    );
    await expect(env.provider.start({ ...job, vmConfig: { zone: 'mars' } })).rejects.toSatisfy(
      InvalidConfigError.isInstance,
    );
    expect(env.emulator.calls.count('instances.insert')).toBe(0);
    for (const [key, value] of [
      ['MACHINE_TYPE', 'n9-mega-1'],
      ['NETWORK', 'elsewhere'],
      ['ZONES', 'us-central1-z'],
      ['SUBNETWORK', 'nope'],
    ] as const) {
      const provider = createGceProvider(
        ProviderConfig.fromMap(emulatorConfig(env.emulator, { [key]: value })),
        { logger: silentLogger },
      );
      const error = await provider.start(job).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(InvalidConfigError.isInstance(error), `${key}: ${String(error)}`).toBe(true);
      expect((error as InvalidConfigError).option).toBe(key);
      await provider.close();
    }
    expect(env.emulator.calls.count('instances.insert')).toBe(0);
    expect(env.emulator.instances()).toEqual([]);
  });
});

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateKeyPairCommand, EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';
import {
  InvalidConfigError,
  LIFECYCLE_LABELS,
  lifecycleLabels,
  ProviderApiError,
  reap,
} from '@workerkit/core';
import { RecordingSink } from '@workerkit/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createEc2Provider, hostKeysFromConsoleOutput } from '../src/index.js';
import {
  type EmulatedSetup,
  emulatorConfig,
  job,
  progressRecorder,
  providerFactory,
  RecordingLogger,
  startEmulatedProvider,
} from './ec2-test-helpers.js';

let setup: EmulatedSetup;
let raw: EC2Client;

const { providerWith, track, closeAll } = providerFactory(() => setup.emulator);

beforeAll(async () => {
  setup = await startEmulatedProvider();
  raw = new EC2Client({
    region: setup.emulator.region,
    endpoint: setup.emulator.endpoint,
    credentials: setup.emulator.credentials,
    maxAttempts: 1,
  });
});

afterEach(async () => {
  setup.emulator.faults.clear();
  await setup.emulator.settled();
  expect(setup.emulator.liveInstances()).toEqual([]);
  expect(setup.emulator.keyPairs()).toEqual([]);
});

afterAll(async () => {
  raw?.destroy();
  await closeAll();
  await setup?.provider.close();
  await setup?.emulator.stop();
});

describe('ec2 provider', () => {
  it('makes at most 10 API calls for a first job with an AMI id, fewer for the next', async () => {
    const provider = providerWith({ IMAGE_DEFAULT: 'ami-0f1e2d3c4b5a69788' });
    setup.emulator.resetCalls();
    for (const round of [1, 2]) {
      const instance = await provider.start(job);
      await instance.uploadScript('echo hi\n');
      expect(await instance.runScript(new RecordingSink())).toMatchObject({ completed: true, exitCode: 0 });
      await instance.stop();
      const { DescribeInstances = 0, GetConsoleOutput = 0, ...once } = setup.emulator.calls;
      // The instance type's architecture and the AMI are looked up once per provider.
      expect(once).toEqual({
        DescribeInstanceTypes: 1,
        DescribeImages: 1,
        ImportKeyPair: round,
        RunInstances: round,
        TerminateInstances: round,
        DeleteKeyPair: round,
      });
      // Describe until the public address shows (EC2 may not know the new id at first), the
      // console once port 22 answers: a few calls, not a poll per second.
      expect(DescribeInstances + GetConsoleOutput, JSON.stringify(setup.emulator.calls)).toBeLessThanOrEqual(
        4 * round,
      );
    }
    expect(setup.emulator.totalCalls()).toBeLessThanOrEqual(18);
    expect(provider.api.calls).toEqual(setup.emulator.calls);
  });

  it('reports progress entries like the GCE backend', async () => {
    const { entries, progress } = progressRecorder();
    const instance = await setup.provider.start(job, { progress: { progress } });
    await instance.uploadScript('true\n');
    await instance.stop();
    const messages = entries.filter((e) => !e.raw).map((e) => e.message.replace(/\(\d[^)]*\)/, '(…)'));
    expect(messages).toEqual([
      'selected image "workerkit-ubuntu-jammy-20260301"',
      expect.stringMatching(/^started instance "i-[0-9a-f]+" \(t3\.micro, on-demand\)$/),
      'waiting for instance to be running...',
      'instance is ready (…)',
      'waiting for ssh connectivity...',
      'ssh connectivity established (…)',
      'uploaded script',
    ]);
    expect(entries.find((e) => e.message.startsWith('instance is ready'))).toMatchObject({
      state: 'success',
      interrupts: true,
    });
    expect(entries.find((e) => e.message.startsWith('waiting for ssh'))).toMatchObject({ continues: true });
  });

  it('resolves a name pattern to the newest image and names the instance image after it', async () => {
    const instance = await setup.provider.start(job);
    try {
      expect(instance.imageName).toBe('workerkit-ubuntu-jammy-20260301');
      expect(setup.emulator.liveInstances()[0]?.imageId).toBe('ami-0f1e2d3c4b5a69788');
    } finally {
      await instance.stop();
    }
    setup.emulator.addImage({
      imageId: 'ami-0aaaaaaaaaaaaaaa1',
      name: 'custom-image-1',
      ownerId: setup.emulator.accountId,
      creationDate: new Date(),
      architecture: 'x86_64',
      users: ['travis'],
    });
    const mapped = providerWith({ IMAGE_MAP: 'ruby:custom-image-*' });
    const ruby = await mapped.start({ ...job, language: 'ruby' });
    expect(ruby.imageName).toBe('custom-image-1');
    await ruby.stop();
  });

  it('asks an api image selector and resolves the name it answers', async () => {
    const bodies: string[] = [];
    const server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      request.on('end', () => {
        bodies.push(body);
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ data: [{ name: 'workerkit-ubuntu-jammy-20260101' }] }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const provider = providerWith({
        IMAGE_SELECTOR_TYPE: 'api',
        IMAGE_SELECTOR_URL: `http://127.0.0.1:${port}/images`,
      });
      const instance = await provider.start({ ...job, language: 'go', dist: 'jammy' });
      await instance.stop();
      expect(instance.imageName).toBe('workerkit-ubuntu-jammy-20260101');
      expect(bodies[0]).toContain('infra=ec2');
      expect(bodies[0]).toContain('language_go%3Atrue');
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('maps the job vm_size to an instance type', async () => {
    const instance = await providerWith({ VM_SIZE_MAP: 'medium:t3.small,large:m5.large' }).start({
      ...job,
      vmSize: 'large',
    });
    const launched = setup.emulator.liveInstances()[0]!;
    await instance.stop();
    expect(launched.instanceType).toBe('m5.large');
    expect(launched.cpuCredits).toBeUndefined();
  });

  it('fails clearly, creating nothing, when no image matches', async () => {
    setup.emulator.resetCalls();
    const error = await providerWith({ IMAGE_DEFAULT: 'no-such-image-*' })
      .start(job)
      .catch((e: unknown) => e);
    expect(ProviderApiError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ retryable: false });
    expect((error as Error).message).toContain(
      'no available image named "no-such-image-*" owned by self of the architecture of t3.micro (x86_64)',
    );
    expect(Object.keys(setup.emulator.calls).sort()).toEqual(['DescribeImages', 'DescribeInstanceTypes']);
  });

  it('works with a key pair created by EC2 (KEY_PAIR=create)', async () => {
    setup.emulator.resetCalls();
    const instance = await providerWith({ KEY_PAIR: 'create' }).start(job);
    expect(setup.emulator.keyPairs()).toMatchObject([
      { keyType: 'ed25519', imported: false, tags: { workerkit: 'true' } },
    ]);
    await instance.uploadScript('echo created\n');
    const sink = new RecordingSink();
    expect(await instance.runScript(sink)).toMatchObject({ completed: true, exitCode: 0 });
    expect(sink.text).toBe('created\n');
    await instance.stop();
    expect(setup.emulator.calls.CreateKeyPair).toBe(1);
  });

  it('launches with everything configured', async () => {
    const provider = providerWith({
      SPOT: 'true',
      SUBNET_ID: 'subnet-0123abcd',
      SECURITY_GROUPS: 'sg-0123abcd',
      EBS_OPTIMIZED: 'true',
      DISK_SIZE: '42',
      IAM_INSTANCE_PROFILE: 'builder',
      CPU_CREDIT_SPECIFICATION: 'standard',
      TAGS: 'team=ci,cost=7',
      USER_DATA: Buffer.from('echo appended\n').toString('base64url'),
    });
    const instance = await provider.start({ ...job, hardTimeoutMs: 10 * 60_000 });
    const launched = setup.emulator.liveInstances()[0]!;
    await instance.stop();
    expect(launched).toMatchObject({
      market: 'spot',
      subnetId: 'subnet-0123abcd',
      securityGroupIds: ['sg-0123abcd'],
      ebsOptimized: true,
      iamInstanceProfile: { name: 'builder' },
      cpuCredits: 'standard',
      metadataHttpTokens: 'required',
      shutdownBehavior: 'terminate',
      blockDevices: [
        { deviceName: '/dev/sda1', volumeSize: 42, volumeType: 'gp3', deleteOnTermination: true },
      ],
      tags: {
        team: 'ci',
        cost: '7',
        Name: 'travis-job-workerkit-ec2-tests-4242',
        [LIFECYCLE_LABELS.managed]: 'true',
        [LIFECYCLE_LABELS.owner]: 'ec2-test_1',
        [LIFECYCLE_LABELS.job]: '4242',
      },
    });
    expect(launched.userData).toContain("shutdown -P +25 'workerkit: hard timeout guard'");
    expect(launched.userData?.endsWith('echo appended\n')).toBe(true);
  });

  it.each([
    [{}, 'public'],
    [{ PUBLIC_IP_CONNECT: 'false' }, 'private'],
    [{ SUBNET_ID: 'subnet-0123abcd', PUBLIC_IP: 'false' }, 'private'],
  ] as const)('connects over SSH with %j to the %s IP', async (config, which) => {
    const instance = await providerWith(config).start(job);
    try {
      const launched = setup.emulator.liveInstances()[0]!;
      expect(launched.publicIpAddress === undefined).toBe('PUBLIC_IP' in config);
      await instance.uploadScript('echo "$SSH_CONNECTION"\n');
      const sink = new RecordingSink();
      expect(await instance.runScript(sink)).toMatchObject({ completed: true, exitCode: 0 });
      const serverAddress = sink.text.trim().split(' ')[2];
      expect(serverAddress).toBe(which === 'public' ? launched.publicIpAddress : launched.privateIpAddress);
    } finally {
      await instance.stop();
    }
  });

  it.each([
    [{}, 'not a tty'],
    [{ PTY: 'true' }, '40 80'],
  ] as const)('runs the script without a PTY unless asked (%j)', async (config, expected) => {
    const instance = await providerWith(config).start(job);
    try {
      await instance.uploadScript('stty size 2>/dev/null || echo "not a tty"\n');
      const sink = new RecordingSink();
      expect(await instance.runScript(sink)).toMatchObject({ completed: true, exitCode: 0 });
      expect(sink.text.trim()).toBe(expected);
    } finally {
      await instance.stop();
    }
  });

  it('takes credentials from the SDK default chain when the options give none', async () => {
    const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
    process.env.AWS_ACCESS_KEY_ID = setup.emulator.credentials.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = setup.emulator.credentials.secretAccessKey;
    try {
      const {
        AWS_ACCESS_KEY_ID: _id,
        AWS_SECRET_ACCESS_KEY: _secret,
        ...config
      } = emulatorConfig(setup.emulator);
      const provider = createEc2Provider(config, { ownerId: 'ec2-test_1', logger: new RecordingLogger() });
      track(provider);
      const instance = await provider.start(job);
      await instance.stop();
      process.env.AWS_ACCESS_KEY_ID = 'AKIAOTHER';
      const other = createEc2Provider(config, { ownerId: 'ec2-test_1', logger: new RecordingLogger() });
      track(other);
      const error = await other.listManagedResources().catch((e: unknown) => e);
      expect(error).toMatchObject({ name: 'ProviderApiError', code: 'AuthFailure', retryable: false });
    } finally {
      restoreEnv('AWS_ACCESS_KEY_ID', saved.id);
      restoreEnv('AWS_SECRET_ACCESS_KEY', saved.secret);
    }
  });

  it('setup(): refused credentials or a region EC2 does not offer are InvalidConfigErrors', async () => {
    const badKey = await providerWith({ AWS_ACCESS_KEY_ID: 'AKIASTRANGER' })
      .setup()
      .catch((e: unknown) => e);
    expect(badKey).toMatchObject({ name: 'InvalidConfigError', option: 'AWS_ACCESS_KEY_ID' });
    const badRegion = await providerWith({ REGION: 'eu-north-9' })
      .setup()
      .catch((e: unknown) => e);
    expect(badRegion).toMatchObject({ name: 'InvalidConfigError', option: 'REGION' });
  });

  it('setup(): no credentials anywhere is an InvalidConfigError', async () => {
    const saved = { ...process.env };
    for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_PROFILE', 'AWS_SESSION_TOKEN'])
      delete process.env[name];
    // No shared config and no instance metadata service (it is not on loopback).
    process.env.AWS_SHARED_CREDENTIALS_FILE = '/nonexistent/credentials';
    process.env.AWS_CONFIG_FILE = '/nonexistent/config';
    process.env.AWS_EC2_METADATA_DISABLED = 'true';
    try {
      const {
        AWS_ACCESS_KEY_ID: _id,
        AWS_SECRET_ACCESS_KEY: _secret,
        ...config
      } = emulatorConfig(setup.emulator);
      const provider = track(
        createEc2Provider(config, { ownerId: 'ec2-test_1', logger: new RecordingLogger() }),
      );
      const error = await provider.setup().catch((e: unknown) => e);
      expect(error).toMatchObject({ name: 'InvalidConfigError', option: 'AWS_ACCESS_KEY_ID' });
    } finally {
      for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
      Object.assign(process.env, saved);
    }
  });

  it('checks the configured instance types in setup', async () => {
    await setup.provider.setup();
    const error = await providerWith({ INSTANCE_TYPE_FALLBACKS: 'x9.mega' })
      .setup()
      .catch((e: unknown) => e);
    expect(InvalidConfigError.isInstance(error), String(error)).toBe(true);
  });

  it('lists instances and key pairs by tag, and reap deletes expired and orphaned ones', async () => {
    const expired = lifecycleLabels({
      ownerId: 'gone-host_1',
      jobId: '1',
      expiresAt: new Date(Date.now() - 60_000),
    });
    const tags = Object.entries(expired).map(([Key, Value]) => ({ Key, Value }));
    await raw.send(
      new CreateKeyPairCommand({
        KeyName: 'orphan',
        TagSpecifications: [{ ResourceType: 'key-pair', Tags: tags }],
      }),
    );
    await raw.send(new CreateKeyPairCommand({ KeyName: 'not-ours' }));
    const leaked = await raw.send(
      new RunInstancesCommand({
        ImageId: 'ami-0f1e2d3c4b5a69788',
        MinCount: 1,
        MaxCount: 1,
        InstanceType: 't3.micro',
        TagSpecifications: [{ ResourceType: 'instance', Tags: tags }],
      }),
    );
    const live = await setup.provider.start(job);
    try {
      const resources = await setup.provider.listManagedResources();
      expect(resources.map((r) => r.kind).sort()).toEqual(['instance', 'instance', 'key-pair', 'key-pair']);
      expect(resources.find((r) => r.id === leaked.Instances![0]!.InstanceId)).toMatchObject({
        ownerId: 'gone-host_1',
        jobId: '1',
      });
      const decisions = await reap(setup.provider, { isOwnerAlive: () => undefined });
      expect(decisions.map((d) => [d.resource.kind, d.why, d.deleted]).sort()).toEqual([
        ['instance', 'expired', true],
        ['key-pair', 'expired', true],
      ]);
      expect(
        setup.emulator
          .keyPairs()
          .map((pair) => pair.keyName)
          .sort(),
      ).toEqual(['not-ours', expect.stringMatching(/^travis-job-workerkit-ec2-tests-4242-/)]);
      expect(setup.emulator.liveInstances().map((i) => i.instanceId)).toEqual([live.id]);
    } finally {
      await live.stop();
      await raw.send(new (await import('@aws-sdk/client-ec2')).DeleteKeyPairCommand({ KeyName: 'not-ours' }));
    }
    expect(await setup.provider.listManagedResources()).toEqual([]);
  });
});

function restoreEnv(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

describe('console output host keys', () => {
  it('reads the keys between the cloud-init markers', () => {
    const output = [
      'boot log',
      '-----BEGIN SSH HOST KEY KEYS-----',
      'ecdsa-sha2-nistp256 AAAAE2VjZHNh root@ip-10-0-0-1',
      'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5 root@ip-10-0-0-1',
      '-----END SSH HOST KEY KEYS-----',
    ].join('\r\n');
    expect(hostKeysFromConsoleOutput(output)).toEqual([
      'ecdsa-sha2-nistp256 AAAAE2VjZHNh',
      'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5',
    ]);
    expect(hostKeysFromConsoleOutput('no markers yet')).toEqual([]);
  });
});

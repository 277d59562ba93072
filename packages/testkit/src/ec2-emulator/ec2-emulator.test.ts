import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  CreateKeyPairCommand,
  CreateTagsCommand,
  DeleteKeyPairCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeInstanceTypesCommand,
  DescribeKeyPairsCommand,
  EC2Client,
  EC2ServiceException,
  GetConsoleOutputCommand,
  ImportKeyPairCommand,
  type Instance,
  paginateDescribeInstances,
  RunInstancesCommand,
  type RunInstancesCommandInput,
  TerminateInstancesCommand,
  waitUntilInstanceRunning,
} from '@aws-sdk/client-ec2';
import { Client as SshClient } from 'ssh2';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyMaterial } from './ec2-key-material.js';
import { type Ec2Emulator, Ec2Faults, startEc2Emulator } from './index.js';

let emulator: Ec2Emulator;
let ec2: EC2Client;

/** A guest directory left by a test process that died (its pid no longer runs). */
let staleGuestDir: string;

beforeAll(async () => {
  const dead = spawnSync('true').pid;
  const base = process.getuid?.() === 0 ? '/var/tmp' : tmpdir();
  staleGuestDir = mkdtempSync(path.join(base, `ec2-emulator-guest-${dead}-i-0stale-`));
  emulator = await startEc2Emulator();
  ec2 = new EC2Client({
    region: emulator.region,
    endpoint: emulator.endpoint,
    credentials: emulator.credentials,
    maxAttempts: 1,
  });
});

afterAll(async () => {
  ec2?.destroy();
  await emulator?.stop();
});

afterEach(async () => {
  emulator.faults.clear();
  const live = emulator.liveInstances().map((instance) => instance.instanceId);
  for (const id of live) await visible(id);
  if (live.length > 0) await ec2.send(new TerminateInstancesCommand({ InstanceIds: live }));
  for (const pair of emulator.keyPairs())
    await ec2.send(new DeleteKeyPairCommand({ KeyPairId: pair.keyPairId }));
  await emulator.settled();
});

const image = 'ami-0f1e2d3c4b5a69788';

function runInput(extra: Partial<RunInstancesCommandInput> = {}): RunInstancesCommandInput {
  return { ImageId: image, MinCount: 1, MaxCount: 1, InstanceType: 't3.micro', ...extra };
}

async function errorOf(promise: Promise<unknown>): Promise<EC2ServiceException> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(EC2ServiceException);
  return error as EC2ServiceException;
}

async function waitRunning(instanceId: string): Promise<Instance> {
  await visible(instanceId);
  await waitUntilInstanceRunning(
    { client: ec2, maxWaitTime: 20, minDelay: 0.05, maxDelay: 0.2 },
    { InstanceIds: [instanceId] },
  );
  const described = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
  return described.Reservations![0]!.Instances![0]!;
}

async function waitFor(condition: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Waits out eventual consistency: until the new id is known to DescribeInstances. */
async function visible(instanceId: string): Promise<void> {
  for (;;) {
    const found = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] })).then(
      () => true,
      (error: unknown) => {
        if ((error as Error).name !== 'InvalidInstanceID.NotFound') throw error;
        return false;
      },
    );
    if (found) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Waits until the console output (Latest, Nitro) shows the host keys, i.e. sshd is up. */
async function hostKeysOf(instanceId: string): Promise<string[]> {
  for (;;) {
    const answer = await ec2.send(new GetConsoleOutputCommand({ InstanceId: instanceId, Latest: true }));
    const keys = hostKeysFromConsole(Buffer.from(answer.Output ?? '', 'base64').toString());
    if (keys.length > 0) return keys;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function hostKeysFromConsole(output: string): string[] {
  const match = /-----BEGIN SSH HOST KEY KEYS-----\r?\n([\s\S]*?)-----END SSH HOST KEY KEYS-----/.exec(
    output,
  );
  return match ? match[1]!.split(/\r?\n/).filter((line) => line.trim() !== '') : [];
}

async function sshExec(
  host: string,
  privateKey: string,
  expectedHostKey: string,
  command: string,
  username = 'ubuntu',
): Promise<string> {
  const expected = Buffer.from(expectedHostKey.split(' ')[1]!, 'base64');
  return new Promise<string>((resolve, reject) => {
    const client = new SshClient();
    let output = '';
    client
      .on('ready', () => {
        client.exec(command, (error, stream) => {
          if (error) return reject(error);
          stream.on('data', (chunk: Buffer) => {
            output += chunk.toString();
          });
          stream.stderr.resume();
          stream.on('close', () => {
            client.end();
            resolve(output);
          });
        });
      })
      .on('error', reject)
      .connect({
        host,
        port: emulator.sshPort,
        username,
        privateKey,
        readyTimeout: 5000,
        hostVerifier: (key: Buffer) => key.equals(expected),
      });
  });
}

describe('EC2 emulator through the unmodified @aws-sdk/client-ec2', () => {
  it('runs an instance: pending, then running with a booted sshd that accepts the created key pair', async () => {
    const created = await ec2.send(
      new CreateKeyPairCommand({
        KeyName: 'job-1',
        KeyType: 'ed25519',
        TagSpecifications: [{ ResourceType: 'key-pair', Tags: [{ Key: 'workerkit', Value: 'true' }] }],
      }),
    );
    expect(created.KeyMaterial).toContain('BEGIN OPENSSH PRIVATE KEY');
    expect(created.KeyPairId).toMatch(/^key-/);
    const run = await ec2.send(
      new RunInstancesCommand(
        runInput({
          KeyName: 'job-1',
          UserData: Buffer.from('#!/bin/bash\necho hi\n').toString('base64'),
          MetadataOptions: { HttpTokens: 'required' },
          InstanceInitiatedShutdownBehavior: 'terminate',
          CreditSpecification: { CpuCredits: 'unlimited' },
          IamInstanceProfile: { Name: 'builder' },
          EbsOptimized: true,
          BlockDeviceMappings: [
            { DeviceName: '/dev/sda1', Ebs: { VolumeSize: 30, DeleteOnTermination: true } },
          ],
          TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: 'job-1' }] }],
        }),
      ),
    );
    const launched = run.Instances![0]!;
    expect(launched.State).toEqual({ Code: 0, Name: 'pending' });
    expect(launched.Tags).toEqual([{ Key: 'Name', Value: 'job-1' }]);
    const running = await waitRunning(launched.InstanceId!);
    expect(running.State?.Name).toBe('running');
    expect(running.PrivateIpAddress).toMatch(/^127\./);
    expect(running.PublicIpAddress).toMatch(/^127\./);
    expect(running.MetadataOptions?.HttpTokens).toBe('required');
    expect(running.EbsOptimized).toBe(true);
    expect(running.IamInstanceProfile?.Arn).toContain('instance-profile/builder');
    expect(running.BlockDeviceMappings?.[0]?.DeviceName).toBe('/dev/sda1');
    const recorded = emulator.instances().find((i) => i.instanceId === launched.InstanceId)!;
    expect(recorded).toMatchObject({
      userData: '#!/bin/bash\necho hi\n',
      cpuCredits: 'unlimited',
      shutdownBehavior: 'terminate',
      blockDevices: [{ deviceName: '/dev/sda1', volumeSize: 30, deleteOnTermination: true }],
    });

    const hostKeys = await hostKeysOf(launched.InstanceId!);
    expect(hostKeys).toHaveLength(1);
    // Booting the first guest of this process swept the dead process's guest away.
    expect(existsSync(staleGuestDir)).toBe(false);
    const whoami = await sshExec(
      running.PrivateIpAddress!,
      created.KeyMaterial!,
      hostKeys[0]!,
      'echo $HOME; echo $USER',
    );
    expect(whoami).toMatch(
      new RegExp(`^/.*ec2-emulator-guest-\\d+-${launched.InstanceId}-.*/homes/ubuntu\\nubuntu\\n$`),
    );
    // The image's travis user exists but nobody gave it a key; root logins are refused.
    await expect(
      sshExec(running.PrivateIpAddress!, created.KeyMaterial!, hostKeys[0]!, 'true', 'travis'),
    ).rejects.toThrow();
    await expect(
      sshExec(running.PrivateIpAddress!, created.KeyMaterial!, hostKeys[0]!, 'true', 'root'),
    ).rejects.toThrow();
    const probe = `ec2-emulator-probe-${launched.InstanceId}`;
    expect(
      await sshExec(
        running.PrivateIpAddress!,
        created.KeyMaterial!,
        hostKeys[0]!,
        `echo x > /tmp/${probe}; ls /tmp`,
      ),
    ).toBe(`${probe}\n`);
    expect(existsSync(`/tmp/${probe}`)).toBe(false);

    const terminated = await ec2.send(new TerminateInstancesCommand({ InstanceIds: [launched.InstanceId!] }));
    expect(terminated.TerminatingInstances?.[0]?.PreviousState?.Name).toBe('running');
    expect(['shutting-down', 'terminated']).toContain(
      terminated.TerminatingInstances?.[0]?.CurrentState?.Name,
    );
    await emulator.settled();
    const after = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [launched.InstanceId!] }));
    expect(after.Reservations![0]!.Instances![0]!.StateReason?.Code).toBe('Client.UserInitiatedShutdown');
    await expect(
      sshExec(running.PrivateIpAddress!, created.KeyMaterial!, hostKeys[0]!, 'true'),
    ).rejects.toThrow();
  });

  it('generates RSA key pairs in PEM and imports OpenSSH public keys', async () => {
    const rsa = await ec2.send(new CreateKeyPairCommand({ KeyName: 'rsa-1' }));
    expect(rsa.KeyMaterial).toContain('BEGIN RSA PRIVATE KEY');
    expect(rsa.KeyFingerprint).toMatch(/^([0-9a-f]{2}:){19}[0-9a-f]{2}$/);
    const material = generateKeyMaterial('ed25519', 'imported');
    const imported = await ec2.send(
      new ImportKeyPairCommand({
        KeyName: 'imported-1',
        PublicKeyMaterial: Buffer.from(material.publicKey),
        TagSpecifications: [{ ResourceType: 'key-pair', Tags: [{ Key: 'team', Value: 'ci' }] }],
      }),
    );
    expect(imported.KeyFingerprint).toBe(material.fingerprint);
    const duplicate = await errorOf(ec2.send(new CreateKeyPairCommand({ KeyName: 'rsa-1' })));
    expect(duplicate.name).toBe('InvalidKeyPair.Duplicate');
    const bad = await errorOf(
      ec2.send(
        new ImportKeyPairCommand({
          KeyName: 'bad',
          PublicKeyMaterial: Buffer.from('ssh-ed25519 bm90IGEga2V5'),
        }),
      ),
    );
    expect(bad.name).toBe('InvalidKey.Format');

    const byTag = await ec2.send(
      new DescribeKeyPairsCommand({ Filters: [{ Name: 'tag:team', Values: ['ci'] }] }),
    );
    expect(byTag.KeyPairs?.map((pair) => pair.KeyName)).toEqual(['imported-1']);
    const all = await ec2.send(new DescribeKeyPairsCommand({ IncludePublicKey: true }));
    expect(all.KeyPairs?.map((pair) => pair.KeyName).sort()).toEqual(['imported-1', 'rsa-1']);
    expect(all.KeyPairs?.find((pair) => pair.KeyName === 'imported-1')?.PublicKey).toBe(material.publicKey);
    expect(all.KeyPairs?.find((pair) => pair.KeyName === 'rsa-1')?.KeyType).toBe('rsa');
    const missing = await errorOf(ec2.send(new DescribeKeyPairsCommand({ KeyNames: ['nope'] })));
    expect(missing.name).toBe('InvalidKeyPair.NotFound');

    await ec2.send(new DeleteKeyPairCommand({ KeyName: 'rsa-1' }));
    await ec2.send(new DeleteKeyPairCommand({ KeyName: 'rsa-1' })); // idempotent, as in EC2
    expect(emulator.keyPairs().map((pair) => pair.keyName)).toEqual(['imported-1']);
  });

  it('describes instances by id, by filters (tag:, tag-key, instance-state-name) and in pages', async () => {
    const tagged = (Key: string, Value: string) => [
      { ResourceType: 'instance' as const, Tags: [{ Key, Value }] },
    ];
    const a = await ec2.send(new RunInstancesCommand(runInput({ TagSpecifications: tagged('team', 'red') })));
    const b = await ec2.send(
      new RunInstancesCommand(runInput({ TagSpecifications: tagged('team', 'blue') })),
    );
    const idA = a.Instances![0]!.InstanceId!;
    const idB = b.Instances![0]!.InstanceId!;
    await visible(idA);
    await visible(idB);
    const ids = async (filters: { Name: string; Values: string[] }[]) =>
      (await ec2.send(new DescribeInstancesCommand({ Filters: filters })))
        .Reservations!.flatMap((r) => r.Instances!.map((i) => i.InstanceId))
        .sort();
    expect(await ids([{ Name: 'tag:team', Values: ['red'] }])).toEqual([idA]);
    expect(await ids([{ Name: 'tag:team', Values: ['r*', 'bl?e'] }])).toEqual([idA, idB].sort());
    expect(await ids([{ Name: 'tag-key', Values: ['team'] }])).toEqual([idA, idB].sort());
    expect(await ids([{ Name: 'tag-key', Values: ['other'] }])).toEqual([]);
    await ec2.send(new CreateTagsCommand({ Resources: [idB], Tags: [{ Key: 'extra', Value: '1' }] }));
    expect(await ids([{ Name: 'tag:extra', Values: ['1'] }])).toEqual([idB]);
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [idA] }));
    const live = await ids([
      { Name: 'tag-key', Values: ['team'] },
      { Name: 'instance-state-name', Values: ['pending', 'running'] },
    ]);
    expect(live).toEqual([idB]);
    const more = await Promise.all(
      Array.from({ length: 5 }, () => ec2.send(new RunInstancesCommand(runInput()))),
    );
    for (const run of more) await visible(run.Instances![0]!.InstanceId!);
    const pages: string[][] = [];
    for await (const page of paginateDescribeInstances({ client: ec2, pageSize: 5 }, {})) {
      pages.push(page.Reservations!.flatMap((r) => r.Instances!.map((i) => i.InstanceId!)));
    }
    // Terminated instances stay visible, as in EC2: earlier tests' are listed too.
    const total = emulator.instances().length;
    expect(pages.map((page) => page.length)).toEqual([5, total - 5]);
    expect(new Set(pages.flat()).size).toBe(total);
    expect(pages.flat()).toEqual(
      expect.arrayContaining([idA, idB, ...more.map((r) => r.Instances![0]!.InstanceId!)]),
    );
    const notFound = await errorOf(
      ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-0000000000000000f'] })),
    );
    expect(notFound.name).toBe('InvalidInstanceID.NotFound');
    expect(notFound.$metadata.httpStatusCode).toBe(400);
    const badFilter = await errorOf(
      ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'bogus', Values: ['x'] }] })),
    );
    expect(badFilter.name).toBe('InvalidParameterValue');
  });

  it('describes images by id, owner and name pattern', async () => {
    const byName = await ec2.send(
      new DescribeImagesCommand({
        Owners: ['self'],
        Filters: [{ Name: 'name', Values: ['workerkit-ubuntu-jammy-*'] }],
      }),
    );
    expect(byName.Images?.map((i) => [i.ImageId, i.Architecture]).sort()).toEqual([
      ['ami-0a1b2c3d4e5f60718', 'x86_64'],
      ['ami-0c4d5e6f708192a3b', 'arm64'],
      ['ami-0f1e2d3c4b5a69788', 'x86_64'],
    ]);
    expect(byName.Images?.find((i) => i.ImageId === image)?.CreationDate).toBe('2026-03-01T00:00:00.000Z');
    const amazon = await ec2.send(new DescribeImagesCommand({ Owners: ['amazon'] }));
    expect(amazon.Images?.map((i) => i.Name)).toEqual(['amzn2-ami-hvm-2.0.20260101-x86_64-gp2']);
    const byId = await ec2.send(new DescribeImagesCommand({ ImageIds: [image] }));
    expect(byId.Images?.[0]?.Name).toBe('workerkit-ubuntu-jammy-20260301');
    const malformed = await errorOf(ec2.send(new DescribeImagesCommand({ ImageIds: ['nope'] })));
    expect(malformed.name).toBe('InvalidAMIID.Malformed');
  });

  it('answers DescribeInstanceTypes', async () => {
    const types = await ec2.send(
      new DescribeInstanceTypesCommand({ InstanceTypes: ['t3.micro', 'm6g.large'] }),
    );
    expect(types.InstanceTypes?.map((t) => [t.InstanceType, t.BurstablePerformanceSupported])).toEqual([
      ['t3.micro', true],
      ['m6g.large', false],
    ]);
  });

  it('validates RunInstances like EC2 and keeps ClientToken idempotent', async () => {
    expect(
      (await errorOf(ec2.send(new RunInstancesCommand(runInput({ ImageId: 'ami-00000000000000000' }))))).name,
    ).toBe('InvalidAMIID.NotFound');
    expect((await errorOf(ec2.send(new RunInstancesCommand(runInput({ KeyName: 'missing' }))))).name).toBe(
      'InvalidKeyPair.NotFound',
    );
    expect(
      (await errorOf(ec2.send(new RunInstancesCommand(runInput({ InstanceType: 'z9.huge' as never }))))).name,
    ).toBe('InvalidParameterValue');
    const credits = await errorOf(
      ec2.send(
        new RunInstancesCommand(
          runInput({ InstanceType: 'm5.large', CreditSpecification: { CpuCredits: 'unlimited' } }),
        ),
      ),
    );
    expect(credits.name).toBe('InvalidParameterCombination');
    const first = await ec2.send(new RunInstancesCommand(runInput({ ClientToken: 'token-1' })));
    const again = await ec2.send(new RunInstancesCommand(runInput({ ClientToken: 'token-1' })));
    expect(again.Instances![0]!.InstanceId).toBe(first.Instances![0]!.InstanceId);
    expect(emulator.instances().filter((i) => i.clientToken === 'token-1')).toHaveLength(1);
    const mismatch = await errorOf(
      ec2.send(new RunInstancesCommand(runInput({ ClientToken: 'token-1', InstanceType: 't3.small' }))),
    );
    expect(mismatch.name).toBe('IdempotentParameterMismatch');
  });

  it('rejects requests signed with other credentials or another region', async () => {
    const stranger = new EC2Client({
      region: emulator.region,
      endpoint: emulator.endpoint,
      credentials: { accessKeyId: 'AKIASTRANGER', secretAccessKey: 'x' },
      maxAttempts: 1,
    });
    const otherRegion = new EC2Client({
      region: 'eu-west-1',
      endpoint: emulator.endpoint,
      credentials: emulator.credentials,
      maxAttempts: 1,
    });
    try {
      expect((await errorOf(stranger.send(new DescribeInstancesCommand({})))).name).toBe('AuthFailure');
      expect((await errorOf(otherRegion.send(new DescribeInstancesCommand({})))).name).toBe('AuthFailure');
    } finally {
      stranger.destroy();
      otherRegion.destroy();
    }
  });

  it('counts calls per action, failed ones included', async () => {
    emulator.resetCalls();
    await ec2.send(new DescribeInstancesCommand({}));
    await errorOf(ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-0000000000000000f'] })));
    await ec2.send(new DescribeImagesCommand({ ImageIds: [image] }));
    expect(emulator.calls).toEqual({ DescribeInstances: 2, DescribeImages: 1 });
    expect(emulator.totalCalls()).toBe(3);
  });
});

describe('EC2 emulator faults', () => {
  it('throttles scripted calls with RequestLimitExceeded (HTTP 503), which the SDK retries', async () => {
    emulator.faults.requestLimitExceeded('DescribeImages', 2);
    const throttled = await errorOf(ec2.send(new DescribeImagesCommand({ ImageIds: [image] })));
    expect(throttled.name).toBe('RequestLimitExceeded');
    expect(throttled.$metadata.httpStatusCode).toBe(503);
    const retrying = new EC2Client({
      region: emulator.region,
      endpoint: emulator.endpoint,
      credentials: emulator.credentials,
      maxAttempts: 3,
    });
    try {
      emulator.resetCalls();
      const answer = await retrying.send(new DescribeImagesCommand({ ImageIds: [image] }));
      expect(answer.Images).toHaveLength(1);
      expect(emulator.calls.DescribeImages).toBe(2);
    } finally {
      retrying.destroy();
    }
  });

  it('answers 5xx and Unsupported', async () => {
    emulator.faults.serverError('DescribeInstances', 1, 500);
    emulator.faults.serverError('DescribeInstances', 1, 503);
    const internal = await errorOf(ec2.send(new DescribeInstancesCommand({})));
    expect([internal.name, internal.$metadata.httpStatusCode, internal.$fault]).toEqual([
      'InternalError',
      500,
      'server',
    ]);
    const unavailable = await errorOf(ec2.send(new DescribeInstancesCommand({})));
    expect([unavailable.name, unavailable.$metadata.httpStatusCode]).toEqual(['Unavailable', 503]);
    emulator.faults.unsupportedInstanceType('t3.micro');
    const unsupported = await errorOf(ec2.send(new RunInstancesCommand(runInput())));
    expect([unsupported.name, unsupported.$metadata.httpStatusCode]).toEqual(['Unsupported', 400]);
    expect(emulator.liveInstances()).toEqual([]);
  });

  it('lacks capacity for a chosen type or market', async () => {
    emulator.faults.insufficientCapacity({ instanceType: 't3.micro', market: 'spot' });
    const spot = {
      InstanceMarketOptions: { MarketType: 'spot' as const },
      InstanceInitiatedShutdownBehavior: 'terminate' as const,
    };
    const error = await errorOf(ec2.send(new RunInstancesCommand(runInput(spot))));
    expect([error.name, error.$metadata.httpStatusCode]).toEqual(['InsufficientInstanceCapacity', 500]);
    const onDemand = await ec2.send(new RunInstancesCommand(runInput()));
    expect(onDemand.Instances).toHaveLength(1);
    const otherType = await ec2.send(
      new RunInstancesCommand(runInput({ ...spot, InstanceType: 't3.small' })),
    );
    expect(otherType.Instances![0]!.InstanceLifecycle).toBe('spot');
  });

  it('keeps an instance in pending when asked', async () => {
    emulator.faults.stuckInPending = true;
    const run = await ec2.send(new RunInstancesCommand(runInput()));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const described = await ec2.send(
      new DescribeInstancesCommand({ InstanceIds: [run.Instances![0]!.InstanceId!] }),
    );
    expect(described.Reservations![0]!.Instances![0]!.State?.Name).toBe('pending');
    expect(emulator.instances().find((i) => i.instanceId === run.Instances![0]!.InstanceId)?.sshUp).toBe(
      false,
    );
  });

  it('runs an instance whose SSH never comes up when asked', async () => {
    emulator.faults.sshNeverUp = true;
    const run = await ec2.send(new RunInstancesCommand(runInput()));
    const running = await waitRunning(run.Instances![0]!.InstanceId!);
    const consoleOutput = await ec2.send(new GetConsoleOutputCommand({ InstanceId: running.InstanceId! }));
    expect(hostKeysFromConsole(Buffer.from(consoleOutput.Output ?? '', 'base64').toString())).toEqual([]);
    const material = generateKeyMaterial('ed25519', 'x');
    await expect(
      sshExec(running.PrivateIpAddress!, material.privateKey, material.publicKey, 'true'),
    ).rejects.toThrow();
  });

  it('interrupts a spot instance: state-reason Server.SpotInstanceTermination, sessions killed', async () => {
    const created = await ec2.send(new CreateKeyPairCommand({ KeyName: 'spot', KeyType: 'ed25519' }));
    const run = await ec2.send(
      new RunInstancesCommand(
        runInput({
          KeyName: 'spot',
          InstanceMarketOptions: { MarketType: 'spot' },
          InstanceInitiatedShutdownBehavior: 'terminate',
        }),
      ),
    );
    const running = await waitRunning(run.Instances![0]!.InstanceId!);
    const hostKey = (await hostKeysOf(running.InstanceId!))[0]!;
    // The guest polls its instance metadata for the interruption notice, as a spot-aware job does.
    const session = sshExec(
      running.PrivateIpAddress!,
      created.KeyMaterial!,
      hostKey,
      'echo started; while ! a=$(curl -sf "$AWS_EC2_METADATA_SERVICE_ENDPOINT/latest/meta-data/spot/instance-action"); do sleep 0.05; done; echo "notice $a"; sleep 30; echo finished',
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    const before = Date.now();
    await emulator.interruptSpot(running.InstanceId!, { noticeMs: 1000 });
    const output = await session.catch((error: unknown) => String(error));
    expect(output).toMatch(/notice \{"action":"terminate","time":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"\}/);
    expect(output).not.toContain('finished');
    expect(Date.now() - before).toBeGreaterThanOrEqual(1000);
    expect(Date.now() - before).toBeLessThan(30_000);
    const described = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [running.InstanceId!] }));
    const instance = described.Reservations![0]!.Instances![0]!;
    expect(instance.StateReason?.Code).toBe('Server.SpotInstanceTermination');
    expect(['shutting-down', 'terminated']).toContain(instance.State?.Name);
  });

  it('interrupts spot instances a set time after they run', async () => {
    emulator.faults.spotInterruptionAfterMs = 100;
    const run = await ec2.send(
      new RunInstancesCommand(
        runInput({
          InstanceMarketOptions: { MarketType: 'spot' },
          InstanceInitiatedShutdownBehavior: 'terminate',
        }),
      ),
    );
    const id = run.Instances![0]!.InstanceId!;
    await waitRunning(id);
    await waitFor(() => emulator.instances().find((i) => i.instanceId === id)?.state === 'terminated');
    expect(emulator.instances().find((i) => i.instanceId === id)).toMatchObject({
      state: 'terminated',
      stateReason: { code: 'Server.SpotInstanceTermination' },
    });
  });

  it('throttles above N calls a second: a token bucket of N, refilled at N/s', async () => {
    // The bucket on the emulator's clock (the clock passed in), so machine load cannot change it.
    const faults = new Ec2Faults();
    faults.throttle(5);
    const t0 = performance.now();
    const first = Array.from({ length: 12 }, () => faults.takeThrottleToken(t0));
    expect(first.filter(Boolean)).toHaveLength(5);
    const refilled = Array.from({ length: 3 }, () => faults.takeThrottleToken(t0 + 450));
    expect(refilled).toEqual([true, true, false]);
    // Through the SDK: an empty bucket answers RequestLimitExceeded (HTTP 503).
    emulator.faults.throttle(1);
    emulator.faults.takeThrottleToken();
    const throttled = await errorOf(ec2.send(new DescribeImagesCommand({ ImageIds: [image] })));
    expect([throttled.name, throttled.$metadata.httpStatusCode]).toEqual(['RequestLimitExceeded', 503]);
  });
});

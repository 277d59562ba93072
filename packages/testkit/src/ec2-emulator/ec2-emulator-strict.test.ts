import {
  CreateKeyPairCommand,
  CreateTagsCommand,
  DeleteKeyPairCommand,
  DescribeInstancesCommand,
  EC2Client,
  EC2ServiceException,
  GetConsoleOutputCommand,
  RunInstancesCommand,
  type RunInstancesCommandInput,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { Client as SshClient } from 'ssh2';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Ec2EmulatorState, type InstanceRecord } from './ec2-emulator-state.js';
import { onDemandVcpusInUse } from './ec2-launch-checks.js';
import { type Ec2Emulator, startEc2Emulator } from './index.js';

/** AWS's behaviour, modelled by default: each test names the documented behaviour it checks. */
let emulator: Ec2Emulator;
let ec2: EC2Client;

beforeAll(async () => {
  // Console posting well after boot, so the test sees the gap on a loaded machine too.
  emulator = await startEc2Emulator({
    timings: { consistency: [3000, 3000], consolePost: [4000, 4000] },
  });
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
  await waitFor(() =>
    live.every(
      (id) =>
        emulator
          .instances()
          .find((i) => i.instanceId === id)!
          .visibleAt.getTime() <= Date.now(),
    ),
  );
  if (live.length > 0) await ec2.send(new TerminateInstancesCommand({ InstanceIds: live }));
  for (const pair of emulator.keyPairs())
    await ec2.send(new DeleteKeyPairCommand({ KeyPairId: pair.keyPairId }));
  await emulator.settled();
});

const x86Image = 'ami-0f1e2d3c4b5a69788';
const armImage = 'ami-0c4d5e6f708192a3b';

function runInput(extra: Partial<RunInstancesCommandInput> = {}): RunInstancesCommandInput {
  return { ImageId: x86Image, MinCount: 1, MaxCount: 1, InstanceType: 't3.micro', ...extra };
}

async function errorOf(promise: Promise<unknown>): Promise<EC2ServiceException> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(EC2ServiceException);
  return error as EC2ServiceException;
}

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function instance(id: string) {
  return emulator.instances().find((i) => i.instanceId === id)!;
}

describe('EC2 emulator: eventual consistency', () => {
  it('answers InvalidInstanceID.NotFound for a new id for a while; a NotFound terminate terminates nothing', async () => {
    const run = await ec2.send(new RunInstancesCommand(runInput()));
    const id = run.Instances![0]!.InstanceId!;
    const calls = [
      ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] })),
      ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] })),
      ec2.send(new CreateTagsCommand({ Resources: [id], Tags: [{ Key: 'a', Value: 'b' }] })),
      ec2.send(new GetConsoleOutputCommand({ InstanceId: id })),
    ];
    for (const call of calls) expect((await errorOf(call)).name).toBe('InvalidInstanceID.NotFound');
    const listed = await ec2.send(
      new DescribeInstancesCommand({ Filters: [{ Name: 'instance-id', Values: [id] }] }),
    );
    expect(listed.Reservations).toEqual([]);
    expect(instance(id).state).not.toBe('shutting-down');
    await waitFor(() => instance(id).visibleAt.getTime() <= Date.now());
    const terminated = await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    expect(terminated.TerminatingInstances![0]!.CurrentState!.Name).toBe('shutting-down');
  });
});

describe('EC2 emulator: console output', () => {
  it('refuses Latest on a Xen type, and posts the output only a while after boot', async () => {
    const run = await ec2.send(new RunInstancesCommand(runInput({ InstanceType: 't2.micro' })));
    const id = run.Instances![0]!.InstanceId!;
    await waitFor(() => instance(id).visibleAt.getTime() <= Date.now());
    const latest = await errorOf(ec2.send(new GetConsoleOutputCommand({ InstanceId: id, Latest: true })));
    expect(latest.name).toBe('UnsupportedOperation');
    expect(latest.message).toContain('t2.micro');
    const early = await ec2.send(new GetConsoleOutputCommand({ InstanceId: id }));
    expect(early.Output).toBeUndefined();
    await waitFor(() => instance(id).sshUp);
    // The guest printed its host keys (Latest would show them), but EC2 has not posted them yet.
    expect(instance(id).consoleOutput).toContain('BEGIN SSH HOST KEY KEYS');
    expect((await ec2.send(new GetConsoleOutputCommand({ InstanceId: id }))).Output).toBeUndefined();
    await waitFor(async () => {
      const answer = await ec2.send(new GetConsoleOutputCommand({ InstanceId: id }));
      return Buffer.from(answer.Output ?? '', 'base64')
        .toString()
        .includes('BEGIN SSH HOST KEY KEYS');
    });
  });

  it('serves Latest on a Nitro type as soon as the guest printed it', async () => {
    const run = await ec2.send(new RunInstancesCommand(runInput()));
    const id = run.Instances![0]!.InstanceId!;
    await waitFor(() => instance(id).sshUp && instance(id).visibleAt.getTime() <= Date.now());
    const latest = await ec2.send(new GetConsoleOutputCommand({ InstanceId: id, Latest: true }));
    expect(Buffer.from(latest.Output!, 'base64').toString()).toContain('BEGIN SSH HOST KEY KEYS');
  });
});

describe('EC2 emulator: RunInstances checks what AWS checks', () => {
  it.each<[string, Partial<RunInstancesCommandInput>, string, RegExp]>([
    [
      'an arm64 type with an x86_64 AMI',
      { InstanceType: 'm6g.large' },
      'InvalidParameterValue',
      /The architecture 'arm64' of the specified instance type does not match the architecture 'x86_64' of the specified AMI/,
    ],
    [
      'an x86_64 type with an arm64 AMI',
      { ImageId: armImage },
      'InvalidParameterValue',
      /architecture 'x86_64' of the specified instance type does not match the architecture 'arm64'/,
    ],
    [
      'io1 without Iops',
      { BlockDeviceMappings: [{ DeviceName: '/dev/sda1', Ebs: { VolumeType: 'io1', VolumeSize: 20 } }] },
      'InvalidParameterCombination',
      /iops must be specified for io1/,
    ],
    [
      'st1 as the root volume',
      { BlockDeviceMappings: [{ DeviceName: '/dev/sda1', Ebs: { VolumeType: 'st1', VolumeSize: 500 } }] },
      'InvalidBlockDeviceMapping',
      /st1 cannot be used as a root/,
    ],
    [
      'a root volume smaller than the snapshot',
      { BlockDeviceMappings: [{ DeviceName: '/dev/sda1', Ebs: { VolumeSize: 4 } }] },
      'InvalidBlockDeviceMapping',
      /smaller than snapshot .* expect size >= 8GB/,
    ],
    ['an unknown subnet', { SubnetId: 'subnet-0999ffff' }, 'InvalidSubnetID.NotFound', /subnet-0999ffff/],
    [
      'an unknown security group id',
      { SecurityGroupIds: ['sg-0999ffff'] },
      'InvalidGroup.NotFound',
      /sg-0999ffff/,
    ],
    [
      'an unknown security group name',
      { SecurityGroups: ['nope'] },
      'InvalidGroup.NotFound',
      /'nope' does not exist in default VPC/,
    ],
    [
      'user data over 16 KB',
      { UserData: Buffer.alloc(16_385, 'a').toString('base64') },
      'InvalidParameterValue',
      /User data is limited to 16384 bytes/,
    ],
  ])('refuses %s', async (_what, input, code, message) => {
    const error = await errorOf(ec2.send(new RunInstancesCommand(runInput(input))));
    expect([error.name, error.$metadata.httpStatusCode]).toEqual([code, 400]);
    expect(error.message).toMatch(message);
    expect(emulator.liveInstances()).toEqual([]);
  });

  it('attaches a mapping at another device name as an extra volume, keeping the snapshot-sized root', async () => {
    const run = await ec2.send(
      new RunInstancesCommand(
        runInput({ BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { VolumeSize: 50 } }] }),
      ),
    );
    expect(
      instance(run.Instances![0]!.InstanceId!).blockDevices.map((d) => [d.deviceName, d.volumeSize]),
    ).toEqual([
      ['/dev/sda1', 8],
      ['/dev/xvda', 50],
    ]);
  });

  it.each([
    ['InsufficientInstanceCapacity', 500],
    ['Unsupported', 400],
    ['InstanceLimitExceeded', 400],
    ['VcpuLimitExceeded', 400],
    ['MaxSpotInstanceCountExceeded', 400],
  ] as const)('answers %s (HTTP %i) when injected', async (code, status) => {
    emulator.faults.launchFails(code, { instanceType: 't3.micro' });
    const error = await errorOf(ec2.send(new RunInstancesCommand(runInput())));
    expect([error.name, error.$metadata.httpStatusCode]).toEqual([code, status]);
    expect(emulator.liveInstances()).toEqual([]);
  });

  it('counts On-Demand vCPUs against the account limit, terminated instances for a while too', async () => {
    const limited = await startEc2Emulator({ vcpuLimit: 6, timings: { quotaLinger: [20_000, 20_000] } });
    const client = new EC2Client({
      region: limited.region,
      endpoint: limited.endpoint,
      credentials: limited.credentials,
      maxAttempts: 1,
    });
    try {
      const big = await client.send(new RunInstancesCommand(runInput({ InstanceType: 'm5.xlarge' })));
      const error = await errorOf(
        client.send(new RunInstancesCommand(runInput({ InstanceType: 'm5.large', MaxCount: 2 }))),
      );
      expect(error.name).toBe('VcpuLimitExceeded');
      await client.send(new RunInstancesCommand(runInput({ InstanceType: 'm5.large' })));
      const id = big.Instances![0]!.InstanceId!;
      const bigOne = () => limited.instances().find((i) => i.instanceId === id)!;
      await waitFor(() => bigOne().visibleAt.getTime() <= Date.now());
      await client.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
      await waitFor(() => bigOne().state === 'terminated');
      const still = await errorOf(
        client.send(new RunInstancesCommand(runInput({ InstanceType: 't3.micro' }))),
      );
      expect(still.name).toBe('VcpuLimitExceeded');
    } finally {
      client.destroy();
      await limited.stop();
    }
  });

  it('stops counting a terminated instance once the linger is over', () => {
    const state = new Ec2EmulatorState({ vcpuLimit: 6, timings: { quotaLinger: [1000, 1000] } }, 0);
    const record = {
      data: { market: 'on-demand', state: 'terminated', instanceType: 'm5.xlarge' },
      terminatedAt: 5000,
    };
    state.instances.set('i-0123456789abcdef0', record as unknown as InstanceRecord);
    expect(onDemandVcpusInUse(state, 5999)).toBe(4);
    expect(onDemandVcpusInUse(state, 6000)).toBe(0);
  });
});

describe('EC2 emulator: the guest', () => {
  it('runs user data as root before sshd accepts logins; its users are what user data and the key pair make', async () => {
    const key = await ec2.send(new CreateKeyPairCommand({ KeyName: 'guest', KeyType: 'ed25519' }));
    const publicKey = emulator.keyPairs().find((pair) => pair.keyName === 'guest')!.publicKey;
    const userData = [
      '#!/bin/bash',
      'install -d -m 700 -o travis -g travis ~travis/.ssh',
      `echo '${publicKey}' >> ~travis/.ssh/authorized_keys`,
      'echo "user data ran as $(id -u) in $HOME"',
      'shutdown -P +30 "guard"',
    ].join('\n');
    const run = await ec2.send(
      new RunInstancesCommand(
        runInput({
          KeyName: 'guest',
          UserData: Buffer.from(userData).toString('base64'),
          InstanceInitiatedShutdownBehavior: 'stop',
        }),
      ),
    );
    const id = run.Instances![0]!.InstanceId!;
    await waitFor(() => instance(id).sshUp);
    expect(instance(id)).toMatchObject({ userDataExitCode: 0 });
    await waitFor(() => instance(id).scheduledShutdownAt !== undefined);
    expect(instance(id).scheduledShutdownAt!.getTime() - Date.now()).toBeGreaterThan(29 * 60_000);
    expect(instance(id).consoleOutput).toMatch(/user data ran as 0 in \/.*\/homes\/root/);
    const host = instance(id).privateIpAddress;
    expect(
      await sshExec(host, key.KeyMaterial!, 'travis', 'echo $USER; cat ~/.ssh/authorized_keys | wc -l'),
    ).toBe('travis\n1\n');
    expect(await sshExec(host, key.KeyMaterial!, 'ubuntu', 'echo $USER')).toBe('ubuntu\n');
    await expect(sshExec(host, key.KeyMaterial!, 'root', 'true')).rejects.toThrow();
    // Powering off from inside stops the instance (behaviour "stop"): stopping, then stopped.
    await sshExec(host, key.KeyMaterial!, 'ubuntu', 'sudo poweroff 2>/dev/null || poweroff');
    await waitFor(() => instance(id).state === 'stopping' || instance(id).state === 'stopped');
    await waitFor(() => instance(id).state === 'stopped');
    expect(instance(id).stateReason?.code).toBe('Client.InstanceInitiatedShutdown');
    // On a fast machine all of the above fits in this file's 3 s consistency window: Describe
    // may still say NotFound until it is over, as AWS may.
    await waitFor(() => instance(id).visibleAt.getTime() <= Date.now());
    const described = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
    expect(described.Reservations![0]!.Instances![0]!.State).toEqual({ Code: 80, Name: 'stopped' });
  });
});

function sshExec(host: string, privateKey: string, username: string, command: string): Promise<string> {
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
      .connect({ host, port: emulator.sshPort, username, privateKey, readyTimeout: 5000 });
  });
}

/**
 * One test (or more) per row of the EC2 table in real-cloud-behaviour.md, on an emulator as
 * strict as AWS with a longer eventual-consistency window: each asserts the job's typed result
 * and that nothing is left (instances, key pairs).
 */
import { InvalidConfigError, ProviderApiError, type StartAttributes } from '@workerkit/core';
import { RecordingSink } from '@workerkit/testkit';
import { describe, expect, it } from 'vitest';
import type { Ec2Provider } from '../src/index.js';
import { job, rejection, useEmulatedProvider } from './ec2-test-helpers.js';

const { setup, providerWith, launchedHere, expectNothingLeft } = useEmulatedProvider({
  emulator: { timings: { consistency: [300, 600] } },
});

async function runScript(provider: Ec2Provider, script: string, attributes: StartAttributes = job) {
  const instance = await provider.start(attributes);
  try {
    await instance.uploadScript(script);
    const sink = new RecordingSink();
    const result = await instance.runScript(sink);
    return { result, sink, instance };
  } finally {
    await instance.stop();
  }
}

describe('eventual consistency', () => {
  it('an abort right after RunInstances answered: terminate is retried through NotFound, nothing leaks', async () => {
    const controller = new AbortController();
    const progress = {
      progress: (entry: { message: string }) => {
        if (entry.message.startsWith('started instance')) controller.abort(new Error('ctrl-c'));
      },
    };
    await rejection(setup.provider.start(job, { signal: controller.signal, progress }));
    expect(setup.emulator.errors['InvalidInstanceID.NotFound']).toBeGreaterThanOrEqual(1);
    expect(launchedHere()).toHaveLength(1);
    expect(['shutting-down', 'terminated']).toContain(launchedHere()[0]!.state);
  });

  it('aborts at random moments of a start leave nothing (soak)', async () => {
    for (let round = 0; round < 8; round++) {
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(new Error('soak')), Math.random() * 1500);
      const outcome = await setup.provider.start(job, { signal: controller.signal }).then(
        async (instance) => {
          await instance.stop();
          return 'started';
        },
        () => 'aborted',
      );
      clearTimeout(timer);
      expect(['started', 'aborted']).toContain(outcome);
      await expectNothingLeft();
    }
  });
});

describe('GetConsoleOutput', () => {
  it('a Xen type (t2.micro) runs a job: host keys from the posted output, never Latest', async () => {
    const { result, sink } = await runScript(providerWith({ INSTANCE_TYPE: 't2.micro' }), 'echo xen\n');
    expect(result).toMatchObject({ completed: true, exitCode: 0 });
    expect(sink.text).toBe('xen\n');
    expect(setup.emulator.errors.UnsupportedOperation).toBeUndefined();
    expect(launchedHere()[0]!.instanceType).toBe('t2.micro');
  });
});

describe('architecture', () => {
  it('vm_size on the default (arm64) map picks the arm64 image of the same name pattern', async () => {
    const { result } = await runScript(setup.provider, 'uname -s\n', { ...job, vmSize: 'medium' });
    expect(result).toMatchObject({ completed: true, exitCode: 0 });
    expect(launchedHere()[0]).toMatchObject({ instanceType: 'm6g.large', architecture: 'arm64' });
    expect(setup.emulator.errors.InvalidParameterValue).toBeUndefined();
  });

  it('an x86_64 AMI id with an arm64 type: InvalidConfigError naming both, at setup() and start(), nothing created', async () => {
    const provider = providerWith({ IMAGE_DEFAULT: 'ami-0f1e2d3c4b5a69788', INSTANCE_TYPE: 'm6g.large' });
    const atSetup = await rejection(provider.setup());
    expect(InvalidConfigError.isInstance(atSetup), String(atSetup)).toBe(true);
    expect((atSetup as Error).message).toMatch(
      /m6g\.large \(arm64\).*ami-0f1e2d3c4b5a69788 \(x86_64\)|ami-0f1e2d3c4b5a69788 \(x86_64\).*m6g\.large \(arm64\)/,
    );
    const atStart = await rejection(provider.start(job));
    expect(InvalidConfigError.isInstance(atStart)).toBe(true);
    expect(setup.emulator.calls.RunInstances).toBeUndefined();
    expect(setup.emulator.calls.ImportKeyPair).toBeUndefined();
  });

  it('type fallbacks of the other architecture are skipped, not tried', async () => {
    setup.emulator.faults.insufficientCapacity({ instanceType: 't3.micro' });
    const { result } = await runScript(
      providerWith({ IMAGE_DEFAULT: 'ami-0f1e2d3c4b5a69788', INSTANCE_TYPE_FALLBACKS: 'm6g.large,t3.small' }),
      'true\n',
    );
    expect(result).toMatchObject({ completed: true });
    expect(setup.emulator.calls.RunInstances).toBe(2);
    expect(launchedHere().map((i) => i.instanceType)).toEqual(['t3.small']);
  });
});

describe('capacity and quota codes', () => {
  it.each(['InstanceLimitExceeded', 'VcpuLimitExceeded'] as const)(
    '%s: the job is requeued (retryable, typed) without trying the other types',
    async (code) => {
      setup.emulator.faults.launchFails(code);
      const error = await rejection(providerWith({ INSTANCE_TYPE_FALLBACKS: 't3.small' }).start(job));
      expect(ProviderApiError.isInstance(error)).toBe(true);
      expect(error).toMatchObject({ retryable: true, code });
      expect(setup.emulator.calls.RunInstances).toBe(1);
    },
  );

  it('the account vCPU limit itself (VcpuLimitExceeded from counting) requeues', async () => {
    setup.emulator.faults.launchFails('VcpuLimitExceeded', { market: 'on-demand' });
    const error = await rejection(setup.provider.start(job));
    expect(error).toMatchObject({ retryable: true, code: 'VcpuLimitExceeded' });
  });

  it('MaxSpotInstanceCountExceeded: no more spot attempts, on-demand next', async () => {
    setup.emulator.faults.launchFails('MaxSpotInstanceCountExceeded', { market: 'spot' });
    const { result } = await runScript(
      providerWith({ SPOT: 'true', INSTANCE_TYPE_FALLBACKS: 't3.small' }),
      'true\n',
    );
    expect(result).toMatchObject({ completed: true });
    expect(setup.emulator.calls.RunInstances).toBe(2);
    expect(launchedHere()[0]).toMatchObject({ market: 'on-demand', instanceType: 't3.micro' });
  });

  it('an unknown subnet or security group: InvalidConfigError naming the option, nothing left', async () => {
    const subnet = await rejection(providerWith({ SUBNET_ID: 'subnet-0999ffff' }).start(job));
    expect(subnet).toMatchObject({ name: 'InvalidConfigError', option: 'SUBNET_ID' });
    const group = await rejection(providerWith({ SECURITY_GROUPS: 'sg-0999ffff' }).start(job));
    expect(group).toMatchObject({ name: 'InvalidConfigError', option: 'SECURITY_GROUPS' });
  });
});

describe('root volume', () => {
  it("sizes the AMI's own root device (/dev/xvda, as Amazon Linux has), not an extra /dev/sda1", async () => {
    setup.emulator.addImage({
      imageId: 'ami-0d1d2d3d4d5d6d7d8',
      name: 'workerkit-al2023-20260301',
      ownerId: setup.emulator.accountId,
      creationDate: new Date('2026-03-01T00:00:00Z'),
      architecture: 'x86_64',
      rootDeviceName: '/dev/xvda',
      defaultUser: 'ec2-user',
      users: ['travis'],
    });
    const provider = providerWith({ IMAGE_DEFAULT: 'ami-0d1d2d3d4d5d6d7d8', DISK_SIZE: '30' });
    const { result } = await runScript(provider, 'true\n');
    expect(result).toMatchObject({ completed: true, exitCode: 0 });
    expect(launchedHere()[0]!.blockDevices).toEqual([
      { deviceName: '/dev/xvda', volumeSize: 30, volumeType: 'gp3', deleteOnTermination: true },
    ]);
  });

  it('a root volume smaller than the snapshot: InvalidConfigError on DISK_SIZE', async () => {
    const error = await rejection(providerWith({ DISK_SIZE: '4' }).start(job));
    expect(error).toMatchObject({ name: 'InvalidConfigError', option: 'DISK_SIZE' });
  });
});

describe('spot interruptions', () => {
  it.each(['sessions-first', 'connection-first'] as const)(
    'a run on an interrupted spot instance is "preempted" (%s)',
    async (order) => {
      const instance = await providerWith({ SPOT: 'true' }).start(job);
      try {
        await instance.uploadScript('echo started\nsleep 60\necho not-reached\n');
        const sink = new RecordingSink();
        const running = instance.runScript(sink);
        await sink.waitFor('started');
        await setup.emulator.interruptSpot(instance.id, { noticeMs: 200, order });
        const result = await running;
        expect(result).toMatchObject({ completed: false, reason: 'preempted' });
        expect(sink.text).not.toContain('not-reached');
      } finally {
        await instance.stop();
      }
    },
  );

  it("exit 143 on a spot instance nobody interrupted is the script's own", async () => {
    const { result } = await runScript(providerWith({ SPOT: 'true' }), 'kill -TERM $$\n');
    expect(result).toMatchObject({ completed: true, exitCode: 143 });
  });
});

describe('user data', () => {
  it('the job key reaches ~travis through user data; KEY_NAME gives the default user an admin key', async () => {
    const admin = await (await setup.provider.api.client()).send(
      new (await import('@aws-sdk/client-ec2')).ImportKeyPairCommand({
        KeyName: 'admin',
        PublicKeyMaterial: Buffer.from(
          'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOLvMUuhxlD9nEorV9emtM3J3eZmhZyYFQsFc1GLUIQz admin',
        ),
      }),
    );
    setup.emulator.resetCalls();
    try {
      const { result, sink } = await runScript(providerWith({ KEY_NAME: 'admin' }), 'echo $USER\n');
      expect(result).toMatchObject({ completed: true, exitCode: 0 });
      expect(sink.text).toBe('travis\n');
      expect(launchedHere()[0]).toMatchObject({ keyName: 'admin', userDataExitCode: 0 });
      expect(setup.emulator.calls.ImportKeyPair).toBeUndefined();
    } finally {
      await (await setup.provider.api.client()).send(
        new (await import('@aws-sdk/client-ec2')).DeleteKeyPairCommand({ KeyPairId: admin.KeyPairId! }),
      );
    }
  });

  it('user data over 16 KB: a non-retryable error, nothing left', async () => {
    const big = Buffer.from(`echo ${'x'.repeat(17_000)}\n`).toString('base64url');
    const error = await rejection(providerWith({ USER_DATA: big }).start(job));
    expect(error).toMatchObject({
      name: 'ProviderApiError',
      retryable: false,
      code: 'InvalidParameterValue',
    });
  });
});

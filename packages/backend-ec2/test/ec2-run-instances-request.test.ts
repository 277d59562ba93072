import { ProviderConfig } from '@workerkit/core';
import { describe, expect, it } from 'vitest';
import {
  buildRunInstancesRequest,
  guestShutdownMinutes,
  launchChoices,
  parseEc2Options,
  renderUserData,
} from '../src/index.js';

const config = (extra: Record<string, string> = {}) =>
  parseEc2Options(ProviderConfig.fromMap({ IMAGE_DEFAULT: 'ami-0f1e2d3c4b5a69788', ...extra }));

const input = {
  imageId: 'ami-0f1e2d3c4b5a69788',
  rootDeviceName: '/dev/sda1',
  keyName: 'job-key',
  userData: '#!/bin/bash\ntrue\n',
  tags: { Name: 'travis-job-a-b-1', workerkit: 'true' },
  clientToken: 'token-0',
};

describe('RunInstances request', () => {
  it('requires IMDSv2, terminates on guest shutdown and carries the idempotency token', () => {
    const request = buildRunInstancesRequest(config(), {
      ...input,
      choice: { instanceType: 'm5.large', market: 'on-demand' },
    });
    expect(request).toMatchObject({
      ImageId: input.imageId,
      InstanceType: 'm5.large',
      MinCount: 1,
      MaxCount: 1,
      KeyName: 'job-key',
      ClientToken: 'token-0',
      InstanceInitiatedShutdownBehavior: 'terminate',
      MetadataOptions: { HttpTokens: 'required' },
      EbsOptimized: false,
      BlockDeviceMappings: [
        { DeviceName: '/dev/sda1', Ebs: { VolumeSize: 100, VolumeType: 'gp3', DeleteOnTermination: true } },
      ],
    });
    expect(Buffer.from(request.UserData!, 'base64').toString()).toBe(input.userData);
    expect(request.TagSpecifications).toEqual([
      {
        ResourceType: 'instance',
        Tags: [
          { Key: 'Name', Value: 'travis-job-a-b-1' },
          { Key: 'workerkit', Value: 'true' },
        ],
      },
      {
        ResourceType: 'volume',
        Tags: [
          { Key: 'Name', Value: 'travis-job-a-b-1' },
          { Key: 'workerkit', Value: 'true' },
        ],
      },
    ]);
    expect(request.CreditSpecification).toBeUndefined();
    expect(request.InstanceMarketOptions).toBeUndefined();
    expect(request.IamInstanceProfile).toBeUndefined();
  });

  it('sets CPU credits for burstable types only (unlimited unless configured)', () => {
    const t3 = { ...input, choice: { instanceType: 't3.micro', market: 'on-demand' as const } };
    expect(buildRunInstancesRequest(config(), t3).CreditSpecification).toEqual({ CpuCredits: 'unlimited' });
    expect(
      buildRunInstancesRequest(config({ CPU_CREDIT_SPECIFICATION: 'standard' }), t3).CreditSpecification,
    ).toEqual({
      CpuCredits: 'standard',
    });
  });

  it('uses a network interface for SUBNET_ID so PUBLIC_IP is explicit, with the security group ids', () => {
    const request = buildRunInstancesRequest(
      config({ SUBNET_ID: 'subnet-0123abcd', PUBLIC_IP: 'false', SECURITY_GROUPS: 'sg-0123abcd' }),
      { ...input, choice: { instanceType: 'm5.large', market: 'on-demand' } },
    );
    expect(request.NetworkInterfaces).toEqual([
      {
        DeviceIndex: 0,
        SubnetId: 'subnet-0123abcd',
        AssociatePublicIpAddress: false,
        DeleteOnTermination: true,
        Groups: ['sg-0123abcd'],
      },
    ]);
    expect(request.SubnetId).toBeUndefined();
    expect(request.SecurityGroupIds).toBeUndefined();
  });

  it('passes security group names and ids apart without a subnet', () => {
    const request = buildRunInstancesRequest(config({ SECURITY_GROUP_IDS: 'sg-0123abcd,build-workers' }), {
      ...input,
      choice: { instanceType: 'm5.large', market: 'on-demand' },
    });
    expect(request.SecurityGroupIds).toEqual(['sg-0123abcd']);
    expect(request.SecurityGroups).toEqual(['build-workers']);
  });

  it('sets disk, EBS optimisation, instance profile by name or ARN, and spot options', () => {
    const byName = buildRunInstancesRequest(
      config({
        DISK_SIZE: '30',
        DISK_TYPE: 'io2',
        DISK_IOPS: '3000',
        EBS_OPTIMIZED: 'true',
        IAM_INSTANCE_PROFILE: 'builder',
      }),
      { ...input, rootDeviceName: '/dev/xvda', choice: { instanceType: 'm5.large', market: 'spot' } },
    );
    expect(byName).toMatchObject({
      EbsOptimized: true,
      IamInstanceProfile: { Name: 'builder' },
      BlockDeviceMappings: [
        { DeviceName: '/dev/xvda', Ebs: { VolumeSize: 30, VolumeType: 'io2', Iops: 3000 } },
      ],
      InstanceMarketOptions: {
        MarketType: 'spot',
        SpotOptions: { SpotInstanceType: 'one-time', InstanceInterruptionBehavior: 'terminate' },
      },
    });
    const arn = 'arn:aws:iam::123456789012:instance-profile/builder';
    expect(
      buildRunInstancesRequest(config({ IAM_INSTANCE_PROFILE: arn }), {
        ...input,
        choice: { instanceType: 'm5.large', market: 'on-demand' },
      }).IamInstanceProfile,
    ).toEqual({ Arn: arn });
  });
});

describe('launch choices', () => {
  it('maps vm_size, then the fallbacks, spot first and then on demand', () => {
    const spot = config({
      SPOT: 'true',
      INSTANCE_TYPE: 't3.large',
      INSTANCE_TYPE_FALLBACKS: 'm6g.xlarge,t3a.large',
    });
    expect(launchChoices(spot, 'large')).toEqual([
      { instanceType: 'm6g.xlarge', market: 'spot' },
      { instanceType: 't3a.large', market: 'spot' },
      { instanceType: 'm6g.xlarge', market: 'on-demand' },
      { instanceType: 't3a.large', market: 'on-demand' },
    ]);
    expect(launchChoices(config({ INSTANCE_TYPE: 't3.large' }), 'unknown-size')).toEqual([
      { instanceType: 't3.large', market: 'on-demand' },
    ]);
    expect(launchChoices(config({ SPOT: 'true', SPOT_FALLBACK_ON_DEMAND: 'false' }), undefined)).toEqual([
      { instanceType: 't3.micro', market: 'spot' },
    ]);
  });
});

describe('user data', () => {
  it('schedules a guest shutdown after the hard timeout plus grace, then appends USER_DATA', () => {
    const extra = '#cloud-boothook\necho extra\n';
    const script = renderUserData(config({ USER_DATA: Buffer.from(extra).toString('base64url') }), {
      hardTimeoutMs: 50 * 60_000,
      authorizedKey: 'ssh-ed25519 AAAAC3Nza job',
    });
    expect(guestShutdownMinutes(50 * 60_000)).toBe(65);
    expect(script).toMatch(/^#!\/usr\/bin\/env bash\n/);
    expect(script).toContain("shutdown -P +65 'workerkit: hard timeout guard'");
    expect(script.endsWith(extra)).toBe(true);
  });

  it('always authorizes the job key for SSH_USER, as the Go worker did', () => {
    const script = renderUserData(config({ SSH_USER: 'builder' }), {
      hardTimeoutMs: undefined,
      authorizedKey: 'ssh-ed25519 AAAAC3Nza job',
    });
    expect(script).toContain("echo 'ssh-ed25519 AAAAC3Nza job' >> ~builder/.ssh/authorized_keys");
  });
});

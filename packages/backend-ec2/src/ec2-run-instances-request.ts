import type { RunInstancesCommandInput, Tag } from '@aws-sdk/client-ec2';
import { DEFAULT_EXPIRY_GRACE_MS, DEFAULT_HARD_TIMEOUT_MS } from '@workerkit/core';
import { type Ec2Options, isBurstable } from './ec2-options.js';

export type Ec2Market = 'spot' | 'on-demand';

/** One RunInstances attempt: an instance type in a market. */
export interface LaunchChoice {
  instanceType: string;
  market: Ec2Market;
}

/**
 * The attempts for a job, in order: the type for its vm_size (else INSTANCE_TYPE), then
 * INSTANCE_TYPE_FALLBACKS; with SPOT every type as spot first, then (SPOT_FALLBACK_ON_DEMAND)
 * every type on demand.
 */
export function launchChoices(config: Ec2Options, vmSize: string | undefined): LaunchChoice[] {
  const primary = (vmSize ? config.VM_SIZE_MAP[vmSize] : undefined) ?? config.INSTANCE_TYPE;
  const types = [...new Set([primary, ...config.INSTANCE_TYPE_FALLBACKS])];
  const markets: Ec2Market[] = config.SPOT
    ? config.SPOT_FALLBACK_ON_DEMAND
      ? ['spot', 'on-demand']
      : ['spot']
    : ['on-demand'];
  return markets.flatMap((market) => types.map((instanceType) => ({ instanceType, market })));
}

/** Whole minutes after boot at which the guest powers itself off (hard timeout + grace). */
export function guestShutdownMinutes(hardTimeoutMs: number | undefined): number {
  return Math.ceil(((hardTimeoutMs || DEFAULT_HARD_TIMEOUT_MS) + DEFAULT_EXPIRY_GRACE_MS) / 60_000);
}

/**
 * The user data script, run once as root at first boot: the job's public key for SSH_USER (as
 * the Go worker always did: the image's default user gets the key pair's key, the build user
 * gets it here), a guest-side shutdown timer (with `InstanceInitiatedShutdownBehavior:
 * terminate` a powered-off instance is terminated, so a worker that dies cannot leak it past the
 * job's hard timeout), then USER_DATA.
 */
export function renderUserData(
  config: Ec2Options,
  { hardTimeoutMs, authorizedKey }: { hardTimeoutMs: number | undefined; authorizedKey: string },
): string {
  const minutes = guestShutdownMinutes(hardTimeoutMs);
  const user = config.SSH_USER;
  const lines = [
    '#!/usr/bin/env bash',
    '# workerkit: the job key for the build user.',
    `install -d -m 700 -o ${user} -g ${user} ~${user}/.ssh`,
    `echo '${authorizedKey.replace(/'/g, '')}' >> ~${user}/.ssh/authorized_keys`,
    `chown ${user}:${user} ~${user}/.ssh/authorized_keys && chmod 600 ~${user}/.ssh/authorized_keys`,
    '# workerkit: power off after the hard timeout; the instance then terminates itself.',
    `shutdown -P +${minutes} 'workerkit: hard timeout guard' >/dev/null 2>&1 || (sleep ${minutes * 60} && poweroff) >/dev/null 2>&1 &`,
  ];
  let script = `${lines.join('\n')}\n`;
  if (config.USER_DATA) script += `${config.USER_DATA}${config.USER_DATA.endsWith('\n') ? '' : '\n'}`;
  return script;
}

export interface RunInstancesRequestInput {
  imageId: string;
  /** The AMI's root device name: DISK_SIZE and DISK_TYPE apply to it (unless DISK_DEVICE_NAME says otherwise). */
  rootDeviceName: string;
  choice: LaunchChoice;
  keyName: string | undefined;
  userData: string;
  tags: Record<string, string>;
  clientToken: string;
}

/** Builds the RunInstances input for one attempt. Pure: tested without any API. */
export function buildRunInstancesRequest(
  config: Ec2Options,
  input: RunInstancesRequestInput,
): RunInstancesCommandInput {
  const { choice } = input;
  const tags: Tag[] = Object.entries(input.tags).map(([Key, Value]) => ({ Key, Value }));
  const groups = config.SECURITY_GROUPS ?? [];
  const groupIds = groups.filter((group) => /^sg-/.test(group));
  const groupNames = groups.filter((group) => !/^sg-/.test(group));
  const request: RunInstancesCommandInput = {
    ImageId: input.imageId,
    InstanceType: choice.instanceType as RunInstancesCommandInput['InstanceType'],
    MinCount: 1,
    MaxCount: 1,
    ...(input.keyName ? { KeyName: input.keyName } : {}),
    ClientToken: input.clientToken,
    UserData: Buffer.from(input.userData).toString('base64'),
    InstanceInitiatedShutdownBehavior: 'terminate',
    MetadataOptions: { HttpTokens: 'required', HttpEndpoint: 'enabled', HttpPutResponseHopLimit: 1 },
    EbsOptimized: config.EBS_OPTIMIZED,
    BlockDeviceMappings: [
      {
        DeviceName: config.DISK_DEVICE_NAME ?? input.rootDeviceName,
        Ebs: {
          VolumeSize: config.DISK_SIZE,
          VolumeType: config.DISK_TYPE,
          ...(config.DISK_IOPS !== undefined ? { Iops: config.DISK_IOPS } : {}),
          DeleteOnTermination: true,
        },
      },
    ],
    TagSpecifications: [
      { ResourceType: 'instance', Tags: tags },
      { ResourceType: 'volume', Tags: tags },
    ],
  };
  if (config.SUBNET_ID) {
    // A network interface is the only way to choose the public IP explicitly.
    request.NetworkInterfaces = [
      {
        DeviceIndex: 0,
        SubnetId: config.SUBNET_ID,
        AssociatePublicIpAddress: config.PUBLIC_IP,
        DeleteOnTermination: true,
        ...(groupIds.length > 0 ? { Groups: groupIds } : {}),
      },
    ];
  } else {
    if (groupIds.length > 0) request.SecurityGroupIds = groupIds;
    if (groupNames.length > 0) request.SecurityGroups = groupNames;
  }
  if (config.IAM_INSTANCE_PROFILE) {
    request.IamInstanceProfile = config.IAM_INSTANCE_PROFILE.startsWith('arn:')
      ? { Arn: config.IAM_INSTANCE_PROFILE }
      : { Name: config.IAM_INSTANCE_PROFILE };
  }
  if (isBurstable(choice.instanceType)) {
    request.CreditSpecification = { CpuCredits: config.CPU_CREDIT_SPECIFICATION ?? 'unlimited' };
  }
  if (choice.market === 'spot') {
    request.InstanceMarketOptions = {
      MarketType: 'spot',
      SpotOptions: { SpotInstanceType: 'one-time', InstanceInterruptionBehavior: 'terminate' },
    };
  }
  return request;
}

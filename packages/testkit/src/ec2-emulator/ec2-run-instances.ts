import { createHash } from 'node:crypto';
import { type Ec2EmulatorState, hex, type InstanceRecord, type Reservation } from './ec2-emulator-state.js';
import type { EmulatedInstance, EmulatedKeyPair } from './ec2-emulator-types.js';
import { Ec2ApiError } from './ec2-errors.js';
import { boot } from './ec2-instance-lifecycle.js';
import { reservationMembers } from './ec2-instance-xml.js';
import { keyPairNamed } from './ec2-key-pairs.js';
import type { Ec2QueryParams } from './ec2-query.js';
import { validateTags } from './ec2-tags.js';
import type { XmlValue } from './ec2-xml.js';

/**
 * RunInstances: checks the request as EC2 does, launches MaxCount instances in one reservation
 * and answers them while still pending. A repeated ClientToken answers its first reservation.
 */
export async function runInstances(
  ec2: Ec2EmulatorState,
  params: Ec2QueryParams,
): Promise<Record<string, XmlValue>> {
  const imageId = params.get('ImageId');
  if (!imageId) throw new Ec2ApiError('MissingParameter', 'The request must contain the parameter ImageId');
  const minCount = params.int('MinCount');
  const maxCount = params.int('MaxCount');
  if (minCount === undefined || maxCount === undefined) {
    throw new Ec2ApiError(
      'MissingParameter',
      'The request must contain the parameters MinCount and MaxCount',
    );
  }
  if (!Number.isInteger(minCount) || !Number.isInteger(maxCount) || minCount < 1 || maxCount < minCount) {
    throw new Ec2ApiError(
      'InvalidParameterValue',
      'MinCount and MaxCount must be positive and MinCount <= MaxCount',
    );
  }
  const clientToken = params.get('ClientToken');
  const fingerprint = createHash('sha256')
    .update(JSON.stringify(params.entries().filter(([key]) => key !== 'ClientToken')))
    .digest('hex');
  if (clientToken !== undefined) {
    const previous = ec2.clientTokens.get(clientToken);
    if (previous) {
      if (previous.fingerprint !== fingerprint) {
        throw new Ec2ApiError(
          'IdempotentParameterMismatch',
          'Arguments on this idempotent request are inconsistent with arguments used in previous request(s).',
        );
      }
      return reservationMembers(ec2, previous);
    }
    if (clientToken.length > 64)
      throw new Ec2ApiError('InvalidParameterValue', 'ClientToken is longer than 64 characters');
  }
  const launch = launchSettings(ec2, params, imageId);
  if (ec2.faults.isUnsupported(launch.instanceType)) {
    throw new Ec2ApiError(
      'Unsupported',
      `Your requested instance type (${launch.instanceType}) is not supported in your requested Availability Zone (${ec2.region}a).`,
    );
  }
  if (ec2.faults.lacksCapacity(launch.instanceType, launch.market)) {
    throw new Ec2ApiError(
      'InsufficientInstanceCapacity',
      `We currently do not have sufficient ${launch.instanceType} capacity${launch.market === 'spot' ? ' for Spot' : ''} in the Availability Zone you requested (${ec2.region}a).`,
    );
  }
  const reservation: Reservation = {
    reservationId: `r-${hex(8).slice(0, 17)}`,
    instanceIds: [],
    fingerprint,
  };
  for (let i = 0; i < maxCount; i++) {
    const record = newInstanceRecord(ec2, launch, reservation.reservationId, clientToken);
    ec2.instances.set(record.data.instanceId, record);
    reservation.instanceIds.push(record.data.instanceId);
    boot(ec2, record, launch.keyPair);
  }
  ec2.reservations.set(reservation.reservationId, reservation);
  if (clientToken !== undefined) ec2.clientTokens.set(clientToken, reservation);
  const members = reservationMembers(ec2, reservation);
  if (ec2.bootDelayMs === 0 && ec2.sshDelayMs === 0) {
    // Instant boot: answer (still "pending", as EC2 does) once the guests are up.
    await Promise.all(reservation.instanceIds.map((id) => ec2.instances.get(id)?.booting));
  }
  return members;
}

/** What every instance of one RunInstances call is launched with. */
interface LaunchSettings
  extends Pick<
    EmulatedInstance,
    | 'imageId'
    | 'instanceType'
    | 'keyName'
    | 'market'
    | 'subnetId'
    | 'tags'
    | 'userData'
    | 'iamInstanceProfile'
    | 'cpuCredits'
    | 'metadataHttpTokens'
    | 'shutdownBehavior'
    | 'blockDevices'
  > {
  keyPair: EmulatedKeyPair | undefined;
  securityGroupIds: string[];
  associatePublicIpAddress: boolean | undefined;
  ebsOptimized: boolean;
}

function newInstanceRecord(
  ec2: Ec2EmulatorState,
  launch: LaunchSettings,
  reservationId: string,
  clientToken: string | undefined,
): InstanceRecord {
  const privateIpAddress = ec2.allocateAddress();
  return {
    timers: [],
    data: {
      instanceId: `i-${hex(9).slice(0, 17)}`,
      reservationId,
      imageId: launch.imageId,
      instanceType: launch.instanceType,
      ...(launch.keyName !== undefined ? { keyName: launch.keyName } : {}),
      state: 'pending',
      stateTransitionReason: '',
      market: launch.market,
      privateIpAddress,
      // The guest's sshd listens on both, so a client's choice of address is observable.
      ...(launch.associatePublicIpAddress !== false ? { publicIpAddress: ec2.allocateAddress() } : {}),
      ...(launch.subnetId !== undefined ? { subnetId: launch.subnetId } : {}),
      securityGroupIds: launch.securityGroupIds.length > 0 ? launch.securityGroupIds : ['default'],
      tags: { ...launch.tags },
      ...(launch.userData !== undefined ? { userData: launch.userData } : {}),
      ebsOptimized: launch.ebsOptimized,
      ...(launch.iamInstanceProfile !== undefined
        ? { iamInstanceProfile: { ...launch.iamInstanceProfile } }
        : {}),
      ...(launch.cpuCredits !== undefined ? { cpuCredits: launch.cpuCredits } : {}),
      ...(launch.metadataHttpTokens !== undefined ? { metadataHttpTokens: launch.metadataHttpTokens } : {}),
      shutdownBehavior: launch.shutdownBehavior,
      blockDevices: launch.blockDevices,
      ...(clientToken !== undefined ? { clientToken } : {}),
      launchTime: new Date(),
      sshPort: ec2.sshPort,
      sshUp: false,
      consoleOutput: '',
    },
  };
}

/** Checks a RunInstances request past its image id and counts, in the order EC2 reports errors. */
function launchSettings(ec2: Ec2EmulatorState, params: Ec2QueryParams, imageId: string): LaunchSettings {
  const image = ec2.images.get(imageId);
  if (!image || image.state === 'failed') {
    throw new Ec2ApiError('InvalidAMIID.NotFound', `The image id '[${imageId}]' does not exist`);
  }
  const instanceType = params.get('InstanceType') ?? 'm1.small';
  if (!ec2.instanceTypes.has(instanceType)) {
    throw new Ec2ApiError('InvalidParameterValue', `Invalid value '${instanceType}' for InstanceType.`);
  }
  const keyName = params.get('KeyName');
  const keyPair = keyName === undefined ? undefined : keyPairNamed(ec2, keyName);
  if (keyName !== undefined && !keyPair) {
    throw new Ec2ApiError('InvalidKeyPair.NotFound', `The key pair '${keyName}' does not exist`);
  }
  const marketType = params.get('InstanceMarketOptions.MarketType');
  if (marketType !== undefined && marketType !== 'spot' && marketType !== 'capacity-block') {
    throw new Ec2ApiError('InvalidParameterValue', `Invalid value '${marketType}' for MarketType.`);
  }
  const market = marketType === 'spot' ? 'spot' : 'on-demand';
  const spotType = params.get('InstanceMarketOptions.SpotOptions.SpotInstanceType');
  if (
    market === 'spot' &&
    spotType === 'persistent' &&
    params.get('InstanceMarketOptions.SpotOptions.InstanceInterruptionBehavior') === 'terminate'
  ) {
    throw new Ec2ApiError(
      'InvalidParameterCombination',
      'A persistent spot request cannot terminate on interruption.',
    );
  }
  const shutdownBehavior = params.get('InstanceInitiatedShutdownBehavior') ?? 'stop';
  if (shutdownBehavior !== 'stop' && shutdownBehavior !== 'terminate') {
    throw new Ec2ApiError(
      'InvalidParameterValue',
      `Invalid value '${shutdownBehavior}' for InstanceInitiatedShutdownBehavior.`,
    );
  }
  if (market === 'spot' && shutdownBehavior === 'stop' && spotType !== 'persistent') {
    throw new Ec2ApiError(
      'InvalidParameterCombination',
      "One-time spot instances must use InstanceInitiatedShutdownBehavior 'terminate'.",
    );
  }
  const cpuCredits = params.get('CreditSpecification.CpuCredits');
  if (cpuCredits !== undefined) {
    if (cpuCredits !== 'standard' && cpuCredits !== 'unlimited') {
      throw new Ec2ApiError('InvalidParameterValue', `Invalid value '${cpuCredits}' for CpuCredits.`);
    }
    if (!/^t\d/.test(instanceType)) {
      throw new Ec2ApiError(
        'InvalidParameterCombination',
        `The instance type ${instanceType} does not support CPU credits.`,
      );
    }
  }
  const httpTokens = params.get('MetadataOptions.HttpTokens');
  if (httpTokens !== undefined && httpTokens !== 'optional' && httpTokens !== 'required') {
    throw new Ec2ApiError('InvalidParameterValue', `Invalid value '${httpTokens}' for HttpTokens.`);
  }
  const userData = decodeUserData(params.get('UserData'));
  const network = networkSettings(params);
  const blockDevices = blockDeviceSettings(params);
  for (const type of params.tagSpecificationTypes()) {
    if (!['instance', 'volume', 'network-interface', 'spot-instances-request'].includes(type)) {
      throw new Ec2ApiError(
        'InvalidParameterValue',
        `'${type}' is not a valid taggable resource type for this operation.`,
      );
    }
  }
  const tags = params.tagSpecification('instance');
  validateTags(tags);
  const profileName = params.get('IamInstanceProfile.Name');
  const profileArn = params.get('IamInstanceProfile.Arn');
  return {
    imageId,
    instanceType,
    keyName,
    keyPair,
    market,
    shutdownBehavior,
    cpuCredits,
    metadataHttpTokens: httpTokens,
    userData,
    ...network,
    blockDevices,
    tags,
    ebsOptimized: params.bool('EbsOptimized') ?? false,
    iamInstanceProfile:
      profileName !== undefined || profileArn !== undefined
        ? { ...(profileName ? { name: profileName } : {}), ...(profileArn ? { arn: profileArn } : {}) }
        : undefined,
  };
}

function decodeUserData(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(raw))
    throw new Ec2ApiError('InvalidParameterValue', 'Invalid BASE64 encoding of user data.');
  if (raw.length > 21_848)
    throw new Ec2ApiError('InvalidParameterValue', 'User data is limited to 16384 bytes');
  return Buffer.from(raw, 'base64').toString('utf8');
}

/** Subnet, security groups and public address: instance-level or from the first network interface. */
function networkSettings(
  params: Ec2QueryParams,
): Pick<LaunchSettings, 'subnetId' | 'securityGroupIds' | 'associatePublicIpAddress'> {
  const interfaces = params.indexes('NetworkInterface');
  const interfaceBase = interfaces[0];
  const subnetId =
    params.get('SubnetId') ?? (interfaceBase ? params.get(`${interfaceBase}.SubnetId`) : undefined);
  const groups = [
    ...params.list('SecurityGroupId'),
    ...params.list('SecurityGroup'),
    ...(interfaceBase ? params.list(`${interfaceBase}.SecurityGroupId`) : []),
  ];
  if (interfaceBase && (params.has('SubnetId') || params.list('SecurityGroupId').length > 0)) {
    throw new Ec2ApiError(
      'InvalidParameterCombination',
      'Network interfaces and an instance-level subnet ID or security groups may not be specified on the same request',
    );
  }
  for (const group of groups) {
    if (!/^sg-[0-9a-f]+$/.test(group) && group !== 'default') {
      throw new Ec2ApiError('InvalidGroup.NotFound', `The security group '${group}' does not exist`);
    }
  }
  if (subnetId !== undefined && !/^subnet-[0-9a-f]+$/.test(subnetId)) {
    throw new Ec2ApiError('InvalidSubnetID.NotFound', `The subnet ID '${subnetId}' does not exist`);
  }
  return {
    subnetId,
    securityGroupIds: groups,
    associatePublicIpAddress: interfaceBase
      ? params.bool(`${interfaceBase}.AssociatePublicIpAddress`)
      : undefined,
  };
}

function blockDeviceSettings(params: Ec2QueryParams): LaunchSettings['blockDevices'] {
  return params.indexes('BlockDeviceMapping').map((base) => {
    const size = params.int(`${base}.Ebs.VolumeSize`);
    if (size !== undefined && (!Number.isInteger(size) || size < 1 || size > 16_384)) {
      throw new Ec2ApiError('InvalidParameterValue', `Volume of size ${String(size)}GB is out of range.`);
    }
    return {
      deviceName: params.get(`${base}.DeviceName`) ?? '/dev/sda1',
      ...(size !== undefined ? { volumeSize: size } : {}),
      ...(params.has(`${base}.Ebs.VolumeType`) ? { volumeType: params.get(`${base}.Ebs.VolumeType`)! } : {}),
      ...(params.has(`${base}.Ebs.DeleteOnTermination`)
        ? { deleteOnTermination: params.bool(`${base}.Ebs.DeleteOnTermination`)! }
        : {}),
    };
  });
}

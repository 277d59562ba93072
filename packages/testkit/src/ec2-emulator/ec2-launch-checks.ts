import type { Ec2EmulatorState } from './ec2-emulator-state.js';
import type { EmulatedBlockDevice, EmulatedImage, EmulatedSecurityGroup } from './ec2-emulator-types.js';
import { Ec2ApiError } from './ec2-errors.js';
import type { EmulatedInstanceType } from './ec2-instance-types.js';
import type { Ec2QueryParams } from './ec2-query.js';

/** EC2's limit on user data, in raw form (before base64). */
export const USER_DATA_LIMIT_BYTES = 16_384;

/** RunInstances refuses an instance type whose architecture is not the AMI's. */
export function checkArchitecture(type: EmulatedInstanceType, image: EmulatedImage): void {
  const imageArchitecture = image.architecture ?? 'x86_64';
  if (type.architecture === imageArchitecture) return;
  throw new Ec2ApiError(
    'InvalidParameterValue',
    `The architecture '${type.architecture}' of the specified instance type does not match the architecture '${imageArchitecture}' of the specified AMI. ` +
      `Specify an instance type and an AMI that have matching architectures, and try again. ` +
      `You can use 'describe-instance-types' or 'describe-images' to discover the architecture of the instance type or AMI.`,
  );
}

/** The user data, base64-decoded; over 16 KB (raw) is refused. */
export function decodeUserData(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(raw) || raw.length % 4 !== 0)
    throw new Ec2ApiError('InvalidParameterValue', 'Invalid BASE64 encoding of user data.');
  const bytes = Buffer.from(raw, 'base64');
  if (bytes.length > USER_DATA_LIMIT_BYTES)
    throw new Ec2ApiError('InvalidParameterValue', `User data is limited to ${USER_DATA_LIMIT_BYTES} bytes`);
  return bytes.toString('utf8');
}

export interface NetworkSettings {
  subnetId: string;
  availabilityZone: string;
  securityGroups: EmulatedSecurityGroup[];
  associatePublicIpAddress: boolean | undefined;
}

/**
 * Subnet, security groups and public address, instance-level or from the first network
 * interface. Unknown subnets and groups are refused as EC2 does; without a subnet the instance
 * goes to the default VPC's first subnet, without groups into its `default` group.
 */
export function networkSettings(ec2: Ec2EmulatorState, params: Ec2QueryParams): NetworkSettings {
  const interfaceBase = params.indexes('NetworkInterface')[0];
  const groupIds = [
    ...params.list('SecurityGroupId'),
    ...(interfaceBase ? params.list(`${interfaceBase}.SecurityGroupId`) : []),
  ];
  const groupNames = params.list('SecurityGroup');
  if (interfaceBase && (params.has('SubnetId') || params.list('SecurityGroupId').length > 0)) {
    throw new Ec2ApiError(
      'InvalidParameterCombination',
      'Network interfaces and an instance-level subnet ID or security groups may not be specified on the same request',
    );
  }
  const subnetId =
    params.get('SubnetId') ?? (interfaceBase ? params.get(`${interfaceBase}.SubnetId`) : undefined);
  if (subnetId !== undefined && groupNames.length > 0) {
    throw new Ec2ApiError(
      'InvalidParameterCombination',
      'The parameter groupName cannot be used with the parameter subnet',
    );
  }
  const subnet =
    subnetId === undefined
      ? ec2.subnets[0]
      : ec2.subnets.find((candidate) => candidate.subnetId === subnetId);
  if (!subnet)
    throw new Ec2ApiError('InvalidSubnetID.NotFound', `The subnet ID '${subnetId}' does not exist`);
  const groups: EmulatedSecurityGroup[] = [];
  for (const id of groupIds) {
    const group = ec2.securityGroups.find((candidate) => candidate.groupId === id);
    if (!group) throw new Ec2ApiError('InvalidGroup.NotFound', `The security group '${id}' does not exist`);
    if (group.vpcId !== subnet.vpcId) {
      throw new Ec2ApiError(
        'InvalidParameter',
        `Security group ${id} and subnet ${subnet.subnetId} belong to different networks.`,
      );
    }
    groups.push(group);
  }
  for (const name of groupNames) {
    const group = ec2.securityGroups.find((candidate) => candidate.groupName === name);
    if (!group) {
      throw new Ec2ApiError(
        'InvalidGroup.NotFound',
        `The security group '${name}' does not exist in default VPC '${subnet.vpcId}'`,
      );
    }
    groups.push(group);
  }
  if (groups.length === 0) {
    const fallback = ec2.securityGroups.find((g) => g.groupName === 'default' && g.vpcId === subnet.vpcId);
    if (fallback) groups.push(fallback);
  }
  return {
    subnetId: subnet.subnetId,
    availabilityZone: subnet.availabilityZone,
    securityGroups: groups,
    associatePublicIpAddress: interfaceBase
      ? params.bool(`${interfaceBase}.AssociatePublicIpAddress`)
      : undefined,
  };
}

const VOLUME_TYPES = ['standard', 'gp2', 'gp3', 'io1', 'io2', 'st1', 'sc1'];

/**
 * The instance's volumes: the root volume from the AMI's snapshot (a mapping at the AMI's
 * `RootDeviceName` changes its size and type; one at another name is an extra volume, as EC2
 * attaches it without a word), then the others. EC2's volume rules apply.
 */
export function blockDevices(params: Ec2QueryParams, image: EmulatedImage): EmulatedBlockDevice[] {
  const rootName = image.rootDeviceName ?? '/dev/sda1';
  const snapshotSize = image.rootVolumeSize ?? 8;
  const snapshotId = `snap-${image.imageId.slice(4)}`;
  const root: EmulatedBlockDevice = {
    deviceName: rootName,
    volumeSize: snapshotSize,
    volumeType: 'gp3',
    deleteOnTermination: true,
  };
  const extra: EmulatedBlockDevice[] = [];
  for (const base of params.indexes('BlockDeviceMapping')) {
    const deviceName = params.get(`${base}.DeviceName`);
    if (!deviceName)
      throw new Ec2ApiError(
        'MissingParameter',
        'The request must contain the parameter BlockDeviceMapping.DeviceName',
      );
    const size = params.int(`${base}.Ebs.VolumeSize`);
    const type = params.get(`${base}.Ebs.VolumeType`);
    const iops = params.int(`${base}.Ebs.Iops`);
    const isRoot = deviceName === rootName;
    if (size !== undefined && (!Number.isInteger(size) || size < 1 || size > 16_384))
      throw new Ec2ApiError('InvalidParameterValue', `Volume of size ${String(size)}GB is out of range.`);
    if (type !== undefined && !VOLUME_TYPES.includes(type))
      throw new Ec2ApiError('InvalidParameterValue', `Value (${type}) for parameter volumeType is invalid.`);
    const volumeType = type ?? 'gp3';
    if ((volumeType === 'io1' || volumeType === 'io2') && iops === undefined) {
      throw new Ec2ApiError(
        'InvalidParameterCombination',
        `The parameter iops must be specified for ${volumeType} volumes.`,
      );
    }
    if (iops !== undefined && !['io1', 'io2', 'gp3'].includes(volumeType)) {
      throw new Ec2ApiError(
        'InvalidParameterCombination',
        `The parameter iops is not supported for ${volumeType} volumes.`,
      );
    }
    if (isRoot && (volumeType === 'st1' || volumeType === 'sc1')) {
      throw new Ec2ApiError(
        'InvalidBlockDeviceMapping',
        `Volume type ${volumeType} cannot be used as a root (boot) volume.`,
      );
    }
    if (isRoot && size !== undefined && size < snapshotSize) {
      throw new Ec2ApiError(
        'InvalidBlockDeviceMapping',
        `Volume of size ${size}GB is smaller than snapshot '${snapshotId}', expect size >= ${snapshotSize}GB`,
      );
    }
    if (!isRoot && size === undefined) {
      throw new Ec2ApiError('MissingParameter', 'The request must contain the parameter size or snapshotId');
    }
    const deleteOnTermination = params.bool(`${base}.Ebs.DeleteOnTermination`) ?? true;
    const device: EmulatedBlockDevice = {
      deviceName,
      volumeSize: size ?? snapshotSize,
      volumeType,
      ...(iops !== undefined ? { iops } : {}),
      deleteOnTermination,
    };
    if (isRoot) Object.assign(root, device);
    else extra.push(device);
  }
  return [root, ...extra];
}

/**
 * On-Demand vCPUs held now: every instance not stopped, and terminated ones for a while after
 * (AWS: terminated instances keep counting toward the limits for a time).
 */
export function onDemandVcpusInUse(ec2: Ec2EmulatorState, now = Date.now()): number {
  let sum = 0;
  for (const { data, terminatedAt } of ec2.instances.values()) {
    if (data.market !== 'on-demand' || data.state === 'stopped') continue;
    if (data.state === 'terminated' && now - (terminatedAt ?? 0) >= ec2.timings.quotaLinger[1]) continue;
    sum += ec2.instanceTypes.get(data.instanceType)?.vcpus ?? 0;
  }
  return sum;
}

/** The message EC2 gives with each launch capacity or quota code. */
export function launchFailureMessage(
  code: string,
  instanceType: string,
  market: string,
  zone: string,
): string {
  switch (code) {
    case 'InsufficientInstanceCapacity':
      return `We currently do not have sufficient ${instanceType} capacity${market === 'spot' ? ' for Spot' : ''} in the Availability Zone you requested (${zone}). Our system will be working on provisioning additional capacity.`;
    case 'Unsupported':
      return `Your requested instance type (${instanceType}) is not supported in your requested Availability Zone (${zone}).`;
    case 'InstanceLimitExceeded':
      return `You have requested more instances than your current instance limit allows for the specified instance type. Please visit http://aws.amazon.com/contact-us/ec2-request to request an adjustment to this limit.`;
    case 'VcpuLimitExceeded':
      return `You have requested more vCPU capacity than your current vCPU limit allows for the instance bucket that the specified instance type belongs to. Please visit http://aws.amazon.com/contact-us/ec2-request to request an adjustment to this limit.`;
    case 'MaxSpotInstanceCountExceeded':
      return 'Max spot instance count exceeded';
    default:
      return code;
  }
}

import { createHash } from 'node:crypto';
import { type Ec2EmulatorState, hex, type InstanceRecord, type Reservation } from './ec2-emulator-state.js';
import type { EmulatedImage, EmulatedInstance, EmulatedKeyPair } from './ec2-emulator-types.js';
import { Ec2ApiError } from './ec2-errors.js';
import { boot } from './ec2-instance-lifecycle.js';
import { reservationMembers } from './ec2-instance-xml.js';
import { keyPairNamed } from './ec2-key-pairs.js';
import {
  blockDevices,
  checkArchitecture,
  decodeUserData,
  launchFailureMessage,
  type NetworkSettings,
  networkSettings,
  onDemandVcpusInUse,
} from './ec2-launch-checks.js';
import type { Ec2QueryParams } from './ec2-query.js';
import { validateTags } from './ec2-tags.js';
import { draw } from './ec2-timing.js';
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
  const zone = launch.network.availabilityZone;
  const injected = ec2.faults.launchFailure(launch.instanceType, launch.market);
  if (injected) {
    throw new Ec2ApiError(injected, launchFailureMessage(injected, launch.instanceType, launch.market, zone));
  }
  if (launch.market === 'on-demand' && ec2.vcpuLimit !== undefined) {
    const wanted = maxCount * (ec2.instanceTypes.get(launch.instanceType)?.vcpus ?? 0);
    if (onDemandVcpusInUse(ec2) + wanted > ec2.vcpuLimit) {
      throw new Ec2ApiError(
        'VcpuLimitExceeded',
        launchFailureMessage('VcpuLimitExceeded', launch.instanceType, launch.market, zone),
      );
    }
  }
  const reservation: Reservation = {
    reservationId: `r-${hex(8).slice(0, 17)}`,
    instanceIds: [],
    fingerprint,
  };
  const visibleAt = new Date(Date.now() + draw(ec2.timings.consistency));
  for (let i = 0; i < maxCount; i++) {
    const record = newInstanceRecord(ec2, launch, reservation.reservationId, clientToken, visibleAt);
    ec2.instances.set(record.data.instanceId, record);
    reservation.instanceIds.push(record.data.instanceId);
    boot(ec2, record, launch.image, launch.keyPair);
  }
  ec2.reservations.set(reservation.reservationId, reservation);
  if (clientToken !== undefined) ec2.clientTokens.set(clientToken, reservation);
  const members = reservationMembers(ec2, reservation);
  if (ec2.profile === 'instant') {
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
    | 'architecture'
  > {
  image: EmulatedImage;
  keyPair: EmulatedKeyPair | undefined;
  network: NetworkSettings;
  ebsOptimized: boolean;
}

function newInstanceRecord(
  ec2: Ec2EmulatorState,
  launch: LaunchSettings,
  reservationId: string,
  clientToken: string | undefined,
  visibleAt: Date,
): InstanceRecord {
  const privateIpAddress = ec2.allocateAddress();
  return {
    timers: [],
    lifecycle: new AbortController(),
    data: {
      instanceId: `i-${hex(9).slice(0, 17)}`,
      reservationId,
      imageId: launch.imageId,
      instanceType: launch.instanceType,
      architecture: launch.architecture,
      ...(launch.keyName !== undefined ? { keyName: launch.keyName } : {}),
      state: 'pending',
      stateTransitionReason: '',
      market: launch.market,
      privateIpAddress,
      // The guest's sshd listens on both, so a client's choice of address is observable.
      ...(launch.network.associatePublicIpAddress !== false
        ? { publicIpAddress: ec2.allocateAddress() }
        : {}),
      subnetId: launch.network.subnetId,
      securityGroupIds: launch.network.securityGroups.map((group) => group.groupId),
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
      postedConsoleOutput: '',
      visibleAt,
    },
  };
}

/** Checks a RunInstances request past its image id and counts, in the order EC2 reports errors. */
function launchSettings(ec2: Ec2EmulatorState, params: Ec2QueryParams, imageId: string): LaunchSettings {
  if (!/^ami-[0-9a-f]{8,17}$/.test(imageId))
    throw new Ec2ApiError('InvalidAMIID.Malformed', `Invalid id: "${imageId}" (expecting "ami-...")`);
  const image = ec2.images.get(imageId);
  if (!image || image.state === 'failed') {
    throw new Ec2ApiError('InvalidAMIID.NotFound', `The image id '[${imageId}]' does not exist`);
  }
  const instanceType = params.get('InstanceType') ?? 'm1.small';
  const type = ec2.instanceTypes.get(instanceType);
  if (!type) {
    throw new Ec2ApiError('InvalidParameterValue', `Invalid value '${instanceType}' for InstanceType.`);
  }
  checkArchitecture(type, image);
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
  const network = networkSettings(ec2, params);
  const volumes = blockDevices(params, image);
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
    image,
    imageId,
    instanceType,
    architecture: type.architecture,
    keyName,
    keyPair,
    market,
    shutdownBehavior,
    cpuCredits,
    metadataHttpTokens: httpTokens,
    userData,
    network,
    blockDevices: volumes,
    tags,
    ebsOptimized: params.bool('EbsOptimized') ?? false,
    iamInstanceProfile:
      profileName !== undefined || profileArn !== undefined
        ? { ...(profileName ? { name: profileName } : {}), ...(profileArn ? { arn: profileArn } : {}) }
        : undefined,
  };
}

import { createHash } from 'node:crypto';
import type { Ec2EmulatorState, Reservation } from './ec2-emulator-state.js';
import { type EmulatedInstance, INSTANCE_STATE_CODES } from './ec2-emulator-types.js';
import { list, node, tagSet, type XmlValue } from './ec2-xml.js';

/** An instance as DescribeInstances and RunInstances write it. */
function instanceXml(ec2: Ec2EmulatorState, data: EmulatedInstance): XmlValue {
  return node({
    instanceId: data.instanceId,
    imageId: data.imageId,
    instanceState: node({ code: INSTANCE_STATE_CODES[data.state], name: data.state }),
    privateDnsName: `ip-${data.privateIpAddress.replaceAll('.', '-')}.ec2.internal`,
    dnsName: data.publicIpAddress
      ? `ec2-${data.publicIpAddress.replaceAll('.', '-')}.compute-1.amazonaws.com`
      : '',
    reason: data.stateTransitionReason,
    keyName: data.keyName,
    amiLaunchIndex: 0,
    productCodes: list([]),
    instanceType: data.instanceType,
    launchTime: data.launchTime,
    placement: node({
      availabilityZone:
        ec2.subnets.find((subnet) => subnet.subnetId === data.subnetId)?.availabilityZone ?? `${ec2.region}a`,
      groupName: '',
      tenancy: 'default',
    }),
    monitoring: node({ state: 'disabled' }),
    subnetId: data.subnetId,
    vpcId: ec2.subnets.find((subnet) => subnet.subnetId === data.subnetId)?.vpcId,
    privateIpAddress: data.state === 'terminated' ? undefined : data.privateIpAddress,
    // EC2 assigns the public address at launch: it shows while pending already.
    ipAddress: ['pending', 'running', 'shutting-down'].includes(data.state)
      ? data.publicIpAddress
      : undefined,
    groupSet: list(
      data.securityGroupIds.map((groupId) =>
        node({
          groupId,
          groupName: ec2.securityGroups.find((group) => group.groupId === groupId)?.groupName ?? groupId,
        }),
      ),
    ),
    stateReason: data.stateReason ? node(data.stateReason) : undefined,
    architecture: data.architecture,
    rootDeviceType: 'ebs',
    rootDeviceName: data.blockDevices[0]?.deviceName,
    blockDeviceMapping: list(
      data.state === 'terminated'
        ? []
        : data.blockDevices.map((device, index) =>
            node({
              deviceName: device.deviceName,
              ebs: node({
                volumeId: `vol-${createHash('sha1').update(`${data.instanceId}${index}`).digest('hex').slice(0, 17)}`,
                status: 'attached',
                attachTime: data.launchTime,
                deleteOnTermination: device.deleteOnTermination,
              }),
            }),
          ),
    ),
    instanceLifecycle: data.market === 'spot' ? 'spot' : undefined,
    virtualizationType: 'hvm',
    clientToken: data.clientToken,
    tagSet: tagSet(data.tags),
    hypervisor: 'xen',
    iamInstanceProfile: data.iamInstanceProfile
      ? node({
          arn:
            data.iamInstanceProfile.arn ??
            `arn:aws:iam::${ec2.accountId}:instance-profile/${data.iamInstanceProfile.name ?? ''}`,
          id: 'AIPAEMULATED',
        })
      : undefined,
    ebsOptimized: data.ebsOptimized,
    metadataOptions: node({
      state: 'applied',
      httpTokens: data.metadataHttpTokens ?? 'optional',
      httpPutResponseHopLimit: 1,
      httpEndpoint: 'enabled',
    }),
  });
}

/**
 * A reservation's members (id, owner, groups, instances) as RunInstances answers them and
 * DescribeInstances lists them; with `only`, just those instances.
 */
export function reservationMembers(
  ec2: Ec2EmulatorState,
  reservation: Reservation,
  only?: ReadonlySet<string>,
): Record<string, XmlValue> {
  return {
    reservationId: reservation.reservationId,
    ownerId: ec2.accountId,
    groupSet: list([]),
    instancesSet: list(
      reservation.instanceIds
        .filter((id) => !only || only.has(id))
        .map((id) => instanceXml(ec2, ec2.instances.get(id)!.data)),
    ),
  };
}

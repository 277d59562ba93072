import type { Ec2EmulatorState } from './ec2-emulator-state.js';
import type { EmulatedImage, EmulatedSecurityGroup, EmulatedSubnet } from './ec2-emulator-types.js';
import { checkFilters, Ec2ApiError } from './ec2-errors.js';
import { type Ec2QueryParams, matchesFilters, tagFilterValues } from './ec2-query.js';
import { list, node, tagSet, type XmlValue } from './ec2-xml.js';

/**
 * The account's build images (Ubuntu with a `travis` user, as Travis CI images have): an older
 * and a newer x86_64 one and the newest of all for arm64, so a name pattern alone matches both
 * architectures; and a public Amazon Linux image (root `/dev/xvda`, user `ec2-user`).
 */
export function defaultImages(accountId: string): EmulatedImage[] {
  const build = { ownerId: accountId, defaultUser: 'ubuntu', users: ['travis'], rootDeviceName: '/dev/sda1' };
  return [
    {
      ...build,
      imageId: 'ami-0a1b2c3d4e5f60718',
      name: 'workerkit-ubuntu-jammy-20260101',
      architecture: 'x86_64',
      creationDate: new Date('2026-01-01T00:00:00Z'),
      description: 'workerkit build image (emulated), older',
    },
    {
      ...build,
      imageId: 'ami-0f1e2d3c4b5a69788',
      name: 'workerkit-ubuntu-jammy-20260301',
      architecture: 'x86_64',
      creationDate: new Date('2026-03-01T00:00:00Z'),
      description: 'workerkit build image (emulated), newest x86_64',
    },
    {
      ...build,
      imageId: 'ami-0c4d5e6f708192a3b',
      name: 'workerkit-ubuntu-jammy-20260315',
      architecture: 'arm64',
      creationDate: new Date('2026-03-15T00:00:00Z'),
      description: 'workerkit build image (emulated), arm64',
    },
    {
      imageId: 'ami-0123456789abcdef0',
      name: 'amzn2-ami-hvm-2.0.20260101-x86_64-gp2',
      ownerId: '137112412989',
      ownerAlias: 'amazon',
      isPublic: true,
      architecture: 'x86_64',
      rootDeviceName: '/dev/xvda',
      defaultUser: 'ec2-user',
      creationDate: new Date('2026-01-01T00:00:00Z'),
    },
  ];
}

/** The default VPC of the emulated account. */
export const DEFAULT_VPC_ID = 'vpc-0e1a2b3c4d5e6f708';

/** Two subnets of the default VPC (the first is the one tests name). */
export function defaultSubnets(region: string): EmulatedSubnet[] {
  return [
    { subnetId: 'subnet-0123abcd', vpcId: DEFAULT_VPC_ID, availabilityZone: `${region}a` },
    { subnetId: 'subnet-0456cdef', vpcId: DEFAULT_VPC_ID, availabilityZone: `${region}b` },
  ];
}

/** The default VPC's `default` group and one more (`builds`). */
export function defaultSecurityGroups(): EmulatedSecurityGroup[] {
  return [
    { groupId: 'sg-0d1e2f3a4b5c6d7e8', groupName: 'default', vpcId: DEFAULT_VPC_ID },
    { groupId: 'sg-0123abcd', groupName: 'builds', vpcId: DEFAULT_VPC_ID },
  ];
}

export function describeImages(ec2: Ec2EmulatorState, params: Ec2QueryParams): Record<string, XmlValue> {
  const { accountId } = ec2;
  const ids = params.list('ImageId');
  const owners = params.list('Owner');
  const filters = params.filters();
  const valuesOf = (image: EmulatedImage, name: string): string[] | undefined =>
    tagFilterValues(name, image.tags ?? {}) ??
    (
      {
        name: [image.name],
        'image-id': [image.imageId],
        state: [image.state ?? 'available'],
        architecture: [image.architecture ?? 'x86_64'],
        'root-device-name': [image.rootDeviceName ?? '/dev/sda1'],
        'owner-id': [image.ownerId],
        'owner-alias': image.ownerAlias ? [image.ownerAlias] : [],
        'is-public': [String(image.isPublic ?? false)],
        'image-type': ['machine'],
        'root-device-type': ['ebs'],
        'virtualization-type': ['hvm'],
      } as Record<string, string[]>
    )[name];
  checkFilters(filters, (name) => valuesOf(defaultImages(accountId)[0]!, name) !== undefined);
  for (const id of ids) {
    if (!/^ami-[0-9a-f]+$/.test(id)) throw new Ec2ApiError('InvalidAMIID.Malformed', `Invalid id: "${id}"`);
  }
  const ownerMatches = (image: EmulatedImage) =>
    owners.length === 0 ||
    owners.some(
      (owner) =>
        owner === image.ownerId ||
        (owner === 'self' && image.ownerId === accountId) ||
        (image.ownerAlias !== undefined && owner === image.ownerAlias),
    );
  const selected = [...ec2.images.values()].filter(
    (image) =>
      (ids.length === 0 || ids.includes(image.imageId)) &&
      ownerMatches(image) &&
      (ids.length > 0 || owners.length > 0 || image.isPublic || image.ownerId === accountId) &&
      matchesFilters(filters, (name) => valuesOf(image, name)),
  );
  return {
    imagesSet: list(
      selected.map((image) =>
        node({
          imageId: image.imageId,
          imageLocation: `${image.ownerId}/${image.name}`,
          imageState: image.state ?? 'available',
          imageOwnerId: image.ownerId,
          creationDate: image.creationDate,
          isPublic: image.isPublic ?? false,
          architecture: image.architecture ?? 'x86_64',
          imageType: 'machine',
          imageOwnerAlias: image.ownerAlias,
          name: image.name,
          description: image.description,
          rootDeviceType: 'ebs',
          rootDeviceName: image.rootDeviceName ?? '/dev/sda1',
          blockDeviceMapping: list([
            node({
              deviceName: image.rootDeviceName ?? '/dev/sda1',
              ebs: node({
                snapshotId: `snap-${image.imageId.slice(4)}`,
                volumeSize: image.rootVolumeSize ?? 8,
                deleteOnTermination: true,
                volumeType: 'gp3',
              }),
            }),
          ]),
          virtualizationType: 'hvm',
          tagSet: tagSet(image.tags ?? {}),
          hypervisor: 'xen',
        }),
      ),
    ),
  };
}

export function describeInstanceTypes(
  ec2: Ec2EmulatorState,
  params: Ec2QueryParams,
): Record<string, XmlValue> {
  const asked = params.list('InstanceType');
  for (const type of asked) {
    if (!ec2.instanceTypes.has(type))
      throw new Ec2ApiError(
        'InvalidInstanceType',
        `The following supplied instance types do not exist: [${type}]`,
      );
  }
  const selected = asked.length > 0 ? asked : [...ec2.instanceTypes.keys()];
  return {
    instanceTypeSet: list(
      selected.map((name) => {
        const type = ec2.instanceTypes.get(name)!;
        return node({
          instanceType: type.instanceType,
          currentGeneration: true,
          supportedUsageClasses: list(['on-demand', 'spot']),
          supportedRootDeviceTypes: list(['ebs']),
          supportedVirtualizationTypes: list(['hvm']),
          hypervisor: type.hypervisor,
          processorInfo: node({ supportedArchitectures: list([type.architecture]) }),
          vCpuInfo: node({ defaultVCpus: type.vcpus }),
          memoryInfo: node({ sizeInMiB: type.memoryMiB }),
          burstablePerformanceSupported: type.burstable,
        });
      }),
    ),
  };
}

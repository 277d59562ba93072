import type { Ec2EmulatorState } from './ec2-emulator-state.js';
import type { EmulatedImage } from './ec2-emulator-types.js';
import { checkFilters, Ec2ApiError } from './ec2-errors.js';
import { type Ec2QueryParams, matchesFilters, tagFilterValues } from './ec2-query.js';
import { list, node, tagSet, type XmlValue } from './ec2-xml.js';

export const DEFAULT_INSTANCE_TYPES = [
  't2.micro',
  't2.small',
  't2.medium',
  't3.micro',
  't3.small',
  't3.medium',
  't3.large',
  't3a.medium',
  'm5.large',
  'm5.xlarge',
  'm6g.large',
  'm6g.xlarge',
  'm6g.2xlarge',
  'm6g.4xlarge',
  'c5.large',
  'c5.xlarge',
];

/** Two build images of the account (an older and a newer one) and a public Amazon one. */
export function defaultImages(accountId: string): EmulatedImage[] {
  return [
    {
      imageId: 'ami-0a1b2c3d4e5f60718',
      name: 'workerkit-ubuntu-jammy-20260101',
      ownerId: accountId,
      creationDate: new Date('2026-01-01T00:00:00Z'),
      description: 'workerkit build image (emulated), older',
    },
    {
      imageId: 'ami-0f1e2d3c4b5a69788',
      name: 'workerkit-ubuntu-jammy-20260301',
      ownerId: accountId,
      creationDate: new Date('2026-03-01T00:00:00Z'),
      description: 'workerkit build image (emulated), newest',
    },
    {
      imageId: 'ami-0123456789abcdef0',
      name: 'amzn2-ami-hvm-2.0.20260101-x86_64-gp2',
      ownerId: '137112412989',
      ownerAlias: 'amazon',
      isPublic: true,
      creationDate: new Date('2026-01-01T00:00:00Z'),
    },
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
          rootDeviceName: '/dev/sda1',
          blockDeviceMapping: list([
            node({
              deviceName: '/dev/sda1',
              ebs: node({ volumeSize: 8, deleteOnTermination: true, volumeType: 'gp3' }),
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
  const selected = asked.length > 0 ? asked : [...ec2.instanceTypes];
  return {
    instanceTypeSet: list(
      selected.map((instanceType) =>
        node({
          instanceType,
          currentGeneration: true,
          burstablePerformanceSupported: /^t\d/.test(instanceType),
          supportedUsageClasses: list(['on-demand', 'spot']),
          processorInfo: node({
            supportedArchitectures: list([instanceType.startsWith('m6g') ? 'arm64' : 'x86_64']),
          }),
        }),
      ),
    ),
  };
}

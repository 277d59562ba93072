import { InvalidConfigError, ProviderApiError } from '@workerkit/core';
import type { Ec2InstanceTypes } from './ec2-architecture.js';
import type { Ec2ImageResolver, ResolvedImage } from './ec2-image.js';
import { EC2_ALIAS, isAmiId } from './ec2-options.js';
import type { LaunchChoice } from './ec2-run-instances-request.js';

/** A launch attempt with the image of its instance type's architecture. */
export interface PlannedLaunch extends LaunchChoice {
  image: ResolvedImage;
}

/**
 * Pairs each launch choice (instance type × market, in order) with the image of its
 * architecture: RunInstances refuses an arm64 type with an x86_64 AMI and the other way round.
 * Choices with no image of their architecture are left out; when none is left, the job cannot
 * run with this configuration: an `InvalidConfigError` naming the types and the image.
 */
export async function planLaunch(
  types: Ec2InstanceTypes,
  images: Ec2ImageResolver,
  reference: string,
  choices: readonly LaunchChoice[],
  option: string,
  signal?: AbortSignal,
): Promise<PlannedLaunch[]> {
  const architectures = await types.architectures(
    choices.map((choice) => choice.instanceType),
    option,
    signal,
  );
  const byArchitecture = new Map<string, ResolvedImage | undefined>();
  for (const architecture of new Set(architectures.values()))
    byArchitecture.set(architecture, await images.resolve(reference, architecture, signal));
  const planned: PlannedLaunch[] = [];
  for (const choice of choices) {
    const image = byArchitecture.get(architectures.get(choice.instanceType)!);
    if (image) planned.push({ ...choice, image });
  }
  if (planned.length > 0) return planned;
  const typeList = [...architectures].map(([type, architecture]) => `${type} (${architecture})`).join(', ');
  if (!isAmiId(reference)) {
    // A name pattern: the job's image (selector, IMAGE_MAP) may differ per job, so this is the
    // job's failure, not the configuration's; retrying will not help either.
    throw new ProviderApiError({
      provider: EC2_ALIAS,
      operation: 'DescribeImages',
      message: `no available ${images.describe(reference)} of the architecture of ${typeList}`,
      retryable: false,
    });
  }
  throw new InvalidConfigError({
    provider: EC2_ALIAS,
    option,
    value: [...architectures.keys()].join(','),
    expected: `an instance type of the architecture of ${images.describe(reference)}; ${typeList} have none`,
  });
}

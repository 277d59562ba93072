import type { Ec2EmulatorState } from './ec2-emulator-state.js';
import { Ec2ApiError } from './ec2-errors.js';
import type { Ec2QueryParams } from './ec2-query.js';
import type { XmlValue } from './ec2-xml.js';

/** EC2's limits on a resource's tags. */
export function validateTags(tags: Record<string, string>): void {
  for (const [key, value] of Object.entries(tags)) {
    if (key === '' || key.length > 128)
      throw new Ec2ApiError('InvalidParameterValue', `Tag key '${key}' must be 1 to 128 characters`);
    if (key.toLowerCase().startsWith('aws:'))
      throw new Ec2ApiError(
        'InvalidParameterValue',
        `Tag keys starting with 'aws:' are reserved for internal use`,
      );
    if (value.length > 256)
      throw new Ec2ApiError('InvalidParameterValue', `Tag value for '${key}' exceeds 256 characters`);
  }
  if (Object.keys(tags).length > 50)
    throw new Ec2ApiError('TagLimitExceeded', 'The maximum number of tags per resource is 50');
}

/** CreateTags on instances, key pairs and images. */
export function createTags(ec2: Ec2EmulatorState, params: Ec2QueryParams): Record<string, XmlValue> {
  const ids = params.list('ResourceId');
  if (ids.length === 0)
    throw new Ec2ApiError('MissingParameter', 'The request must contain the parameter ResourceId');
  const tags = params.tags('Tag');
  for (const id of ids) {
    const target = ec2.visibleInstance(id)?.data ?? ec2.keyPairs.get(id) ?? ec2.images.get(id);
    if (!target) {
      const code = id.startsWith('i-')
        ? 'InvalidInstanceID.NotFound'
        : id.startsWith('key-')
          ? 'InvalidKeyPair.NotFound'
          : 'InvalidID';
      throw new Ec2ApiError(code, `The ID '${id}' does not exist`);
    }
    const merged = { ...(target.tags ?? {}), ...tags };
    validateTags(merged);
    target.tags = merged;
  }
  // The model's CreateTags output is empty (EC2 itself adds <return>true</return>, which the SDK drops).
  return {};
}

import type { Filter, Instance as InstanceDescription } from '@aws-sdk/client-ec2';
import {
  LIFECYCLE_LABELS,
  type ManagedResource,
  readLifecycleLabels,
  type SignalOptions,
} from '@workerkit/core';
import type { Ec2Api } from './ec2-client.js';
import type { Ec2Context } from './ec2-context.js';
import { ec2ErrorCode } from './ec2-errors.js';

const LIVE_STATES = ['pending', 'running', 'stopping', 'stopped'];

/** Instances (not terminated) and key pairs tagged with the lifecycle labels. */
export async function listEc2Resources(
  { api, options: config }: Ec2Context,
  options: SignalOptions = {},
): Promise<ManagedResource[]> {
  const managedFilter: Filter = { Name: 'tag-key', Values: [LIFECYCLE_LABELS.managed] };
  const [instances, keyPairs] = await Promise.all([
    describeAllInstances(
      api,
      [managedFilter, { Name: 'instance-state-name', Values: LIVE_STATES }],
      options.signal,
    ),
    api.call(
      'DescribeKeyPairs',
      (client, sendOptions, sdk) =>
        client.send(new sdk.DescribeKeyPairsCommand({ Filters: [managedFilter] }), sendOptions),
      { signal: options.signal },
    ),
  ]);
  const resources: ManagedResource[] = [];
  for (const instance of instances) {
    const lifecycle = readLifecycleLabels(tagMap(instance.Tags));
    if (!lifecycle || !instance.InstanceId) continue;
    resources.push({
      kind: 'instance',
      id: instance.InstanceId,
      ...lifecycle,
      details: {
        region: config.REGION,
        state: instance.State?.Name ?? 'unknown',
        keyName: instance.KeyName ?? '',
      },
    });
  }
  for (const pair of keyPairs.KeyPairs ?? []) {
    const lifecycle = readLifecycleLabels(tagMap(pair.Tags));
    if (!lifecycle || !pair.KeyPairId) continue;
    resources.push({
      kind: 'key-pair',
      id: pair.KeyPairId,
      ...lifecycle,
      details: { region: config.REGION, keyName: pair.KeyName ?? '' },
    });
  }
  return resources;
}
/** Every instance matching `filters`, page by page. */
export async function describeAllInstances(
  api: Ec2Api,
  filters: Filter[],
  signal?: AbortSignal,
): Promise<InstanceDescription[]> {
  const found: InstanceDescription[] = [];
  let nextToken: string | undefined;
  do {
    const token = nextToken;
    const page = await api.call(
      'DescribeInstances',
      (client, sendOptions, sdk) =>
        client.send(
          new sdk.DescribeInstancesCommand({
            Filters: filters,
            MaxResults: 500,
            ...(token ? { NextToken: token } : {}),
          }),
          sendOptions,
        ),
      { signal },
    );
    for (const reservation of page.Reservations ?? []) found.push(...(reservation.Instances ?? []));
    nextToken = page.NextToken;
  } while (nextToken);
  return found;
}
/** Terminates an instance or deletes a key pair listed by `listEc2Resources`. */
export async function deleteEc2Resource(
  { api }: Ec2Context,
  resource: ManagedResource,
  options: SignalOptions = {},
): Promise<void> {
  if (resource.kind === 'instance') {
    await terminateInstance(api, resource.id, options.signal);
  } else if (resource.kind === 'key-pair') {
    await api.call(
      'DeleteKeyPair',
      (client, sendOptions, sdk) =>
        client.send(new sdk.DeleteKeyPairCommand({ KeyPairId: resource.id }), sendOptions),
      { signal: options.signal },
    );
  } else {
    throw new TypeError(`ec2: cannot delete a resource of kind "${resource.kind}"`);
  }
}
/** Terminates an instance; one already gone counts as done. */
export async function terminateInstance(
  api: Ec2Api,
  instanceId: string,
  signal?: AbortSignal,
): Promise<void> {
  try {
    await api.call(
      'TerminateInstances',
      (client, options, sdk) =>
        client.send(new sdk.TerminateInstancesCommand({ InstanceIds: [instanceId] }), options),
      { signal },
    );
  } catch (error) {
    if (ec2ErrorCode(error) !== 'InvalidInstanceID.NotFound') throw error;
  }
}
function tagMap(tags: { Key?: string; Value?: string }[] | undefined): Record<string, string> {
  const map: Record<string, string> = {};
  for (const tag of tags ?? []) if (tag.Key !== undefined) map[tag.Key] = tag.Value ?? '';
  return map;
}

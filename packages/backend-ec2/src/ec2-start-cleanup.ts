import { DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import type { Ec2Context } from './ec2-context.js';
import { toEc2ApiError } from './ec2-errors.js';
import { deleteKeyPair } from './ec2-key-pairs.js';
import { terminateInstance } from './ec2-managed-resources.js';

/** Time allowed to clean up after a failed or aborted start. */
const CLEANUP_TIMEOUT_MS = 120_000;

/** What a start created so far: what a failure or abort must delete. */
export class StartResources {
  keyName: string | undefined;
  clientTokens: string[] = [];
  instanceId: string | undefined;
}

/** Terminates an instance and deletes its per-instance key pair; both are attempted. */
export async function releaseInstance(
  { api, config }: Ec2Context,
  { instanceId, keyName }: { instanceId: string; keyName: string },
  signal?: AbortSignal,
): Promise<void> {
  const results = await Promise.allSettled([
    terminateInstance(api, instanceId, signal),
    config.KEY_NAME ? Promise.resolve() : deleteKeyPair(api, keyName, signal),
  ]);
  const failure = results.find((result) => result.status === 'rejected');
  if (failure) throw toEc2ApiError('stop', failure.reason);
}
/**
 * Deletes what a failed or aborted start created. An aborted RunInstances may still have
 * launched: its client tokens find the instance.
 */
export async function cleanUpFailedStart(
  { api, logger }: Ec2Context,
  created: StartResources,
  cause: unknown,
): Promise<void> {
  const signal = AbortSignal.timeout(CLEANUP_TIMEOUT_MS);
  const instanceIds = new Set<string>(created.instanceId ? [created.instanceId] : []);
  try {
    if (!created.instanceId && created.clientTokens.length > 0) {
      const answer = await api.call(
        'DescribeInstances',
        (client, options) =>
          client.send(
            new DescribeInstancesCommand({
              Filters: [{ Name: 'client-token', Values: created.clientTokens }],
            }),
            options,
          ),
        { signal },
      );
      for (const reservation of answer.Reservations ?? []) {
        for (const instance of reservation.Instances ?? [])
          if (instance.InstanceId) instanceIds.add(instance.InstanceId);
      }
    }
    await Promise.all([
      ...[...instanceIds].map((id) => terminateInstance(api, id, signal)),
      ...(created.keyName ? [deleteKeyPair(api, created.keyName, signal)] : []),
    ]);
  } catch (error) {
    logger.error('ec2: cleanup after a failed start did not finish; `workerkit gc` will retry', {
      instances: [...instanceIds],
      keyName: created.keyName,
      error: String(error),
      cause: String(cause),
    });
  }
}

import type { RunInstancesCommandInput } from '@aws-sdk/client-ec2';
import type { Ec2Context } from './ec2-context.js';
import { toEc2ApiError } from './ec2-errors.js';
import { deleteKeyPair } from './ec2-key-pairs.js';
import { terminateConfirmed } from './ec2-terminate.js';

/** Time allowed to clean up after a failed or aborted start. */
const CLEANUP_TIMEOUT_MS = 120_000;

/** What a start created so far: what a failure or abort must delete. */
export class StartResources {
  keyName: string | undefined;
  /** A RunInstances request sent and not answered yet (aborted mid-call: it may have launched). */
  inFlight: RunInstancesCommandInput | undefined;
  instanceId: string | undefined;
}

/**
 * Terminates an instance (confirmed: EC2 answered shutting-down or terminated) and then deletes
 * its per-instance key pair.
 */
export async function releaseInstance(
  { api, options }: Ec2Context,
  { instanceId, keyName }: { instanceId: string; keyName: string | undefined },
  signal?: AbortSignal,
): Promise<void> {
  try {
    await terminateConfirmed(api, instanceId, signal);
    if (keyName && !options.KEY_NAME) await deleteKeyPair(api, keyName, signal);
  } catch (error) {
    throw toEc2ApiError('stop', error);
  }
}

/**
 * Deletes what a failed or aborted start created. A RunInstances aborted before EC2 answered
 * may still have launched: sending the same request again with its client token answers that
 * instance (RunInstances is idempotent per token) or launches it now, and either way it is
 * then terminated. Instances are confirmed terminated before the key pair is deleted.
 */
export async function cleanUpFailedStart(
  { api, options, logger }: Ec2Context,
  created: StartResources,
  cause: unknown,
): Promise<void> {
  const signal = AbortSignal.timeout(CLEANUP_TIMEOUT_MS);
  let instanceId = created.instanceId;
  try {
    if (!instanceId && created.inFlight) {
      const request = created.inFlight;
      const answer = await api
        .call(
          'RunInstances',
          (client, sendOptions, sdk) => client.send(new sdk.RunInstancesCommand(request), sendOptions),
          {
            signal,
          },
        )
        .catch(() => undefined); // An error answer launched nothing.
      instanceId = answer?.Instances?.[0]?.InstanceId;
    }
    if (instanceId) await terminateConfirmed(api, instanceId, signal);
    if (created.keyName && !options.KEY_NAME) await deleteKeyPair(api, created.keyName, signal);
  } catch (error) {
    logger.error('ec2: cleanup after a failed start did not finish; `workerkit gc` will retry', {
      instance: instanceId,
      keyName: created.keyName,
      error: String(error),
      cause: String(cause),
    });
  }
}

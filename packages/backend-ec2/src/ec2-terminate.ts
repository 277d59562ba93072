import { ProviderApiError, sleep } from '@workerkit/core';
import type { Ec2Api } from './ec2-client.js';
import { ec2ErrorCode } from './ec2-errors.js';
import { EC2_ALIAS } from './ec2-options.js';

/** How long a launched instance's id may stay unknown to EC2 (eventual consistency) before we give up. */
const TERMINATE_CONFIRM_MS = 60_000;

/**
 * Terminates an instance this provider launched, and does not stop until EC2 confirmed it
 * (`shutting-down` or `terminated`). Right after RunInstances EC2 may answer
 * `InvalidInstanceID.NotFound` for the id (eventual consistency), and such a terminate did
 * nothing: it is retried with backoff for up to a minute, never taken as "already gone".
 */
export async function terminateConfirmed(
  api: Ec2Api,
  instanceId: string,
  signal?: AbortSignal,
): Promise<void> {
  const deadline = performance.now() + TERMINATE_CONFIRM_MS;
  let delayMs = 100;
  for (;;) {
    try {
      const answer = await api.call(
        'TerminateInstances',
        (client, options, sdk) =>
          client.send(new sdk.TerminateInstancesCommand({ InstanceIds: [instanceId] }), options),
        { signal },
      );
      const state = answer.TerminatingInstances?.[0]?.CurrentState?.Name;
      if (state === 'shutting-down' || state === 'terminated') return;
    } catch (error) {
      if (ec2ErrorCode(error) !== 'InvalidInstanceID.NotFound' || performance.now() > deadline) throw error;
    }
    if (performance.now() > deadline) {
      throw new ProviderApiError({
        provider: EC2_ALIAS,
        operation: 'TerminateInstances',
        message: `instance ${instanceId} was not confirmed terminating within ${TERMINATE_CONFIRM_MS / 1000} s`,
        retryable: true,
      });
    }
    await sleep(delayMs, signal);
    delayMs = Math.min(2000, delayMs * 1.5);
  }
}

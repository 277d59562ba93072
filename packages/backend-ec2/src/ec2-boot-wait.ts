import { DescribeInstancesCommand, type Instance as InstanceDescription } from '@aws-sdk/client-ec2';
import { formatDuration, type Progresser, ProviderApiError, sleep } from '@workerkit/core';
import type { Ec2Context } from './ec2-context.js';
import { ec2ErrorCode } from './ec2-errors.js';
import { EC2_ALIAS } from './ec2-options.js';

/**
 * Polls DescribeInstances (BOOT_POLL_SLEEP, growing to 5 s) until the instance runs and has an
 * address, fails at once when it stops or terminates, and gives up after BOOT_TIMEOUT.
 */
export async function waitRunning(
  { api, options: config }: Ec2Context,
  instanceId: string,
  started: number,
  progress: Progresser,
  signal?: AbortSignal,
): Promise<InstanceDescription> {
  const deadline = performance.now() + config.BOOT_TIMEOUT;
  let delayMs = config.BOOT_POLL_SLEEP;
  progress.progress({ message: 'waiting for instance to be running...', continues: true });
  for (;;) {
    await sleep(Math.min(delayMs, Math.max(0, deadline - performance.now())), signal);
    let instance: InstanceDescription | undefined;
    try {
      const answer = await api.call(
        'DescribeInstances',
        (client, options) =>
          client.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }), options),
        { signal },
      );
      instance = answer.Reservations?.[0]?.Instances?.[0];
    } catch (error) {
      // Right after RunInstances EC2 may not know the id yet (eventual consistency).
      if (ec2ErrorCode(error) !== 'InvalidInstanceID.NotFound') {
        if (!signal?.aborted)
          progress.progress({
            message: 'could not check the instance state',
            state: 'failure',
            interrupts: true,
          });
        throw error;
      }
    }
    const state = instance?.State?.Name;
    if (state === 'running' && (instance?.PrivateIpAddress || instance?.PublicIpAddress)) {
      progress.progress({
        message: `instance is ready (${formatDuration(performance.now() - started)})`,
        state: 'success',
        interrupts: true,
      });
      return instance!;
    }
    if (state === 'shutting-down' || state === 'terminated' || state === 'stopping' || state === 'stopped') {
      progress.progress({
        message: `instance ${state} while starting`,
        state: 'failure',
        interrupts: true,
      });
      throw new ProviderApiError({
        provider: EC2_ALIAS,
        operation: 'start',
        message: `instance ${instanceId} is ${state} while starting (${instance?.StateReason?.Code ?? 'no reason given'})`,
        retryable: true,
        ...(instance?.StateReason?.Code ? { code: instance.StateReason.Code } : {}),
      });
    }
    if (performance.now() >= deadline) {
      progress.progress({
        message: 'timeout waiting for instance to be ready',
        state: 'failure',
        interrupts: true,
      });
      throw new ProviderApiError({
        provider: EC2_ALIAS,
        operation: 'start',
        message: `instance ${instanceId} still ${state ?? 'unknown'} after ${formatDuration(config.BOOT_TIMEOUT)}`,
        retryable: true,
        code: 'BootTimeout',
      });
    }
    progress.progress({ message: '.', raw: true });
    delayMs = Math.min(5000, delayMs * 1.5);
  }
}

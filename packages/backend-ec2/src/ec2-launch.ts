import { randomUUID } from 'node:crypto';
import { type Instance as InstanceDescription, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { type Progresser, ProviderApiError, type StartAttributes } from '@workerkit/core';
import type { Ec2Context } from './ec2-context.js';
import { ec2ErrorCode } from './ec2-errors.js';
import type { ResolvedImage } from './ec2-image.js';
import { EC2_ALIAS } from './ec2-options.js';
import { buildRunInstancesRequest, type LaunchChoice, launchChoices } from './ec2-run-instances-request.js';
import type { StartResources } from './ec2-start-cleanup.js';

/** Codes after which the next instance type / market is tried. */
const NEXT_CHOICE_CODES = new Set([
  'InsufficientInstanceCapacity',
  'InsufficientCapacity',
  'Unsupported',
  'SpotMaxPriceTooLow',
  'MaxSpotInstanceCountExceeded',
  'InstanceLimitExceeded',
]);

/**
 * Launches the instance: each launch choice (instance type × market) in turn until one has
 * capacity; any other error ends the start.
 */
export async function runInstance(
  { api, config, logger }: Ec2Context,
  image: ResolvedImage,
  keyName: string,
  userData: string,
  tags: Record<string, string>,
  job: StartAttributes,
  created: StartResources,
  progress: Progresser,
  signal?: AbortSignal,
): Promise<{ instance: InstanceDescription; choice: LaunchChoice }> {
  const choices = launchChoices(config, job.vmSize);
  const startToken = randomUUID();
  const failures: string[] = [];
  let lastError: unknown;
  for (const [index, choice] of choices.entries()) {
    // One token per attempt: a retried call (5xx, throttling) cannot launch a second instance.
    const clientToken = `${startToken}-${index}`;
    created.clientTokens.push(clientToken);
    const request = buildRunInstancesRequest(config, {
      imageId: image.imageId,
      choice,
      keyName,
      userData,
      tags,
      clientToken,
    });
    try {
      const answer = await api.call(
        'RunInstances',
        (client, options) => client.send(new RunInstancesCommand(request), options),
        { signal },
      );
      const instance = answer.Instances?.[0];
      if (!instance?.InstanceId) {
        throw new ProviderApiError({
          provider: EC2_ALIAS,
          operation: 'RunInstances',
          message: 'no instance returned',
          retryable: true,
        });
      }
      created.instanceId = instance.InstanceId;
      progress.progress({
        message: `started instance "${instance.InstanceId}" (${choice.instanceType}, ${choice.market})`,
        state: 'success',
      });
      return { instance, choice };
    } catch (error) {
      if (signal?.aborted) throw error;
      const code = ec2ErrorCode(error);
      if (!code || !NEXT_CHOICE_CODES.has(code)) {
        progress.progress({ message: 'could not start instance', state: 'failure' });
        throw error;
      }
      lastError = error;
      failures.push(`${choice.instanceType} ${choice.market}: ${code}`);
      logger.info('ec2: no capacity, trying the next instance type / market', {
        choice,
        code,
      });
    }
  }
  progress.progress({ message: 'could not start instance: no capacity', state: 'failure' });
  throw new ProviderApiError({
    provider: EC2_ALIAS,
    operation: 'RunInstances',
    message: `no capacity for any instance type or market (${failures.join('; ')})`,
    retryable: true,
    ...(ec2ErrorCode(lastError) ? { code: ec2ErrorCode(lastError)! } : {}),
    cause: lastError,
  });
}

import { randomUUID } from 'node:crypto';
import type { Instance as InstanceDescription, RunInstancesCommandOutput } from '@aws-sdk/client-ec2';
import { InvalidConfigError, type Progresser, ProviderApiError } from '@workerkit/core';
import type { Ec2Context } from './ec2-context.js';
import { ec2ErrorCode, toEc2ApiError } from './ec2-errors.js';
import type { PlannedLaunch } from './ec2-launch-plan.js';
import { EC2_ALIAS } from './ec2-options.js';
import { buildRunInstancesRequest } from './ec2-run-instances-request.js';
import type { StartResources } from './ec2-start-cleanup.js';

/**
 * What a RunInstances error means for the job (EC2 error codes reference):
 * - `next`: this type or zone has no capacity or does not offer the type; the next choice may.
 * - `next-market`: spot is out (count quota, price); the on-demand choices may still work.
 * - `requeue`: an account quota is full; other types share it, so stop trying and let the job
 *   come back later (retryable).
 * - `config`: the request itself is wrong for this account: a configuration error.
 */
const LAUNCH_FAILURES: Record<string, 'next' | 'next-market' | 'requeue' | { option: string }> = {
  InsufficientInstanceCapacity: 'next',
  InsufficientCapacity: 'next',
  InsufficientHostCapacity: 'next',
  Unsupported: 'next',
  MaxSpotInstanceCountExceeded: 'next-market',
  SpotMaxPriceTooLow: 'next-market',
  InstanceLimitExceeded: 'requeue',
  VcpuLimitExceeded: 'requeue',
  'InvalidSubnetID.NotFound': { option: 'SUBNET_ID' },
  'InvalidGroup.NotFound': { option: 'SECURITY_GROUPS' },
  'InvalidKeyPair.NotFound': { option: 'KEY_NAME' },
  'InvalidAMIID.NotFound': { option: 'IMAGE_DEFAULT' },
  'InvalidAMIID.Malformed': { option: 'IMAGE_DEFAULT' },
  InvalidBlockDeviceMapping: { option: 'DISK_SIZE' },
};

/** How a RunInstances error is handled (undefined: by its retryability, as any API error). */
export function classifyLaunchFailure(
  code: string | undefined,
): (typeof LAUNCH_FAILURES)[string] | undefined {
  return code === undefined ? undefined : LAUNCH_FAILURES[code];
}

/**
 * Launches the instance: each planned choice (instance type × market, with its image) in turn
 * while the failure says another choice may work. Each attempt has its own client token and is
 * recorded as in flight until EC2 answered, so an abort mid-call can still find what it launched.
 */
export async function runInstance(
  { api, options, logger }: Ec2Context,
  plan: readonly PlannedLaunch[],
  keyName: string | undefined,
  userData: string,
  tags: Record<string, string>,
  created: StartResources,
  progress: Progresser,
  signal?: AbortSignal,
): Promise<{ instance: InstanceDescription; choice: PlannedLaunch }> {
  const startToken = randomUUID();
  const failures: string[] = [];
  let lastError: unknown;
  let skipSpot = false;
  for (const [index, choice] of plan.entries()) {
    if (skipSpot && choice.market === 'spot') continue;
    const request = buildRunInstancesRequest(options, {
      imageId: choice.image.imageId,
      rootDeviceName: choice.image.rootDeviceName,
      choice,
      keyName,
      userData,
      tags,
      // One token per attempt: a retried call (5xx, throttling) cannot launch a second instance.
      clientToken: `${startToken}-${index}`,
    });
    created.inFlight = request;
    let answer: RunInstancesCommandOutput;
    try {
      answer = await api.call(
        'RunInstances',
        (client, sendOptions, sdk) => client.send(new sdk.RunInstancesCommand(request), sendOptions),
        { signal },
      );
    } catch (error) {
      if (signal?.aborted) throw error;
      // EC2 answered: nothing was launched by this attempt.
      created.inFlight = undefined;
      const code = ec2ErrorCode(error);
      const kind = classifyLaunchFailure(code);
      if (kind === 'next' || kind === 'next-market') {
        if (kind === 'next-market') skipSpot = true;
        lastError = error;
        failures.push(`${choice.instanceType} ${choice.market}: ${code}`);
        logger.info('ec2: cannot launch this choice, trying the next instance type / market', {
          choice,
          code,
        });
        continue;
      }
      progress.progress({ message: 'could not start instance', state: 'failure' });
      if (kind === 'requeue') {
        throw new ProviderApiError({
          provider: EC2_ALIAS,
          operation: 'RunInstances',
          message: `${code}: the account's quota is full (${choice.instanceType} ${choice.market}); the job can run when instances end`,
          retryable: true,
          code: code!,
          cause: error,
        });
      }
      if (kind !== undefined) {
        throw new InvalidConfigError({
          provider: EC2_ALIAS,
          option: kind.option,
          value: kind.option === 'IMAGE_DEFAULT' ? choice.image.imageId : undefined,
          expected: `a value EC2 accepts (${code}: ${(error as Error).message})`,
          cause: error,
        });
      }
      throw code === 'InvalidParameterValue' || code === 'InvalidParameterCombination'
        ? toEc2ApiError('RunInstances', error)
        : error;
    }
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
    created.inFlight = undefined;
    progress.progress({
      message: `started instance "${instance.InstanceId}" (${choice.instanceType}, ${choice.market})`,
      state: 'success',
    });
    return { instance, choice };
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

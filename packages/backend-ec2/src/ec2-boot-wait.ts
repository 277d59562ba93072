import type { Instance as InstanceDescription } from '@aws-sdk/client-ec2';
import { formatDuration, type Progresser, ProviderApiError, sleep } from '@workerkit/core';
import type { Ec2Api } from './ec2-client.js';
import type { Ec2Context } from './ec2-context.js';
import { ec2ErrorCode } from './ec2-errors.js';
import { EC2_ALIAS, type Ec2Options } from './ec2-options.js';

/** Whether the connection goes to the public address (PUBLIC_IP and PUBLIC_IP_CONNECT). */
export function connectsPublicly(options: Ec2Options): boolean {
  return options.PUBLIC_IP && options.PUBLIC_IP_CONNECT;
}

/**
 * Waits until the instance has the address we connect to. The private address is in the
 * RunInstances answer, so no call is made for it; the public one is assigned while the
 * instance is pending and read with DescribeInstances (first after BOOT_POLL_SLEEP × 2, as EC2
 * rarely knows a new id sooner, then doubling up to 10 s; an id EC2 does not know yet is asked
 * again). Readiness itself is left to the SSH wait, which
 * dials port 22 without API calls (see `connectSsh`).
 */
export async function waitForAddress(
  { api, options }: Ec2Context,
  launched: InstanceDescription,
  started: number,
  progress: Progresser,
  signal?: AbortSignal,
): Promise<InstanceDescription> {
  progress.progress({ message: 'waiting for instance to be running...', continues: true });
  const ready = (instance: InstanceDescription) => {
    progress.progress({
      message: `instance is ready (${formatDuration(performance.now() - started)})`,
      state: 'success',
      interrupts: true,
    });
    return instance;
  };
  if (!connectsPublicly(options) && launched.PrivateIpAddress) return ready(launched);
  const deadline = performance.now() + options.BOOT_TIMEOUT;
  let delayMs = options.BOOT_POLL_SLEEP * 2;
  for (;;) {
    await sleep(Math.min(delayMs, Math.max(0, deadline - performance.now())), signal);
    let instance: InstanceDescription | undefined;
    try {
      instance = await describeInstance(api, launched.InstanceId!, signal);
    } catch (error) {
      if (!signal?.aborted)
        progress.progress({
          message: 'could not check the instance state',
          state: 'failure',
          interrupts: true,
        });
      throw error;
    }
    if (instance) failIfGone(instance, progress);
    const address = connectsPublicly(options) ? instance?.PublicIpAddress : instance?.PrivateIpAddress;
    if (instance && address) return ready(instance);
    if (performance.now() >= deadline) throw bootTimeout(launched.InstanceId!, instance, options, progress);
    progress.progress({ message: '.', raw: true });
    delayMs = Math.min(10_000, delayMs * 2);
  }
}

/**
 * What the SSH wait asks while port 22 does not answer: first after BOOT_POLL_SLEEP × 60 (or
 * BOOT_TIMEOUT, if shorter), then at doubling intervals, so a normal boot (pending and sshd up
 * take 20 s to 2 min) costs one call at most. An instance that stopped or terminated (a spot
 * instance reclaimed while booting) fails the start, one still pending after BOOT_TIMEOUT times out.
 */
export function livenessCheck(
  { api, options }: Ec2Context,
  instanceId: string,
  started: number,
  progress: Progresser,
): (signal: AbortSignal | undefined) => Promise<void> {
  let intervalMs = Math.min(options.BOOT_POLL_SLEEP * 60, options.BOOT_TIMEOUT);
  let nextCheck = performance.now() + intervalMs;
  return async (signal) => {
    if (performance.now() < nextCheck) return;
    intervalMs *= 2;
    nextCheck = performance.now() + intervalMs;
    const instance = await describeInstance(api, instanceId, signal);
    if (!instance) return;
    failIfGone(instance, progress);
    if (instance.State?.Name === 'pending' && performance.now() - started > options.BOOT_TIMEOUT)
      throw bootTimeout(instanceId, instance, options, progress);
  };
}

/** The instance, or undefined while EC2 does not know the new id yet (eventual consistency). */
async function describeInstance(
  api: Ec2Api,
  instanceId: string,
  signal: AbortSignal | undefined,
): Promise<InstanceDescription | undefined> {
  try {
    const answer = await api.call(
      'DescribeInstances',
      (client, sendOptions, sdk) =>
        client.send(new sdk.DescribeInstancesCommand({ InstanceIds: [instanceId] }), sendOptions),
      { signal },
    );
    return answer.Reservations?.[0]?.Instances?.[0];
  } catch (error) {
    if (ec2ErrorCode(error) === 'InvalidInstanceID.NotFound') return undefined;
    throw error;
  }
}

function failIfGone(instance: InstanceDescription, progress: Progresser): void {
  const state = instance.State?.Name;
  if (state !== 'shutting-down' && state !== 'terminated' && state !== 'stopping' && state !== 'stopped')
    return;
  progress.progress({ message: `instance ${state} while starting`, state: 'failure', interrupts: true });
  throw new ProviderApiError({
    provider: EC2_ALIAS,
    operation: 'start',
    message: `instance ${instance.InstanceId} is ${state} while starting (${instance.StateReason?.Code ?? 'no reason given'})`,
    retryable: true,
    ...(instance.StateReason?.Code ? { code: instance.StateReason.Code } : {}),
  });
}

function bootTimeout(
  instanceId: string,
  instance: InstanceDescription | undefined,
  options: Ec2Options,
  progress: Progresser,
): ProviderApiError {
  progress.progress({
    message: 'timeout waiting for instance to be ready',
    state: 'failure',
    interrupts: true,
  });
  return new ProviderApiError({
    provider: EC2_ALIAS,
    operation: 'start',
    message: `instance ${instanceId} still ${instance?.State?.Name ?? 'unknown'} after ${formatDuration(options.BOOT_TIMEOUT)}`,
    retryable: true,
    code: 'BootTimeout',
  });
}

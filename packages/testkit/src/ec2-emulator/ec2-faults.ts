/** The EC2 API actions the emulator answers. */
export const EC2_ACTIONS = [
  'RunInstances',
  'DescribeInstances',
  'TerminateInstances',
  'CreateKeyPair',
  'ImportKeyPair',
  'DeleteKeyPair',
  'DescribeKeyPairs',
  'DescribeImages',
  'CreateTags',
  'GetConsoleOutput',
  'DescribeInstanceTypes',
] as const;

export type Ec2Action = (typeof EC2_ACTIONS)[number];

/** An error the emulator answers with, as EC2 would: code, message and HTTP status. */
export interface Ec2ErrorSpec {
  code: string;
  message?: string;
  /** Default: 503 for RequestLimitExceeded/Unavailable, 500 for server codes, else 400. */
  status?: number;
}

/** Which RunInstances calls lack capacity: a type, a market, or both (all given must match). */
export interface CapacityFault {
  instanceType?: string;
  market?: 'spot' | 'on-demand';
}

/** The capacity and quota codes RunInstances answers with (EC2 error codes reference). */
export type LaunchFailureCode =
  | 'InsufficientInstanceCapacity'
  | 'Unsupported'
  | 'InstanceLimitExceeded'
  | 'VcpuLimitExceeded'
  | 'MaxSpotInstanceCountExceeded';

interface LaunchFault extends CapacityFault {
  code: LaunchFailureCode;
}

interface QueuedFailure {
  action: Ec2Action | '*';
  error: Ec2ErrorSpec;
  remaining: number;
}

/** The status EC2 uses for an error code. */
export function statusForCode(code: string): number {
  if (code === 'RequestLimitExceeded' || code === 'Unavailable' || code === 'ServiceUnavailable') return 503;
  if (code === 'InternalError' || code === 'InsufficientInstanceCapacity' || code === 'InternalFailure')
    return 500;
  return 400;
}

/**
 * Per-test faults. Everything is off until a test turns it on; `clear()` turns all off.
 */
export class Ec2Faults {
  #queue: QueuedFailure[] = [];
  #launchFaults: LaunchFault[] = [];
  #throttle: { perSecond: number; tokens: number; refilledAt: number } | undefined;
  /** New instances never leave `pending`. */
  stuckInPending = false;
  /** New instances reach `running` but their sshd never starts and the console shows no host keys. */
  sshNeverUp = false;
  /**
   * New instances print a host key in their console output that is not their sshd's (what a
   * client sees when someone is in the middle): a host-key check must refuse the connection.
   */
  forgedConsoleHostKeys = false;
  /** Spot instances get their interruption notice this long after they reach `running` (undefined: never). */
  spotInterruptionAfterMs: number | undefined;

  /** The next `times` calls of `action` ('*': any action) fail with `error`. */
  failNext(action: Ec2Action | '*', error: Ec2ErrorSpec, times = 1): void {
    this.#queue.push({ action, error, remaining: times });
  }

  /** The next `times` calls of `action` are throttled (`RequestLimitExceeded`, HTTP 503). */
  requestLimitExceeded(action: Ec2Action | '*', times = 1): void {
    this.failNext(action, { code: 'RequestLimitExceeded', message: 'Request limit exceeded.' }, times);
  }

  /** The next `times` calls of `action` fail with a 5xx (`InternalError` 500 or `Unavailable` 503). */
  serverError(action: Ec2Action | '*', times = 1, status: 500 | 503 = 500): void {
    const code = status === 503 ? 'Unavailable' : 'InternalError';
    this.failNext(action, { code, status, message: 'An internal error has occurred' }, times);
  }

  /** RunInstances for this type answers `Unsupported` (the type is not offered here) until cleared. */
  unsupportedInstanceType(instanceType: string): void {
    this.launchFails('Unsupported', { instanceType });
  }

  /** RunInstances matching `fault` answers `InsufficientInstanceCapacity` until cleared. */
  insufficientCapacity(fault: CapacityFault = {}): void {
    this.launchFails('InsufficientInstanceCapacity', fault);
  }

  /**
   * RunInstances matching `fault` answers `code` (with EC2's HTTP status and message) until
   * cleared; the first matching fault wins.
   */
  launchFails(code: LaunchFailureCode, fault: CapacityFault = {}): void {
    this.#launchFaults.push({ code, ...fault });
  }

  /**
   * More than `perSecond` calls a second (token bucket of `perSecond` tokens refilled at
   * `perSecond`/s, shared by all actions) answer `RequestLimitExceeded`. `undefined` turns it off.
   */
  throttle(perSecond: number | undefined): void {
    this.#throttle =
      perSecond === undefined ? undefined : { perSecond, tokens: perSecond, refilledAt: performance.now() };
  }

  clear(): void {
    this.#queue = [];
    this.#launchFaults = [];
    this.#throttle = undefined;
    this.stuckInPending = false;
    this.sshNeverUp = false;
    this.forgedConsoleHostKeys = false;
    this.spotInterruptionAfterMs = undefined;
  }

  /** @internal Takes a throttle token; false when the call is over the limit. */
  takeThrottleToken(now = performance.now()): boolean {
    const bucket = this.#throttle;
    if (!bucket) return true;
    bucket.tokens = Math.min(
      bucket.perSecond,
      bucket.tokens + ((now - bucket.refilledAt) / 1000) * bucket.perSecond,
    );
    bucket.refilledAt = now;
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** @internal The scripted failure for this call, if any (consumes it). */
  takeFailure(action: string): Ec2ErrorSpec | undefined {
    const index = this.#queue.findIndex((entry) => entry.action === action || entry.action === '*');
    if (index === -1) return undefined;
    const entry = this.#queue[index]!;
    entry.remaining -= 1;
    if (entry.remaining <= 0) this.#queue.splice(index, 1);
    return entry.error;
  }

  /** @internal The injected launch failure for this type and market, if any. */
  launchFailure(instanceType: string, market: 'spot' | 'on-demand'): LaunchFailureCode | undefined {
    return this.#launchFaults.find(
      (fault) =>
        (fault.instanceType === undefined || fault.instanceType === instanceType) &&
        (fault.market === undefined || fault.market === market),
    )?.code;
  }
}

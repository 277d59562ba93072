import { ProviderApiError } from '@workerkit/core';
import { EC2_ALIAS } from './ec2-options.js';

/** Error codes EC2 answers when it is throttling the caller. */
const THROTTLING_CODES = new Set([
  'RequestLimitExceeded',
  'Throttling',
  'ThrottlingException',
  'RequestThrottled',
]);

/** No capacity now: another type, market or a later requeue may succeed, the same call soon will not. */
const CAPACITY_CODES = new Set([
  'InsufficientInstanceCapacity',
  'InsufficientCapacity',
  'InsufficientHostCapacity',
  'InsufficientReservedInstanceCapacity',
]);

/** Transient service trouble. */
const TRANSIENT_CODES = new Set(['InternalError', 'InternalFailure', 'ServiceUnavailable', 'Unavailable']);

/** Network-level failures worth retrying (the request may not have reached EC2). */
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'TimeoutError',
  'RequestTimeout',
]);

interface SdkErrorShape {
  name?: string;
  code?: string;
  message?: string;
  $fault?: 'client' | 'server';
  $metadata?: { httpStatusCode?: number };
}

/** The EC2 error code of an SDK error (`InvalidInstanceID.NotFound`), or undefined. */
export function ec2ErrorCode(error: unknown): string | undefined {
  if (ProviderApiError.isInstance(error)) return error.code;
  if (typeof error !== 'object' || error === null) return undefined;
  const shape = error as SdkErrorShape;
  return shape.code ?? shape.name;
}

function httpStatus(error: unknown): number | undefined {
  return typeof error === 'object' && error !== null
    ? (error as SdkErrorShape).$metadata?.httpStatusCode
    : undefined;
}

export function isThrottling(error: unknown): boolean {
  return THROTTLING_CODES.has(ec2ErrorCode(error) ?? '');
}

/** Throttling, 5xx or a dropped connection: the same call may succeed when retried. */
export function isRetryableEc2Error(error: unknown): boolean {
  if (ProviderApiError.isInstance(error)) return error.retryable;
  const code = ec2ErrorCode(error) ?? '';
  const status = httpStatus(error);
  return (
    THROTTLING_CODES.has(code) ||
    CAPACITY_CODES.has(code) ||
    TRANSIENT_CODES.has(code) ||
    NETWORK_CODES.has(code) ||
    (status !== undefined && status >= 500)
  );
}

/**
 * Whether the same call should be sent again at once (after backoff): throttling, 5xx and
 * network errors, but not capacity errors (the caller moves on to another type or market).
 */
export function shouldRetryCall(error: unknown): boolean {
  if (CAPACITY_CODES.has(ec2ErrorCode(error) ?? '')) return false;
  return isRetryableEc2Error(error);
}

/** Turns an SDK error into a `ProviderApiError`; the SDK error travels only as `cause`. */
export function toEc2ApiError(operation: string, error: unknown): ProviderApiError {
  if (ProviderApiError.isInstance(error)) return error;
  const code = ec2ErrorCode(error);
  const message = error instanceof Error ? error.message : String(error);
  const status = httpStatus(error);
  return new ProviderApiError({
    provider: EC2_ALIAS,
    operation,
    message: `${code && !message.startsWith(code) ? `${code}: ` : ''}${message}${status ? ` (HTTP ${status})` : ''}`,
    retryable: isRetryableEc2Error(error),
    ...(code !== undefined ? { code } : {}),
    cause: error,
  });
}

import { ProviderApiError } from '@workerkit/core';

/** HTTP statuses worth retrying: throttling and server-side trouble. */
const RETRYABLE_STATUSES = new Set([408, 429, 500, 502, 503, 504]);
/** `errors[].reason` values GCE uses for throttling and quota pressure. */
const RETRYABLE_REASONS = new Set([
  'rateLimitExceeded',
  'userRateLimitExceeded',
  'backendError',
  'internalError',
  'quotaExceeded',
  'resourceExhausted',
]);
/** Operation error codes that mean "this zone is out of capacity right now". */
export const ZONE_CAPACITY_CODES = new Set([
  'ZONE_RESOURCE_POOL_EXHAUSTED',
  'ZONE_RESOURCE_POOL_EXHAUSTED_WITH_DETAILS',
  'RESOURCE_POOL_EXHAUSTED',
  'STOCKOUT',
]);
/** Operation error codes that may clear up when retried later. */
const RETRYABLE_OPERATION_CODES = new Set([
  ...ZONE_CAPACITY_CODES,
  'QUOTA_EXCEEDED',
  'RATE_LIMIT_EXCEEDED',
  'INTERNAL_ERROR',
]);
/** Network failures before any HTTP answer. */
const RETRYABLE_NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
]);

interface ParsedSdkError {
  status: number | undefined;
  reason: string | undefined;
  message: string;
  networkCode: string | undefined;
}

/** Reads an error of the SDK (gaxios `GaxiosError` in v6, `GoogleError` in v7) without depending on its classes. */
export function parseSdkError(error: unknown): ParsedSdkError {
  const e = (typeof error === 'object' && error !== null ? error : {}) as {
    status?: unknown;
    code?: unknown;
    message?: unknown;
    httpStatusCode?: unknown;
    response?: { status?: unknown; data?: unknown };
    errors?: unknown;
  };
  const status = [e.response?.status, e.status, e.httpStatusCode, e.code].find(
    (v): v is number => typeof v === 'number' && v >= 100 && v < 600,
  );
  let body: { error?: { message?: string; errors?: { reason?: string; message?: string }[] } } | undefined;
  const data = e.response?.data;
  if (typeof data === 'object' && data !== null) body = data as typeof body;
  else {
    const text = typeof data === 'string' ? data : typeof e.message === 'string' ? e.message : '';
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      body = undefined;
    }
  }
  const reason =
    body?.error?.errors?.[0]?.reason ??
    (Array.isArray(e.errors) ? (e.errors[0] as { reason?: string })?.reason : undefined);
  const message = body?.error?.message ?? (typeof e.message === 'string' ? e.message : String(error));
  const networkCode = typeof e.code === 'string' ? e.code : undefined;
  return { status, reason, message, networkCode };
}

export function isNotFound(error: unknown): boolean {
  if (ProviderApiError.isInstance(error)) return error.code === '404';
  return parseSdkError(error).status === 404;
}

/** Wraps an SDK failure of `operation` as a `ProviderApiError` (the SDK error is only its `cause`). */
export function gceApiError(operation: string, error: unknown): ProviderApiError {
  if (ProviderApiError.isInstance(error)) return error;
  const parsed = parseSdkError(error);
  const retryable =
    (parsed.status !== undefined && RETRYABLE_STATUSES.has(parsed.status)) ||
    (parsed.reason !== undefined && RETRYABLE_REASONS.has(parsed.reason)) ||
    (parsed.networkCode !== undefined && RETRYABLE_NETWORK_CODES.has(parsed.networkCode));
  const code = parsed.status !== undefined ? String(parsed.status) : parsed.networkCode;
  const detail = parsed.reason
    ? `${parsed.message} (${parsed.status ?? '?'} ${parsed.reason})`
    : parsed.message;
  return new ProviderApiError({
    provider: 'gce',
    operation,
    message: detail,
    retryable,
    ...(code ? { code } : {}),
    cause: error,
  });
}

/** A finished operation's `error` as a `ProviderApiError`; `code` is the first GCE error code. */
export function gceOperationError(
  operation: string,
  op: {
    error?: { errors?: { code?: string | null; message?: string | null }[] | null } | null;
    httpErrorStatusCode?: number | null;
  },
): ProviderApiError {
  const first = op.error?.errors?.[0];
  const code = first?.code ?? 'UNKNOWN';
  return new ProviderApiError({
    provider: 'gce',
    operation,
    message: `${first?.message ?? 'operation failed'} (${code})`,
    retryable: RETRYABLE_OPERATION_CODES.has(code),
    code,
  });
}

export function isZoneCapacityError(error: unknown): boolean {
  return (
    ProviderApiError.isInstance(error) && error.code !== undefined && ZONE_CAPACITY_CODES.has(error.code)
  );
}

import { ProviderApiError } from '@workerkit/core';

/**
 * What a Compute Engine failure means for the backend:
 * - `throttled`: 403 `rateLimitExceeded` / `userRateLimitExceeded`, 429 — retry the call with backoff.
 * - `transient`: 5xx, network errors — retry the call with backoff.
 * - `not-ready`: 400 `resourceNotReady` (another operation on the resource runs) — retry a delete until accepted.
 * - `zone-capacity`: `ZONE_RESOURCE_POOL_EXHAUSTED[_WITH_DETAILS]` and kin — try another zone, then requeue.
 * - `quota`: 403 `quotaExceeded`, operation `QUOTA_EXCEEDED` — requeue (a regional quota: other zones do not help).
 * - `config`: 401, 403 `forbidden`, 400 `invalid` — the configuration or the job's VM request is wrong.
 * - `not-found`: 404.
 * - `fatal`: anything else.
 */
export type GceErrorClass =
  | 'throttled'
  | 'transient'
  | 'not-ready'
  | 'zone-capacity'
  | 'quota'
  | 'config'
  | 'not-found'
  | 'fatal';

const THROTTLE_REASONS = new Set(['rateLimitExceeded', 'userRateLimitExceeded']);
const TRANSIENT_REASONS = new Set(['backendError', 'internalError']);
const NOT_READY_REASONS = new Set(['resourceNotReady']);
const QUOTA_REASONS = new Set(['quotaExceeded']);
const CONFIG_REASONS = new Set([
  'forbidden',
  'authError',
  'invalid',
  'required',
  'badRequest',
  'invalidParameter',
]);
/** Operation error codes that mean "this zone is out of capacity right now". */
export const ZONE_CAPACITY_CODES = new Set([
  'ZONE_RESOURCE_POOL_EXHAUSTED',
  'ZONE_RESOURCE_POOL_EXHAUSTED_WITH_DETAILS',
  'RESOURCE_POOL_EXHAUSTED',
  'STOCKOUT',
]);
const QUOTA_OPERATION_CODES = new Set(['QUOTA_EXCEEDED']);
const TRANSIENT_OPERATION_CODES = new Set(['RATE_LIMIT_EXCEEDED', 'INTERNAL_ERROR', 'SERVICE_UNAVAILABLE']);
/** Network failures before any HTTP answer. */
const RETRYABLE_NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
]);
/** Classes a job may be requeued for (`ProviderApiError.retryable`). */
const REQUEUE_CLASSES = new Set<GceErrorClass>([
  'throttled',
  'transient',
  'not-ready',
  'zone-capacity',
  'quota',
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

/** The class of an HTTP failure from its status and `errors[0].reason`. */
function classifyHttp({ status, reason, networkCode }: ParsedSdkError): GceErrorClass {
  if (reason !== undefined) {
    if (THROTTLE_REASONS.has(reason)) return 'throttled';
    if (QUOTA_REASONS.has(reason)) return 'quota';
    if (NOT_READY_REASONS.has(reason)) return 'not-ready';
    if (TRANSIENT_REASONS.has(reason)) return 'transient';
  }
  if (status === 429) return 'throttled';
  if (status === 404) return 'not-found';
  if (status !== undefined && (status >= 500 || status === 408)) return 'transient';
  if (status === 401 || status === 403) return 'config';
  if (status === 400 && (reason === undefined || CONFIG_REASONS.has(reason))) return 'config';
  if (networkCode !== undefined && RETRYABLE_NETWORK_CODES.has(networkCode)) return 'transient';
  return 'fatal';
}

/** A `ProviderApiError` of this backend with its class (`gceClass`) and the GCE `code`/`reason`. */
export class GceApiError extends ProviderApiError {
  readonly gceClass: GceErrorClass;
  /** `errors[0].reason` of an HTTP failure (e.g. `resourceNotReady`). */
  readonly reason: string | undefined;

  constructor(init: {
    operation: string;
    message: string;
    gceClass: GceErrorClass;
    code?: string;
    reason?: string;
    cause?: unknown;
  }) {
    super({
      provider: 'gce',
      operation: init.operation,
      message: init.message,
      retryable: REQUEUE_CLASSES.has(init.gceClass),
      ...(init.code ? { code: init.code } : {}),
      cause: init.cause,
    });
    this.gceClass = init.gceClass;
    this.reason = init.reason;
  }
}

/** The class of any error this backend handles (`fatal` for what is not a GCE answer). */
export function gceErrorClass(error: unknown): GceErrorClass {
  if (error instanceof GceApiError) return error.gceClass;
  const gceClass = (error as { gceClass?: unknown } | null)?.gceClass;
  if (typeof gceClass === 'string') return gceClass as GceErrorClass;
  if (ProviderApiError.isInstance(error)) return error.code === '404' ? 'not-found' : 'fatal';
  return classifyHttp(parseSdkError(error));
}

export function isNotFound(error: unknown): boolean {
  return gceErrorClass(error) === 'not-found';
}

/** Wraps an SDK failure of `operation` as a `GceApiError` (the SDK error is only its `cause`). */
export function toGceApiError(operation: string, error: unknown): ProviderApiError {
  if (ProviderApiError.isInstance(error)) return error;
  const parsed = parseSdkError(error);
  const code = parsed.status !== undefined ? String(parsed.status) : parsed.networkCode;
  const detail = parsed.reason
    ? `${parsed.message} (${parsed.status ?? '?'} ${parsed.reason})`
    : parsed.message;
  return new GceApiError({
    operation,
    message: detail,
    gceClass: classifyHttp(parsed),
    ...(code ? { code } : {}),
    ...(parsed.reason ? { reason: parsed.reason } : {}),
    cause: error,
  });
}

/** A finished operation's `error` as a `GceApiError`; `code` is the first GCE error code. */
export function gceOperationError(
  operation: string,
  op: {
    error?: { errors?: { code?: string | null; message?: string | null }[] | null } | null;
    httpErrorStatusCode?: number | null;
    httpErrorMessage?: string | null;
  },
): GceApiError {
  const first = op.error?.errors?.[0];
  const code = first?.code ?? 'UNKNOWN';
  const gceClass: GceErrorClass = ZONE_CAPACITY_CODES.has(code)
    ? 'zone-capacity'
    : QUOTA_OPERATION_CODES.has(code)
      ? 'quota'
      : TRANSIENT_OPERATION_CODES.has(code) || (op.httpErrorStatusCode ?? 0) >= 500
        ? 'transient'
        : 'fatal';
  const http = op.httpErrorStatusCode
    ? `, ${op.httpErrorStatusCode} ${op.httpErrorMessage ?? ''}`.trimEnd()
    : '';
  return new GceApiError({
    operation,
    message: `${first?.message ?? 'operation failed'} (${code}${http})`,
    gceClass,
    code,
  });
}

export function isZoneCapacityError(error: unknown): boolean {
  return gceErrorClass(error) === 'zone-capacity';
}

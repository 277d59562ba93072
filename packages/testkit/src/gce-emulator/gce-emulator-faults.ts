/** A call-level fault: the next `times` matching calls fail with this HTTP error. */
export interface HttpFault {
  kind: 'http';
  /** `instances.insert`, `zoneOperations.wait`, …; undefined matches every method. */
  method: string | undefined;
  remaining: number;
  status: number;
  reason: string;
  message: string;
}

export interface ZoneExhaustedFault {
  kind: 'zone-exhausted';
  zone: string;
  remaining: number;
  /** `ZONE_RESOURCE_POOL_EXHAUSTED_WITH_DETAILS` with `errorDetails`, as GCE sends for some stockouts. */
  withDetails: boolean;
}

export interface InsertOperationFault {
  kind: 'insert-operation';
  code: string;
  message: string;
  /** `httpErrorStatusCode` of the failed operation. */
  http: number;
  errorDetails: Record<string, unknown>[];
  remaining: number;
  /** The instance record stays (TERMINATED) after the failed operation, as a partial insert does. */
  leaveInstance: boolean;
}

export interface GuestFault {
  /** `queued`: the insert waits in PENDING before PROVISIONING. */
  kind: 'never-running' | 'ssh-never-up' | 'queued';
  remaining: number;
  /** `never-running`: how long the instance stays in STAGING (Infinity: for good). */
  forMs?: number;
}

export type GceFault = HttpFault | ZoneExhaustedFault | InsertOperationFault | GuestFault;

export interface FaultTimes {
  /** How many calls/instances the fault applies to (default: 1; `Infinity` for all). */
  times?: number;
}

/**
 * Fault injection for one emulator. Each fault applies to the next `times` matching calls or
 * instances and then disappears; `clear()` removes all of them.
 */
export class GceEmulatorFaults {
  readonly #faults: GceFault[] = [];

  /**
   * HTTP 403 `rateLimitExceeded` ("Rate Limit Exceeded"), or with `reason`
   * `userRateLimitExceeded`, for the next matching calls.
   */
  rateLimit(
    options: FaultTimes & { method?: string; reason?: 'rateLimitExceeded' | 'userRateLimitExceeded' } = {},
  ): void {
    const reason = options.reason ?? 'rateLimitExceeded';
    this.http({
      ...options,
      status: 403,
      reason,
      message: reason === 'rateLimitExceeded' ? 'Rate Limit Exceeded' : 'User Rate Limit Exceeded',
    });
  }

  /** HTTP 429 (RESOURCE_EXHAUSTED, `rateLimitExceeded`): the per-minute API quota, as GCE sometimes answers a throttled call. */
  tooManyRequests(options: FaultTimes & { method?: string } = {}): void {
    this.http({
      ...options,
      status: 429,
      reason: 'rateLimitExceeded',
      message:
        "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute' of service 'compute.googleapis.com'.",
    });
  }

  /** A synchronous HTTP 403 `quotaExceeded` on the next inserts (a regional quota such as CPUS is used up). */
  quotaExceeded(options: FaultTimes & { method?: string; quota?: string } = {}): void {
    this.http({
      method: options.method ?? 'instances.insert',
      ...(options.times === undefined ? {} : { times: options.times }),
      status: 403,
      reason: 'quotaExceeded',
      message: `Quota '${options.quota ?? 'CPUS'}' exceeded.  Limit: 24.0 in region us-central1.`,
    });
  }

  /** HTTP 403 `forbidden`: the credentials lack a permission (e.g. `compute.zones.list`). */
  permissionDenied(options: FaultTimes & { method?: string; permission?: string } = {}): void {
    this.http({
      ...options,
      status: 403,
      reason: 'forbidden',
      message: `Required '${options.permission ?? 'compute.zones.list'}' permission for 'projects/workerkit-emulator'`,
    });
  }

  /** HTTP 401 `authError`: the access token is not (or no longer) valid. */
  invalidCredentials(options: FaultTimes & { method?: string } = {}): void {
    this.http({
      ...options,
      status: 401,
      reason: 'authError',
      message: 'Request had invalid authentication credentials. Expected OAuth 2 access token.',
    });
  }

  /** Any HTTP error for the next matching calls. */
  http(
    options: FaultTimes & { method?: string | undefined; status: number; reason: string; message: string },
  ): void {
    this.#faults.push({
      kind: 'http',
      method: options.method,
      remaining: options.times ?? 1,
      status: options.status,
      reason: options.reason,
      message: options.message,
    });
  }

  /** HTTP 5xx (`backendError`) for the next matching calls. */
  serverError(options: FaultTimes & { method?: string; status?: 500 | 502 | 503 } = {}): void {
    const status = options.status ?? 503;
    this.#faults.push({
      kind: 'http',
      method: options.method,
      remaining: options.times ?? 1,
      status,
      reason: 'backendError',
      message: status === 503 ? 'The service is currently unavailable.' : 'Internal Error',
    });
  }

  /**
   * Inserts into `zone` end in an operation error `ZONE_RESOURCE_POOL_EXHAUSTED` (HTTP 503), or
   * with `withDetails` `ZONE_RESOURCE_POOL_EXHAUSTED_WITH_DETAILS` carrying `errorDetails`.
   */
  zoneExhausted(zone: string, options: FaultTimes & { withDetails?: boolean } = {}): void {
    this.#faults.push({
      kind: 'zone-exhausted',
      zone,
      remaining: options.times ?? Number.POSITIVE_INFINITY,
      withDetails: options.withDetails ?? false,
    });
  }

  /**
   * The next inserts' operations end DONE with this error: by default `QUOTA_EXCEEDED` (HTTP 403
   * FORBIDDEN, with its `quotaInfo` error details), as GCE reports a quota hit during an insert.
   */
  failInsertOperation(
    options: FaultTimes & {
      code?: string;
      message?: string;
      http?: number;
      errorDetails?: Record<string, unknown>[];
      leaveInstance?: boolean;
    } = {},
  ): void {
    const code = options.code ?? 'QUOTA_EXCEEDED';
    const quota = code === 'QUOTA_EXCEEDED';
    this.#faults.push({
      kind: 'insert-operation',
      code,
      message:
        options.message ?? (quota ? "Quota 'CPUS' exceeded.  Limit: 8.0 in region us-central1." : code),
      http: options.http ?? (quota ? 403 : 400),
      errorDetails:
        options.errorDetails ??
        (quota
          ? [
              {
                quotaInfo: {
                  metricName: 'compute.googleapis.com/cpus',
                  limitName: 'CPUS-per-project-region',
                  dimensions: { region: 'us-central1' },
                  limit: 8,
                },
              },
            ]
          : []),
      remaining: options.times ?? 1,
      leaveInstance: options.leaveInstance ?? true,
    });
  }

  /** The next inserts wait in PENDING before PROVISIONING (a queued request), for `provisioningMs` more. */
  queued(options: FaultTimes = {}): void {
    this.#faults.push({ kind: 'queued', remaining: options.times ?? 1 });
  }

  /**
   * The next inserted instances stay in STAGING and their insert operations do not finish: for
   * `forMs` more (a slow boot; then they go on to RUNNING), or by default never.
   */
  neverRunning(options: FaultTimes & { forMs?: number } = {}): void {
    this.#faults.push({
      kind: 'never-running',
      remaining: options.times ?? 1,
      forMs: options.forMs ?? Number.POSITIVE_INFINITY,
    });
  }

  /** The next instances reach RUNNING and publish host keys, but nothing listens for SSH. */
  sshNeverUp(options: FaultTimes = {}): void {
    this.#faults.push({ kind: 'ssh-never-up', remaining: options.times ?? 1 });
  }

  clear(): void {
    this.#faults.length = 0;
  }

  /** Faults still waiting to fire. */
  pending(): readonly GceFault[] {
    return this.#faults.filter((f) => f.remaining > 0);
  }

  /** Consumes one matching HTTP fault for a call, if any. @internal */
  takeHttp(method: string): HttpFault | undefined {
    return this.#take(
      (f): f is HttpFault => f.kind === 'http' && (f.method === undefined || f.method === method),
    );
  }

  /** @internal */
  takeZoneExhausted(zone: string): ZoneExhaustedFault | undefined {
    return this.#take((f): f is ZoneExhaustedFault => f.kind === 'zone-exhausted' && f.zone === zone);
  }

  /** @internal */
  takeInsertOperation(): InsertOperationFault | undefined {
    return this.#take((f): f is InsertOperationFault => f.kind === 'insert-operation');
  }

  /** @internal */
  takeGuest(kind: GuestFault['kind']): GuestFault | undefined {
    return this.#take((f): f is GuestFault => f.kind === kind);
  }

  #take<F extends GceFault>(match: (fault: GceFault) => fault is F): F | undefined {
    const fault = this.#faults.find((f): f is F => f.remaining > 0 && match(f));
    if (fault) fault.remaining -= 1;
    return fault;
  }
}

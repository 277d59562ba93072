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
}

export interface InsertOperationFault {
  kind: 'insert-operation';
  code: string;
  message: string;
  remaining: number;
  /** The instance record stays (TERMINATED) after the failed operation, as a partial insert does. */
  leaveInstance: boolean;
}

export interface GuestFault {
  kind: 'never-running' | 'ssh-never-up';
  remaining: number;
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

  /** HTTP 403 `rateLimitExceeded` ("Rate Limit Exceeded") for the next matching calls. */
  rateLimit(options: FaultTimes & { method?: string } = {}): void {
    this.#faults.push({
      kind: 'http',
      method: options.method,
      remaining: options.times ?? 1,
      status: 403,
      reason: 'rateLimitExceeded',
      message: 'Rate Limit Exceeded',
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

  /** Inserts into `zone` end in an operation error `ZONE_RESOURCE_POOL_EXHAUSTED`. */
  zoneExhausted(zone: string, options: FaultTimes = {}): void {
    this.#faults.push({ kind: 'zone-exhausted', zone, remaining: options.times ?? Number.POSITIVE_INFINITY });
  }

  /** The next inserts' operations end DONE with this error (default `QUOTA_EXCEEDED`). */
  failInsertOperation(
    options: FaultTimes & { code?: string; message?: string; leaveInstance?: boolean } = {},
  ): void {
    this.#faults.push({
      kind: 'insert-operation',
      code: options.code ?? 'QUOTA_EXCEEDED',
      message: options.message ?? "Quota 'CPUS' exceeded.  Limit: 8.0 in region us-central1.",
      remaining: options.times ?? 1,
      leaveInstance: options.leaveInstance ?? true,
    });
  }

  /** The next inserted instances stay in STAGING and their insert operations never finish. */
  neverRunning(options: FaultTimes = {}): void {
    this.#faults.push({ kind: 'never-running', remaining: options.times ?? 1 });
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

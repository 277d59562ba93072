import { randomBytes } from 'node:crypto';
import { checkZone } from './gce-emulator-catalog.js';
import { notFound } from './gce-emulator-http.js';
import { type GceEmulatorState, type Json, now, type OperationRecord } from './gce-emulator-state.js';

export function createOperation(
  gce: GceEmulatorState,
  type: string,
  target: { zone: string; name: string; id: string },
  user = 'workerkit-emulator@example.iam.gserviceaccount.com',
): OperationRecord {
  const id = gce.newId();
  const name = `operation-${Date.now()}-${randomBytes(6).toString('hex')}-${randomBytes(4).toString('hex')}`;
  const zoneUrl = gce.zoneUrl(target.zone);
  const resource: Json = {
    kind: 'compute#operation',
    id,
    name,
    zone: zoneUrl,
    operationType: type,
    targetLink: `${zoneUrl}/instances/${target.name}`,
    targetId: target.id,
    status: 'PENDING',
    user,
    progress: 0,
    insertTime: now(),
    selfLink: `${zoneUrl}/operations/${name}`,
  };
  const record: OperationRecord = { resource, zone: target.zone, waiters: new Set(), listedFrom: 0 };
  gce.operations.set(name, record);
  return record;
}

/** An operation's error as GCE reports it: its code, message, HTTP status and `errorDetails`. */
export interface OperationError {
  code: string;
  message: string;
  /** `httpErrorStatusCode` (default 400); `httpErrorMessage` follows from it. */
  http?: number;
  errorDetails?: Json[];
}

/** `httpErrorMessage` as GCE words it for each `httpErrorStatusCode`. */
const HTTP_ERROR_MESSAGES: Record<number, string> = {
  400: 'BAD REQUEST',
  403: 'FORBIDDEN',
  404: 'NOT FOUND',
  409: 'CONFLICT',
  412: 'PRECONDITION FAILED',
  429: 'TOO MANY REQUESTS',
  500: 'INTERNAL SERVER ERROR',
  503: 'SERVICE UNAVAILABLE',
};

/** Moves an operation on; DONE (with an error, when given) wakes its waiters. */
export function updateOperation(
  op: OperationRecord,
  status: 'RUNNING' | 'DONE',
  error?: OperationError,
): void {
  op.resource.status = status;
  if (status === 'RUNNING') {
    op.resource.startTime ??= now();
    op.resource.progress = 0;
  } else {
    op.resource.startTime ??= now();
    op.resource.endTime = now();
    op.resource.progress = 100;
    if (error) {
      const http = error.http ?? 400;
      op.resource.error = {
        errors: [
          {
            code: error.code,
            message: error.message,
            ...(error.errorDetails?.length ? { errorDetails: error.errorDetails } : {}),
          },
        ],
      };
      op.resource.httpErrorStatusCode = http;
      op.resource.httpErrorMessage = HTTP_ERROR_MESSAGES[http] ?? 'BAD REQUEST';
    }
    for (const wake of op.waiters) wake();
    op.waiters.clear();
  }
}

/** A zone's operation, or with `zone` undefined a global one. */
export function getOperation(gce: GceEmulatorState, zone: string | undefined, name: string): OperationRecord {
  if (zone !== undefined) checkZone(gce, zone);
  const op = gce.operations.get(name);
  if (!op || op.zone !== zone)
    throw notFound(
      `projects/${gce.projectId}/${zone === undefined ? 'global' : `zones/${zone}`}/operations/${name}`,
    );
  return op;
}

/**
 * `operations.wait`: the operation once DONE, or as it is after `operationWaitMs` — or, by
 * `earlyWaitChance`, at once: GCE's wait "might return after zero seconds" before DONE.
 */
export async function waitFor(gce: GceEmulatorState, op: OperationRecord): Promise<Json> {
  if (op.resource.status === 'DONE') return op.resource;
  if (Math.random() < gce.timings.earlyWaitChance) return op.resource;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      op.waiters.delete(wake);
      resolve();
    }, gce.timings.operationWaitMs);
    timer.unref();
    const wake = () => {
      clearTimeout(timer);
      resolve();
    };
    op.waiters.add(wake);
  });
  return op.resource;
}

/** Operations of a zone, or with `zone` undefined the global ones, as lists show them (late ones not yet). */
export function operationsIn(gce: GceEmulatorState, zone: string | undefined): Json[] {
  const at = Date.now();
  return [...gce.operations.values()]
    .filter((o) => o.zone === zone && o.listedFrom <= at)
    .map((o) => o.resource);
}

/** GCE's `requestId`: a repeated mutation with the same id returns the first one's operation. */
export function once(gce: GceEmulatorState, query: URLSearchParams, mutate: () => Json): Json {
  const requestId = query.get('requestId');
  if (!requestId) return mutate();
  const earlier = gce.requests.get(requestId);
  if (earlier) return earlier.resource;
  const resource = mutate();
  const op = gce.operations.get(String(resource.name));
  if (op) gce.requests.set(requestId, op);
  return resource;
}

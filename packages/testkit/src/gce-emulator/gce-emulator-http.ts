import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GceEmulatorState, Json } from './gce-emulator-state.js';

/** An error answer, in the body GCE's REST API sends. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

const STATUS_NAMES: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ALREADY_EXISTS',
  412: 'FAILED_PRECONDITION',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  502: 'UNAVAILABLE',
  503: 'UNAVAILABLE',
};

/** Reasons GCE reports in the `usageLimits` domain. */
const USAGE_LIMIT_REASONS = new Set(['rateLimitExceeded', 'userRateLimitExceeded', 'quotaExceeded']);

/** 400 `resourceNotReady`: another operation on the resource is still running. */
export function resourceNotReady(resource: string): HttpError {
  return new HttpError(400, 'resourceNotReady', `The resource '${resource}' is not ready`);
}

export function badRequest(message: string): HttpError {
  return new HttpError(400, 'invalid', message);
}

export function notFound(resource: string): HttpError {
  return new HttpError(404, 'notFound', `The resource '${resource}' was not found`);
}

/** A method of the API: its HTTP method and path, its name (`instances.insert`) and what it answers. */
export type Route = [
  method: string,
  pattern: RegExp,
  name: string,
  handler: (params: string[], query: URLSearchParams, body: Json, project: string) => Json | Promise<Json>,
];

/**
 * Answers a request with its route: counts the call, checks the bearer token and the project,
 * applies an injected HTTP fault, and sends the handler's JSON or the error GCE would send.
 */
export async function handleRequest(
  gce: GceEmulatorState,
  routes: readonly Route[],
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const route = routes.find(([method, pattern]) => method === req.method && pattern.test(url.pathname));
  try {
    // Read the whole request first, so every answer (errors included) leaves the connection reusable.
    const body = await readBody(req);
    if (!route)
      throw new HttpError(404, 'notFound', `The requested URL ${url.pathname} was not found on this server.`);
    const [, pattern, name, handler] = route;
    gce.counts.set(name, (gce.counts.get(name) ?? 0) + 1);
    if (!/^Bearer \S+/.test(req.headers.authorization ?? '')) {
      throw new HttpError(
        401,
        'authError',
        'Request is missing required authentication credential. Expected OAuth 2 access token.',
      );
    }
    const match = pattern.exec(url.pathname)!.map((part) => decodeURIComponent(part));
    if (match[1] !== gce.projectId && !name.startsWith('images.')) throw notFound(`projects/${match[1]}`);
    const fault = gce.faults.takeHttp(name);
    if (fault) throw new HttpError(fault.status, fault.reason, fault.message);
    const result = await handler(match.slice(2), url.searchParams, body, match[1]!);
    send(res, 200, result);
  } catch (error) {
    send(res, error instanceof HttpError ? error.status : 500, errorBody(error));
  }
}

function errorBody(error: unknown): Json {
  if (error instanceof HttpError) {
    return {
      error: {
        code: error.status,
        message: error.message,
        errors: [
          {
            message: error.message,
            domain: USAGE_LIMIT_REASONS.has(error.reason) ? 'usageLimits' : 'global',
            reason: error.reason,
          },
        ],
        status: STATUS_NAMES[error.status] ?? 'UNKNOWN',
      },
    };
  }
  const message = error instanceof Error ? error.message : String(error);
  return {
    error: {
      code: 500,
      message,
      errors: [{ message, domain: 'global', reason: 'backendError' }],
      status: 'INTERNAL',
    },
  };
}

async function readBody(req: IncomingMessage): Promise<Json> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  if (chunks.length === 0) return {};
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null ? (parsed as Json) : {};
  } catch {
    throw badRequest('Invalid JSON payload received.');
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=UTF-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

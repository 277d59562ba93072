import { ProviderApiError } from '@workerkit/core';
import { DOCKER_ALIAS } from './docker-options.js';

interface ModemError {
  statusCode?: number;
  code?: string;
  message?: string;
  json?: { message?: string } | null;
}

/** The HTTP status of a dockerode error (undefined for connection failures). */
export function statusOf(error: unknown): number | undefined {
  return typeof error === 'object' && error !== null ? (error as ModemError).statusCode : undefined;
}

export const isNotFound = (error: unknown) => statusOf(error) === 404;

/** What the Engine said, without dockerode's "(HTTP code 404) no such container -" prefix. */
export function engineMessage(error: unknown): string {
  if (typeof error !== 'object' || error === null) return String(error);
  const modem = error as ModemError;
  const fromJson = modem.json && typeof modem.json === 'object' ? modem.json.message : undefined;
  // Streamed answers (archives, logs) come without json: the Engine's text follows the prefix.
  const text = fromJson ?? modem.message?.replace(/^\(HTTP code \d+\) [^-]*- /, '') ?? String(error);
  return text.trim();
}

const RETRYABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOENT',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'EHOSTUNREACH',
]);

/**
 * A dockerode failure as a `ProviderApiError`: 5xx answers and connection failures are
 * retryable (the daemon may be restarting), 4xx answers (bad request, conflict, not found) are
 * not. The dockerode error rides along as `cause`.
 */
export function toDockerApiError(operation: string, error: unknown): ProviderApiError {
  if (ProviderApiError.isInstance(error)) return error;
  const status = statusOf(error);
  const code = typeof error === 'object' && error !== null ? (error as ModemError).code : undefined;
  const retryable = status === undefined ? code === undefined || RETRYABLE_CODES.has(code) : status >= 500;
  return new ProviderApiError({
    provider: DOCKER_ALIAS,
    operation,
    message: status === undefined ? engineMessage(error) : `HTTP ${status}: ${engineMessage(error)}`,
    retryable,
    code: status === undefined ? code : String(status),
    cause: error,
  });
}

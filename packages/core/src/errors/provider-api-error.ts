import { hasMarker, markerSymbol, WorkerkitError } from './workerkit-error.js';

const symbol = markerSymbol('ProviderApiError');

/**
 * A call to the provider's API (Docker Engine, GCE, EC2) failed. The SDK's error is only the
 * `cause`; `retryable` says whether the same call may succeed later (throttling, capacity, 5xx).
 */
export class ProviderApiError extends WorkerkitError {
  protected readonly [symbol] = true;
  override readonly name = 'ProviderApiError';
  readonly provider: string;
  readonly operation: string;
  readonly retryable: boolean;
  readonly code: string | undefined;

  constructor({
    provider,
    operation,
    message,
    retryable,
    code,
    cause,
  }: {
    provider: string;
    operation: string;
    message: string;
    retryable: boolean;
    code?: string;
    cause?: unknown;
  }) {
    super({ message: `${provider}: ${operation} failed: ${message}`, cause });
    this.provider = provider;
    this.operation = operation;
    this.retryable = retryable;
    this.code = code;
  }

  static override isInstance(error: unknown): error is ProviderApiError {
    return hasMarker(error, symbol);
  }
}

import { hasMarker, markerSymbol, WorkerkitError } from './workerkit-error.js';

const symbol = markerSymbol('JobAbortError');

/**
 * The job itself cannot run as given (for example an image tag with a comma): mark it errored
 * with this user-facing message instead of requeueing it.
 */
export class JobAbortError extends WorkerkitError {
  protected readonly [symbol] = true;
  override readonly name = 'JobAbortError';

  constructor({ message, cause }: { message: string; cause?: unknown }) {
    super({ message, cause });
  }

  static override isInstance(error: unknown): error is JobAbortError {
    return hasMarker(error, symbol);
  }
}

import { hasMarker, markerSymbol, WorkerkitError } from './workerkit-error.js';

const symbol = markerSymbol('TraceNotFoundError');

/** The job wrote no trace file; like a missing implementation, this is not a job failure. */
export class TraceNotFoundError extends WorkerkitError {
  protected readonly [symbol] = true;
  override readonly name: string = 'TraceNotFoundError';

  constructor({ path, cause }: { path: string; cause?: unknown }) {
    super({ message: `no build trace at ${path}`, cause });
  }

  static override isInstance(error: unknown): error is TraceNotFoundError {
    return hasMarker(error, symbol);
  }
}

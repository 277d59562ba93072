import { hasMarker, markerSymbol, WorkerkitError } from './workerkit-error.js';

const symbol = markerSymbol('StaleVmError');

/** The instance already held a build script: it was used before and must not run another job. */
export class StaleVmError extends WorkerkitError {
  protected readonly [symbol] = true;
  override readonly name = 'StaleVmError';

  constructor({
    message = 'previous build artifacts found on stale vm',
    cause,
  }: { message?: string; cause?: unknown } = {}) {
    super({ message, cause });
  }

  static override isInstance(error: unknown): error is StaleVmError {
    return hasMarker(error, symbol);
  }
}

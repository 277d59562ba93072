import { hasMarker, markerSymbol, WorkerkitError } from './workerkit-error.js';

const symbol = markerSymbol('TraceNotImplementedError');

/** The provider cannot fetch a build trace; callers treat trace download as best effort. */
export class TraceNotImplementedError extends WorkerkitError {
  protected readonly [symbol] = true;
  override readonly name = 'TraceNotImplementedError';

  constructor({ provider }: { provider: string }) {
    super({ message: `${provider}: DownloadTrace not implemented` });
  }

  static override isInstance(error: unknown): error is TraceNotImplementedError {
    return hasMarker(error, symbol);
  }
}

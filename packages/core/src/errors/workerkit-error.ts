const BASE_MARKER = 'workerkit.error';
const BASE_SYMBOL = Symbol.for(BASE_MARKER);

/** Marks an object as carrying one error kind; `Symbol.for` keys survive duplicate package copies. */
export function markerSymbol(marker: string): symbol {
  return Symbol.for(`${BASE_MARKER}.${marker}`);
}

export function hasMarker(error: unknown, symbol: symbol): boolean {
  return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[symbol] === true;
}

/**
 * The base of every error workerkit throws. Use `WorkerkitError.isInstance(e)` rather than
 * `instanceof`: it still works when two copies of @workerkit/core are installed.
 */
export class WorkerkitError extends Error {
  protected readonly [BASE_SYMBOL] = true;
  override readonly name: string = 'WorkerkitError';

  constructor({ message, cause }: { message: string; cause?: unknown }) {
    super(message, cause === undefined ? undefined : { cause });
  }

  static isInstance(error: unknown): error is WorkerkitError {
    return hasMarker(error, BASE_SYMBOL);
  }
}

import { hasMarker, markerSymbol, WorkerkitError } from './workerkit-error.js';

const symbol = markerSymbol('MissingEndpointConfigError');

/** A provider that talks to a daemon was configured without its address. */
export class MissingEndpointConfigError extends WorkerkitError {
  protected readonly [symbol] = true;
  override readonly name = 'MissingEndpointConfigError';
  readonly provider: string;

  constructor({ provider, keys }: { provider: string; keys: readonly string[] }) {
    super({ message: `${provider}: expected config key ${keys.join(' or ')} (the endpoint address)` });
    this.provider = provider;
  }

  static override isInstance(error: unknown): error is MissingEndpointConfigError {
    return hasMarker(error, symbol);
  }
}

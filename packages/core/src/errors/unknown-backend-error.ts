import { hasMarker, markerSymbol, WorkerkitError } from './workerkit-error.js';

const symbol = markerSymbol('UnknownBackendError');

/** No provider is registered under the alias; the message names the package that would add it. */
export class UnknownBackendError extends WorkerkitError {
  protected readonly [symbol] = true;
  override readonly name = 'UnknownBackendError';
  readonly alias: string;
  readonly packageName: string;

  constructor({ alias, known }: { alias: string; known: readonly string[] }) {
    const packageName = `@workerkit/backend-${alias}`;
    const registered = known.length > 0 ? known.join(', ') : 'none';
    super({
      message:
        `unknown backend provider: ${alias} (registered: ${registered}). ` +
        `Install it with \`pnpm add ${packageName}\` (or \`npm i ${packageName}\`) and import it, ` +
        `or import a package that registers "${alias}".`,
    });
    this.alias = alias;
    this.packageName = packageName;
  }

  static override isInstance(error: unknown): error is UnknownBackendError {
    return hasMarker(error, symbol);
  }
}

import type { ConfigOrigin } from '../config/provider-config.js';
import { InvalidConfigError } from './invalid-config-error.js';
import { hasMarker, markerSymbol } from './workerkit-error.js';

const symbol = markerSymbol('UnknownOptionError');

/**
 * A config key no option of the provider reads (a typo such as `KILL_GRACEE`). An
 * `InvalidConfigError`, so the CLI exits 78; the message names the key, where it came from and
 * the closest known option.
 */
export class UnknownOptionError extends InvalidConfigError {
  protected readonly [symbol] = true;
  override readonly name = 'UnknownOptionError';
  /** The known option nearest to the key (edit distance). */
  readonly suggestion: string | undefined;

  constructor({
    provider,
    option,
    origin,
    suggestion,
  }: {
    provider: string;
    option: string;
    origin: ConfigOrigin;
    suggestion: string | undefined;
  }) {
    const from = origin.kind === 'given' ? '' : ` (from ${origin.variable})`;
    const hint = suggestion === undefined ? '' : `; did you mean ${suggestion}?`;
    super({
      provider,
      option,
      value: undefined,
      expected: 'a known option',
      message: `${provider}: unknown option ${option}${from}${hint} (workerkit backends lists every option)`,
    });
    this.suggestion = suggestion;
  }

  static override isInstance(error: unknown): error is UnknownOptionError {
    return hasMarker(error, symbol);
  }
}

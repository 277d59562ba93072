import { hasMarker, markerSymbol, WorkerkitError } from './workerkit-error.js';

const symbol = markerSymbol('InvalidConfigError');

/**
 * A configuration value is wrong. The message names the provider, the option, the value (masked
 * for secrets) and what was expected.
 */
export class InvalidConfigError extends WorkerkitError {
  protected readonly [symbol] = true;
  override readonly name: string = 'InvalidConfigError';
  readonly provider: string;
  readonly option: string;
  readonly expected: string;

  constructor({
    provider,
    option,
    value,
    expected,
    secret = false,
    cause,
    message,
  }: {
    provider: string;
    option: string;
    value: string | undefined;
    expected: string;
    secret?: boolean;
    cause?: unknown;
    /** Replaces the composed "<provider>: invalid <option>: got …, expected …" message. */
    message?: string;
  }) {
    const shown =
      value === undefined ? 'no value' : secret ? 'a value (hidden: secret)' : JSON.stringify(value);
    super({
      message: message ?? `${provider}: invalid ${option}: got ${shown}, expected ${expected}`,
      cause,
    });
    this.provider = provider;
    this.option = option;
    this.expected = expected;
  }

  static override isInstance(error: unknown): error is InvalidConfigError {
    return hasMarker(error, symbol);
  }
}

/**
 * A provider's raw configuration: string values under the Go option names (`ENDPOINT`,
 * `PROJECT_ID`, …). Values are kept as given; option schemas interpret them.
 */
export class ProviderConfig {
  readonly #values: ReadonlyMap<string, string>;

  private constructor(values: Map<string, string>) {
    this.#values = values;
  }

  /** From a plain map; keys are upper-cased, undefined values dropped. */
  static fromMap(map: Readonly<Record<string, string | undefined>> = {}): ProviderConfig {
    const values = new Map<string, string>();
    for (const [key, value] of Object.entries(map)) {
      if (value !== undefined) values.set(key.toUpperCase(), value);
    }
    return new ProviderConfig(values);
  }

  /**
   * From the environment: `WORKERKIT_<ALIAS>_<KEY>`, then the Travis worker's
   * `TRAVIS_WORKER_<ALIAS>_<KEY>`, then `<ALIAS>_<KEY>`; the first prefix that sets a key wins.
   */
  static fromEnv(
    alias: string,
    env: Readonly<Record<string, string | undefined>> = process.env,
  ): ProviderConfig {
    const name = alias.toUpperCase().replace(/[^A-Z0-9]/g, '_');
    const prefixes = [`WORKERKIT_${name}_`, `TRAVIS_WORKER_${name}_`, `${name}_`];
    const values = new Map<string, string>();
    for (const prefix of prefixes.toReversed()) {
      for (const [key, value] of Object.entries(env)) {
        if (value !== undefined && key.toUpperCase().startsWith(prefix)) {
          values.set(key.slice(prefix.length).toUpperCase(), value);
        }
      }
    }
    return new ProviderConfig(values);
  }

  /** A new config with `other`'s values taking precedence. */
  merge(other: ProviderConfig | Readonly<Record<string, string | undefined>>): ProviderConfig {
    const overrides = other instanceof ProviderConfig ? other : ProviderConfig.fromMap(other);
    return new ProviderConfig(new Map([...this.#values, ...overrides.#values]));
  }

  get(key: string): string | undefined {
    return this.#values.get(key.toUpperCase());
  }

  has(key: string): boolean {
    return this.#values.has(key.toUpperCase());
  }

  keys(): string[] {
    return [...this.#values.keys()].sort();
  }

  /** Values are never printed: a config may hold credentials. */
  toString(): string {
    return `ProviderConfig(${this.keys().join(', ')})`;
  }

  toJSON(): string {
    return this.toString();
  }
}

/**
 * Where a key came from. `given`: a map (`--config`, code); `env`: `WORKERKIT_<ALIAS>_<KEY>`;
 * `go-env`: the Go worker's `TRAVIS_WORKER_<ALIAS>_<KEY>` or `<ALIAS>_<KEY>`. Unknown keys are
 * refused from the first two and ignored from the last (see `defineOptions`).
 */
export type ConfigOrigin = { kind: 'given' } | { kind: 'env' | 'go-env'; variable: string };

interface Entry {
  value: string;
  origin: ConfigOrigin;
}

/** Marks a ProviderConfig of any copy of @workerkit/core; read it only through its methods. */
const BRAND: unique symbol = Symbol.for('workerkit.ProviderConfig');
const GIVEN: ConfigOrigin = Object.freeze({ kind: 'given' });

/** The methods every copy of `ProviderConfig` has (`origin` since 0.2). */
interface ProviderConfigShape {
  keys(): string[];
  get(key: string): string | undefined;
  origin?(key: string): ConfigOrigin | undefined;
}

/**
 * A provider's raw configuration: string values under the Go option names (`ENDPOINT`,
 * `PROJECT_ID`, …). Values are kept as given; option schemas interpret them.
 */
export class ProviderConfig {
  readonly [BRAND] = true;
  readonly #entries: ReadonlyMap<string, Entry>;

  private constructor(entries: Map<string, Entry>) {
    this.#entries = entries;
  }

  /**
   * True for a `ProviderConfig` made by any copy of @workerkit/core (two versions installed
   * side by side): `instanceof` is not enough.
   */
  static isProviderConfig(value: unknown): value is ProviderConfig {
    return (
      typeof value === 'object' &&
      value !== null &&
      (value as { [BRAND]?: unknown })[BRAND] === true &&
      typeof (value as ProviderConfigShape).keys === 'function' &&
      typeof (value as ProviderConfigShape).get === 'function'
    );
  }

  /** A config of this copy from a plain map or a config of any copy (read through its methods). */
  static from(config: ProviderConfig | Readonly<Record<string, string | undefined>> = {}): ProviderConfig {
    if (!ProviderConfig.isProviderConfig(config)) return ProviderConfig.fromMap(config);
    if (#entries in config) return config;
    const foreign = config as ProviderConfigShape;
    const entries = new Map<string, Entry>();
    for (const key of foreign.keys()) {
      const value = foreign.get(key);
      if (value !== undefined)
        entries.set(key.toUpperCase(), { value, origin: foreign.origin?.(key) ?? GIVEN });
    }
    return new ProviderConfig(entries);
  }

  /** From a plain map; keys are upper-cased, undefined values dropped. */
  static fromMap(map: Readonly<Record<string, string | undefined>> = {}): ProviderConfig {
    const entries = new Map<string, Entry>();
    for (const [key, value] of Object.entries(map)) {
      if (value !== undefined) entries.set(key.toUpperCase(), { value, origin: GIVEN });
    }
    return new ProviderConfig(entries);
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
    const prefixes = [
      { prefix: `WORKERKIT_${name}_`, kind: 'env' },
      { prefix: `TRAVIS_WORKER_${name}_`, kind: 'go-env' },
      { prefix: `${name}_`, kind: 'go-env' },
    ] as const;
    const entries = new Map<string, Entry>();
    for (const { prefix, kind } of prefixes.toReversed()) {
      for (const [variable, value] of Object.entries(env)) {
        if (value !== undefined && variable.toUpperCase().startsWith(prefix)) {
          entries.set(variable.slice(prefix.length).toUpperCase(), { value, origin: { kind, variable } });
        }
      }
    }
    return new ProviderConfig(entries);
  }

  /** A new config with `other`'s values taking precedence; `other` may come from any copy of core. */
  merge(other: ProviderConfig | Readonly<Record<string, string | undefined>>): ProviderConfig {
    return new ProviderConfig(new Map([...this.#entries, ...ProviderConfig.from(other).#entries]));
  }

  get(key: string): string | undefined {
    return this.#entries.get(key.toUpperCase())?.value;
  }

  has(key: string): boolean {
    return this.#entries.has(key.toUpperCase());
  }

  keys(): string[] {
    return [...this.#entries.keys()].sort();
  }

  /** Where `key` came from (for errors that say what to fix); undefined when it is not set. */
  origin(key: string): ConfigOrigin | undefined {
    return this.#entries.get(key.toUpperCase())?.origin;
  }

  /** Values are never printed: a config may hold credentials. */
  toString(): string {
    return `ProviderConfig(${this.keys().join(', ')})`;
  }

  toJSON(): string {
    return this.toString();
  }
}

import { InvalidConfigError } from '../errors/invalid-config-error.js';
import { UnknownOptionError } from '../errors/unknown-option-error.js';
import { closestWord } from '../util/closest-word.js';
import type { OptionType } from './option-types.js';
import { ProviderConfig } from './provider-config.js';

export interface OptionSpec<T> {
  type: OptionType<T>;
  /** The help text (the Go help text where the option comes from Go). */
  description: string;
  /** The default, written as a user would write it; parsed like any value. */
  default?: string;
  /** Missing is an error. */
  required?: boolean;
  /** Never printed: errors say "hidden". */
  secret?: boolean;
  /** Other keys accepted for the same option (Go's misnamed or renamed keys). */
  aliases?: readonly string[];
}

type ValueOf<S> =
  S extends OptionSpec<infer T>
    ? S extends { required: true } | { default: string }
      ? T
      : T | undefined
    : never;

export type ParsedOptions<S extends Record<string, OptionSpec<unknown>>> = {
  -readonly [K in keyof S]: ValueOf<S[K]>;
};

export interface DefineOptionsSettings {
  /**
   * Keys the provider reads itself besides the declared options (`/^IMAGE_ALIAS_/`). Default:
   * when an option starts with `IMAGE_`, every key containing `IMAGE_` (the env image
   * selector's `IMAGE_<DIST>_<LANGUAGE>` keys); otherwise none.
   */
  openKeys?: readonly RegExp[];
}

export interface OptionsDefinition<S extends Record<string, OptionSpec<unknown>>> {
  readonly alias: string;
  readonly specs: S;
  /**
   * Reads and validates every option; throws `InvalidConfigError` for the first bad one, and
   * `UnknownOptionError` (an `InvalidConfigError`) for a key no option reads, given in a map or
   * as `WORKERKIT_<ALIAS>_<KEY>`. Unknown keys from the Go worker's prefixes
   * (`TRAVIS_WORKER_<ALIAS>_`, `<ALIAS>_`) are ignored: `DOCKER_HOST` or `GCE_METADATA_HOST`
   * belong to other programs.
   */
  parse(config: ProviderConfig): ParsedOptions<S>;
  /** The help map as the Go worker printed it: key → "description (default …)". */
  help(): Record<string, string>;
  /** The environment variable names for a key. */
  envNames(key: keyof S & string): string[];
  /** A Markdown table of the options for READMEs (kept in sync by `scripts/update-readme-tables.mjs`). */
  markdownTable(): string;
}

export function option<T, const O extends Omit<OptionSpec<T>, 'type'>>(
  type: OptionType<T>,
  spec: O,
): O & { type: OptionType<T> } {
  return { ...spec, type };
}

/** Declares a provider's options once; parsing, errors, help and docs all come from it. */
export function defineOptions<const S extends Record<string, OptionSpec<unknown>>>(
  alias: string,
  specs: S,
  settings: DefineOptionsSettings = {},
): OptionsDefinition<S> {
  const envName = alias.toUpperCase().replace(/[^A-Z0-9]/g, '_');
  const knownKeys = Object.entries(specs).flatMap(([key, spec]) => [key, ...(spec.aliases ?? [])]);
  const known = new Set(knownKeys);
  const openKeys = settings.openKeys ?? (knownKeys.some((key) => key.startsWith('IMAGE_')) ? [/IMAGE_/] : []);
  const refuseUnknownKeys = (config: ProviderConfig) => {
    for (const key of config.keys()) {
      if (known.has(key) || openKeys.some((pattern) => pattern.test(key))) continue;
      const origin = config.origin(key) ?? { kind: 'given' };
      if (origin.kind === 'go-env') continue;
      throw new UnknownOptionError({
        provider: alias,
        option: key,
        origin,
        suggestion: closestWord(key, known),
      });
    }
  };
  return {
    alias,
    specs,
    parse(input) {
      // A config from another copy of core (an older one may lack `origin`) is read through its methods.
      const config = ProviderConfig.from(input);
      refuseUnknownKeys(config);
      const parsed: Record<string, unknown> = {};
      for (const [key, spec] of Object.entries(specs)) {
        const given = [key, ...(spec.aliases ?? [])].find((k) => config.has(k) && config.get(k) !== '');
        const raw = given === undefined ? spec.default : config.get(given);
        if (raw === undefined) {
          if (spec.required) {
            throw new InvalidConfigError({
              provider: alias,
              option: key,
              value: undefined,
              expected: `${spec.type.expected} (required: ${spec.description})`,
            });
          }
          parsed[key] = undefined;
          continue;
        }
        const value = spec.type.parse(raw);
        if (value === undefined) {
          throw new InvalidConfigError({
            provider: alias,
            option: given ?? key,
            value: raw,
            expected: spec.type.expected,
            secret: spec.secret ?? false,
          });
        }
        parsed[key] = value;
      }
      return parsed as ParsedOptions<S>;
    },
    help() {
      const help: Record<string, string> = {};
      for (const [key, spec] of Object.entries(specs)) {
        const name = [key, ...(spec.aliases ?? [])].join(' / ');
        const required = spec.required ? '[REQUIRED] ' : '';
        const fallback = spec.default === undefined ? '' : ` (default ${JSON.stringify(spec.default)})`;
        help[name] = `${required}${spec.description}${fallback}`;
      }
      return help;
    },
    envNames(key) {
      return [`WORKERKIT_${envName}_${key}`, `TRAVIS_WORKER_${envName}_${key}`, `${envName}_${key}`];
    },
    markdownTable() {
      const cell = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ');
      const rows = Object.entries(specs).map(([key, spec]) => {
        const names = [key, ...(spec.aliases ?? [])].map((name) => `\`${name}\``).join(' / ');
        const fallback =
          spec.default === undefined ? (spec.required ? '**required**' : '') : `\`${spec.default}\``;
        const notes = [
          spec.description.replace(/\.?$/, '.'),
          `Expects ${spec.type.expected}.`,
          spec.secret ? 'Secret: never printed.' : '',
        ]
          .filter(Boolean)
          .join(' ');
        return `| ${names} | ${cell(fallback)} | ${cell(notes)} |`;
      });
      return [
        `Set with \`--config KEY=VALUE\` or the environment: \`WORKERKIT_${envName}_<KEY>\` (also \`TRAVIS_WORKER_${envName}_<KEY>\`, \`${envName}_<KEY>\`).`,
        '',
        '| option | default | description |',
        '| --- | --- | --- |',
        ...rows,
      ].join('\n');
    },
  };
}

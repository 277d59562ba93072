import { asBool } from '../util/as-bool.js';
import { parseDuration } from '../util/duration.js';
import { str2map } from '../util/str2map.js';
import type { StandardSchemaV1 } from './standard-schema.js';

/**
 * A parser for one option's string value. `expected` is shown in errors and help
 * ("a duration such as 500ms"). It is also a Standard Schema (`~standard`), so a tool that
 * validates with zod, valibot or arktype schemas can validate an option value with it too.
 *
 * Not zod itself: every option is a string run through a parse function, which needs no schema
 * library, and importing zod 4 (it loads every locale) cost `workerkit backends` 100 ms of its
 * 300 ms budget.
 */
export interface OptionType<T> extends StandardSchemaV1<string, T> {
  /** The value `raw` stands for, or undefined when it is not one. */
  parse(raw: string): T | undefined;
  readonly expected: string;
}

function custom<T>(expected: string, parse: (raw: string) => T | undefined): OptionType<T> {
  return {
    parse,
    expected,
    '~standard': {
      version: 1,
      vendor: 'workerkit',
      validate(input) {
        const value = typeof input === 'string' ? parse(input) : undefined;
        return value === undefined ? { issues: [{ message: `expected ${expected}` }] } : { value };
      },
    },
  };
}

/** Value types for provider options; every one parses a string, as env and Go configs give. */
export const optionTypes = {
  string: (): OptionType<string> => custom('a string', (raw) => raw),

  /** Go `asBool`: only 0/no/off/false (any case) are false; anything else is true. */
  bool: (): OptionType<boolean> => custom('a boolean', (raw) => asBool(raw)),

  /** Strict boolean for new options, where a typo should not silently mean true. */
  strictBool: (): OptionType<boolean> =>
    custom('true or false (also 1/0, yes/no, on/off)', (raw) => {
      const word = raw.trim().toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(word)) return true;
      if (['0', 'false', 'no', 'off'].includes(word)) return false;
      return undefined;
    }),

  /** A Go duration ("500ms", "1m30s") as milliseconds. */
  duration: (): OptionType<number> =>
    custom('a duration such as "500ms", "3s" or "1m30s"', (raw) => {
      const ms = parseDuration(raw);
      return ms !== undefined && ms >= 0 ? ms : undefined;
    }),

  int: ({ min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = {}): OptionType<number> =>
    custom(
      min === Number.MIN_SAFE_INTEGER
        ? 'an integer'
        : `an integer from ${min}${max === Number.MAX_SAFE_INTEGER ? '' : ` to ${max}`}`,
      (raw) => {
        if (!/^-?\d+$/.test(raw.trim())) return undefined;
        const value = Number(raw.trim());
        return value >= min && value <= max ? value : undefined;
      },
    ),

  /** One of a fixed set of words. */
  oneOf: <const T extends string>(choices: readonly T[]): OptionType<T> =>
    custom(`one of ${choices.map((c) => `"${c}"`).join(', ')}`, (raw) =>
      choices.includes(raw as T) ? (raw as T) : undefined,
    ),

  /** Items separated by commas (and optionally spaces); empty items dropped. */
  list: ({ separators = ',' }: { separators?: string } = {}): OptionType<string[]> =>
    custom('a comma-separated list', (raw) =>
      raw
        .split(new RegExp(`[${separators}]`))
        .map((item) => item.trim())
        .filter((item) => item !== ''),
    ),

  /** Go `str2map`: `key:value` pairs separated by spaces or commas, values URL-unescaped. */
  map: ({ separators = ' ,' }: { separators?: string } = {}): OptionType<Record<string, string>> =>
    custom('key:value pairs separated by spaces or commas', (raw) => str2map(raw, separators)),

  url: ({ protocols = ['http:', 'https:'] }: { protocols?: string[] } = {}): OptionType<URL> =>
    custom(`a URL (${protocols.join(' or ')})`, (raw) => {
      try {
        const url = new URL(raw);
        return protocols.includes(url.protocol) ? url : undefined;
      } catch {
        return undefined;
      }
    }),

  /** Anything else: a custom parser that returns undefined for a bad value. */
  custom,
};

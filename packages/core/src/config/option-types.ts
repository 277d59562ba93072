import { z } from 'zod';
import { asBool } from '../util/as-bool.js';
import { parseDuration } from '../util/duration.js';
import { str2map } from '../util/str2map.js';

/**
 * A parser for one option's string value. `expected` is shown in errors and help
 * ("a duration such as 500ms").
 */
export interface OptionType<T> {
  readonly schema: z.ZodType<T, string>;
  readonly expected: string;
}

function custom<T>(expected: string, parse: (raw: string) => T | undefined): OptionType<T> {
  const schema = z.string().transform((raw, ctx) => {
    const value = parse(raw);
    if (value === undefined) {
      ctx.issues.push({ code: 'custom', message: expected, input: raw });
      return z.NEVER;
    }
    return value;
  });
  return { schema, expected };
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

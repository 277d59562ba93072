import type { OptionSpec, OptionsDefinition } from './define-options.js';

export const OPTIONS_TABLE_START = '<!-- options:start -->';
export const OPTIONS_TABLE_END = '<!-- options:end -->';

/**
 * `readme` with the text between `<!-- options:start -->` and `<!-- options:end -->` replaced by
 * the definition's Markdown table, so a README documents exactly the options the code reads.
 * Throws when the markers are missing.
 */
export function withOptionsTable(
  readme: string,
  definition: Pick<OptionsDefinition<Record<string, OptionSpec<unknown>>>, 'alias' | 'markdownTable'>,
): string {
  const start = readme.indexOf(OPTIONS_TABLE_START);
  const end = readme.indexOf(OPTIONS_TABLE_END);
  if (start === -1 || end < start) {
    throw new Error(
      `${definition.alias}: the README needs a line ${OPTIONS_TABLE_START} and, after it, ${OPTIONS_TABLE_END} where the options table goes`,
    );
  }
  const before = readme.slice(0, start + OPTIONS_TABLE_START.length);
  return `${before}\n${definition.markdownTable()}\n${readme.slice(end)}`;
}

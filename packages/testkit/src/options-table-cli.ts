#!/usr/bin/env node
/**
 * `workerkit-options-table <module> [README.md] [--check]`: imports a backend's built module,
 * finds its options definition (the export with `markdownTable()`), and rewrites the README's
 * table between `<!-- options:start -->` and `<!-- options:end -->`. With `--check` it changes
 * nothing and exits 1 when the table is stale (for CI).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type OptionSpec, type OptionsDefinition, withOptionsTable } from '@workerkit/core';

type Definition = OptionsDefinition<Record<string, OptionSpec<unknown>>>;

function isDefinition(value: unknown): value is Definition {
  return typeof (value as Partial<Definition> | undefined)?.markdownTable === 'function';
}

const args = process.argv.slice(2);
const check = args.includes('--check');
const [modulePath, readmePath = 'README.md'] = args.filter((arg) => arg !== '--check');
if (modulePath === undefined) {
  process.stderr.write('usage: workerkit-options-table <module> [README.md] [--check]\n');
  process.exit(64);
}
const module = (await import(pathToFileURL(resolve(modulePath)).href)) as Record<string, unknown>;
const definition = Object.values(module).find(isDefinition);
if (!definition) {
  process.stderr.write(
    `workerkit-options-table: ${modulePath} exports no options definition (defineOptions)\n`,
  );
  process.exit(1);
}
const readme = readFileSync(readmePath, 'utf8');
const updated = withOptionsTable(readme, definition);
if (updated === readme) {
  process.stdout.write(`${readmePath}: options table up to date\n`);
} else if (check) {
  process.stderr.write(
    `${readmePath}: options table is stale; run workerkit-options-table without --check\n`,
  );
  process.exit(1);
} else {
  writeFileSync(readmePath, updated);
  process.stdout.write(`${readmePath}: options table updated\n`);
}

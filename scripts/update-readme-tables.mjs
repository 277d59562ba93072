#!/usr/bin/env node
// Rewrites the options table between <!-- options:start --> and <!-- options:end --> in each
// backend README from the package's own option definitions (run after `pnpm build`). Each
// package has a test that fails when its README table is stale.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = new URL('..', import.meta.url).pathname;
const START = '<!-- options:start -->';
const END = '<!-- options:end -->';

for (const dir of readdirSync(join(root, 'packages')).sort()) {
  const readmePath = join(root, 'packages', dir, 'README.md');
  let readme;
  try {
    readme = readFileSync(readmePath, 'utf8');
  } catch {
    continue;
  }
  if (!readme.includes(START)) continue;
  const module = await import(pathToFileURL(join(root, 'packages', dir, 'dist', 'index.js')).href);
  const definition = Object.values(module).find((value) => typeof value?.markdownTable === 'function');
  if (!definition)
    throw new Error(`${dir}: README has an options table but the package exports no options definition`);
  const before = readme.slice(0, readme.indexOf(START) + START.length);
  const after = readme.slice(readme.indexOf(END));
  const updated = `${before}\n${definition.markdownTable()}\n${after}`;
  if (updated !== readme) {
    writeFileSync(readmePath, updated);
    console.log(`${dir}: options table updated`);
  }
}

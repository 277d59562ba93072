import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { dockerOptions } from './docker-options.js';

it('documents every option in the README, generated from the option definitions', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  // Regenerate with `pnpm readme-tables` when this fails.
  expect(readme).toContain(dockerOptions.markdownTable());
});

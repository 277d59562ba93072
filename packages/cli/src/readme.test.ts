import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

// The library example in the root README is type-checked and run as written, so it cannot rot.
it('type-checks and runs the README library example', { timeout: 60_000 }, () => {
  const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf('## As a library'));
  const start = section.indexOf('```ts\n') + '```ts\n'.length;
  const snippet = section.slice(start, section.indexOf('\n```', start));
  // Inside this package, so its imports resolve to this workspace's packages.
  const dir = fileURLToPath(new URL('../.readme-example/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'example.ts'), `${snippet}\nexport {};\n`);
  try {
    const tsc = join(createRequire(import.meta.url).resolve('typescript/package.json'), '..', 'bin', 'tsc');
    execFileSync(
      process.execPath,
      [
        tsc,
        '--ignoreConfig',
        '--strict',
        '--target',
        'ES2022',
        '--module',
        'NodeNext',
        '--moduleResolution',
        'NodeNext',
        '--lib',
        'ES2023,ESNext.Disposable',
        '--types',
        'node',
        '--skipLibCheck',
        '--outDir',
        dir,
        join(dir, 'example.ts'),
      ],
      { encoding: 'utf8', stdio: 'pipe' },
    );
    const output = execFileSync(process.execPath, [join(dir, 'example.js')], { encoding: 'utf8' });
    expect(output).toBe('building on Linux\nscript exited 3\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

#!/usr/bin/env node
// Packs every publishable package and checks the tarball holds only dist/, README.md, LICENSE
// and package.json, with no workspace: ranges left, then runs publint and attw on it.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const out = mkdtempSync(join(tmpdir(), 'workerkit-packs-'));
const allowed = /^package\/(package\.json|README\.md|LICENSE|dist\/.+)$/;
const failures = [];

for (const dir of readdirSync(join(root, 'packages')).sort()) {
  const pkgDir = join(root, 'packages', dir);
  const manifest = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
  if (manifest.private) continue;
  const before = new Set(readdirSync(out));
  execFileSync('pnpm', ['pack', '--pack-destination', out], { cwd: pkgDir, stdio: 'pipe' });
  const tarball = join(
    out,
    readdirSync(out).find((file) => !before.has(file)),
  );
  const entries = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).trim().split('\n');
  const stray = entries.filter(
    (entry) => !allowed.test(entry) || entry.endsWith('.tsbuildinfo') || entry.includes('.test.'),
  );
  for (const need of ['package/README.md', 'package/LICENSE', 'package/dist/index.js']) {
    if (!entries.includes(need)) failures.push(`${manifest.name}: ${need} missing from the tarball`);
  }
  if (stray.length > 0)
    failures.push(`${manifest.name}: unexpected files in the tarball: ${stray.join(', ')}`);
  const packed = execFileSync('tar', ['-xzOf', tarball, 'package/package.json'], { encoding: 'utf8' });
  if (packed.includes('workspace:'))
    failures.push(`${manifest.name}: workspace: ranges left in the packed package.json`);
  for (const [tool, args] of [
    ['publint', ['--strict', tarball]],
    ['attw', ['--profile', 'esm-only', '--format', 'table-flipped', tarball]],
  ]) {
    try {
      execFileSync(join(root, 'node_modules', '.bin', tool), args, { stdio: 'pipe' });
    } catch (error) {
      failures.push(
        `${manifest.name}: ${tool} failed:\n${error.stdout?.toString() ?? ''}${error.stderr?.toString() ?? ''}`,
      );
    }
  }
  console.log(`${manifest.name}: ${entries.length} files packed, checked`);
}
rmSync(out, { recursive: true, force: true });
if (failures.length > 0) {
  console.error(failures.join('\n'));
  process.exit(1);
}
console.log('all packages pack cleanly');

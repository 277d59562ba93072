/**
 * contributing/add-a-backend.md, followed to the letter outside the workspace: its files are
 * copied from the page into an empty directory, built against the packed @workerkit/core,
 * @workerkit/testkit and workerkit, tested with the conformance suite, documented with
 * workerkit-options-table, and run through `workerkit run --load` and `workerkit gc --load`.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { installOffline, isProcessAlive, RecordingSink } from '@workerkit/testkit';
import { afterAll, describe, expect, it } from 'vitest';

const repo = fileURLToPath(new URL('../../..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'workerkit-add-a-backend-'));
const project = join(work, 'backend-foo');
const root = join(work, 'foo-instances');
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A clean environment: the outer vitest's variables must not reach the inner one. */
const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', NO_COLOR: '1' };

function sh(command: string, args: string[], cwd = project): string {
  return execFileSync(command, args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Every `<!-- file: path -->` block of the page, as path → content. */
function filesOf(page: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const match of page.matchAll(/<!-- file: (\S+) -->\n+(`{3,})\w*\n([\s\S]*?)\n\2\n/g)) {
    files.set(match[1]!, `${match[3]}\n`);
  }
  return files;
}

function packed(name: string): string {
  const out = join(work, 'tarballs');
  mkdirSync(out, { recursive: true });
  const before = new Set(readdirSync(out));
  sh('pnpm', ['pack', '--pack-destination', out], join(repo, 'packages', name));
  return join(out, readdirSync(out).find((file) => !before.has(file))!);
}

describe('contributing/add-a-backend.md outside the workspace', { timeout: 240_000 }, () => {
  it('builds, passes the conformance suite and runs through workerkit run/gc --load', async () => {
    const files = filesOf(readFileSync(join(repo, 'contributing', 'add-a-backend.md'), 'utf8'));
    expect([...files.keys()].sort()).toEqual([
      'README.md',
      'package.json',
      'src/foo-errors.ts',
      'src/foo-instance.ts',
      'src/foo-options.ts',
      'src/foo-provider.test.ts',
      'src/foo-provider.ts',
      'src/index.ts',
      'tsconfig.json',
      'vitest.config.ts',
    ]);
    for (const [path, content] of files) {
      mkdirSync(dirname(join(project, path)), { recursive: true });
      writeFileSync(join(project, path), content);
    }

    // `pnpm add` as the page says, with two substitutions a test needs: our packages come from
    // their packed tarballs (what the registry would serve), and the toolchain (vitest,
    // typescript, @types/node) is the workspace's own, linked in, so nothing is downloaded.
    const tarballs = {
      '@workerkit/core': packed('core'),
      '@workerkit/testkit': packed('testkit'),
      '@workerkit/backend-local': packed('backend-local'),
      workerkit: packed('cli'),
    };
    const manifest = readFileSync(join(project, 'package.json'), 'utf8');
    const installable = JSON.parse(manifest) as { devDependencies: Record<string, string> };
    const toolchain = ['vitest', 'typescript', '@types/node'];
    for (const name of toolchain) delete installable.devDependencies[name];
    writeFileSync(join(project, 'package.json'), JSON.stringify(installable));
    writeFileSync(
      join(project, 'pnpm-workspace.yaml'),
      [
        'autoInstallPeers: false',
        'overrides:',
        ...Object.entries(tarballs).map(([name, path]) => `  "${name}": "file:${path}"`),
        '',
      ].join('\n'),
    );
    installOffline(project, { workspaceDir: repo, env });
    writeFileSync(join(project, 'package.json'), manifest);
    for (const name of toolchain) {
      mkdirSync(dirname(join(project, 'node_modules', name)), { recursive: true });
      symlinkSync(realpathSync(join(repo, 'node_modules', name)), join(project, 'node_modules', name));
    }
    symlinkSync('../typescript/bin/tsc', join(project, 'node_modules/.bin/tsc'));
    symlinkSync('../vitest/vitest.mjs', join(project, 'node_modules/.bin/vitest'));

    // §2, §7: build, generate the options table, pass the conformance suite.
    sh('pnpm', ['build']);
    expect(sh('pnpm', ['run', 'options-table'])).toContain('README.md: options table updated');
    expect(readFileSync(join(project, 'README.md'), 'utf8')).toMatch(/\| `ROOT` \| \*\*required\*\* \|/);
    expect(
      sh('pnpm', ['exec', 'workerkit-options-table', './dist/index.js', 'README.md', '--check']),
    ).toContain('up to date');
    expect(sh('pnpm', ['test'])).toMatch(/Tests +\d+ passed \(\d+\)/);

    // §8: the CLI, with the backend loaded by its package name.
    const load = ['--load', '@someone/workerkit-backend-foo'];
    const cli = join(project, 'node_modules', 'workerkit', 'dist', 'bin.js');
    expect(sh(process.execPath, [cli, 'backends', ...load])).toContain('Foo (--backend foo)');
    writeFileSync(join(work, 'job.sh'), 'echo "hello from foo"\nexit 3\n');
    const job = spawn(
      process.execPath,
      [cli, 'run', ...load, '--backend', 'foo', '-c', `ROOT=${root}`, join(work, 'job.sh')],
      {
        cwd: project,
        env,
      },
    );
    const jobOutput = new RecordingSink();
    job.stdout.pipe(jobOutput);
    expect(await exitOf(job)).toBe(3);
    expect(jobOutput.text).toBe('hello from foo\n');

    // A worker killed with SIGKILL mid-run leaves a directory and a process: gc removes both.
    writeFileSync(join(work, 'sleep.sh'), 'echo $$ > "$PWD/../sleeper.pid"\necho started\nsleep 60\n');
    const crashed = spawn(
      process.execPath,
      [cli, 'run', ...load, '--backend', 'foo', '-c', `ROOT=${root}`, join(work, 'sleep.sh')],
      {
        cwd: project,
        env,
      },
    );
    const crashedOutput = new RecordingSink();
    crashed.stdout.pipe(crashedOutput);
    await crashedOutput.waitFor('started');
    crashed.kill('SIGKILL');
    await exitOf(crashed);
    const sleeper = Number(readFileSync(join(root, 'sleeper.pid'), 'utf8'));
    expect(isProcessAlive(sleeper)).toBe(true);
    const gc = sh(process.execPath, [cli, 'gc', ...load, '--backend', 'foo', '-c', `ROOT=${root}`]);
    expect(gc).toMatch(/foo: deleted directory .* \(owner-gone\)/);
    expect(readdirSync(root).filter((name) => name !== 'sleeper.pid')).toEqual([]);
    const deadline = Date.now() + 30_000;
    while (isProcessAlive(sleeper) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(isProcessAlive(sleeper)).toBe(false);
    expect(existsSync(join(project, 'dist', 'index.js'))).toBe(true);
  });
});

function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.once('close', (code) => resolve(code)));
}

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RecordingSink } from '@workerkit/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT_CODES } from './exit-codes.js';

const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'workerkit-cli-test-'));
const scriptsDir = join(work, 'scripts');
afterAll(() => rmSync(work, { recursive: true, force: true }));

function script(name: string, body: string): string {
  const path = join(work, name);
  writeFileSync(path, body);
  return path;
}

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

function start(
  args: string[],
  env: Record<string, string> = {},
): { child: ChildProcess; stdout: RecordingSink; stderr: RecordingSink; done: Promise<Outcome> } {
  const child = spawn(process.execPath, [bin, ...args], {
    cwd: work,
    env: { PATH: process.env.PATH, WORKERKIT_LOCAL_SCRIPTS_DIR: scriptsDir, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const stdout = new RecordingSink();
  const stderr = new RecordingSink();
  child.stdout!.pipe(stdout);
  child.stderr!.pipe(stderr);
  const done = new Promise<Outcome>((resolve) =>
    child.once('close', (code) => resolve({ code, stdout: stdout.text, stderr: stderr.text })),
  );
  return { child, stdout, stderr, done };
}

const run = (args: string[], env?: Record<string, string>) => start(args, env).done;
const leftovers = () => (existsSync(scriptsDir) ? readdirSync(scriptsDir) : []);

describe('workerkit run', () => {
  it.each([0, 1, 42])('exits with the script exit code %i and streams its output', async (code) => {
    const outcome = await run(['run', script(`exit-${code}.sh`, `echo out\necho err >&2\nexit ${code}\n`)]);
    expect(outcome.code).toBe(code);
    expect(outcome.stdout).toBe('out\nerr\n');
    expect(leftovers()).toEqual([]);
  });

  it('reads the script from stdin with -', async () => {
    const { child, done } = start(['run', '-']);
    child.stdin!.end('echo from-stdin\n');
    expect(await done).toMatchObject({ code: 0, stdout: 'from-stdin\n' });
  });

  it('exits 75 (requeue) when the run is incomplete', async () => {
    const outcome = await run(['run', '--timeout', '300ms', script('slow.sh', 'sleep 30\n')]);
    expect(outcome.code).toBe(EXIT_CODES.incomplete);
    expect(outcome.stderr).toContain('run incomplete (hard-timeout)');
    expect(leftovers()).toEqual([]);
  });

  it('exits 75 when the backend fails the job, and takes backend options from --config and env', async () => {
    const outcome = await run(['run', '-b', 'fake', '-c', 'LOG_OUTPUT=hi', script('any.sh', 'true\n')], {
      WORKERKIT_FAKE_ERROR: 'true',
    });
    expect(outcome.code).toBe(EXIT_CODES.incomplete);
    expect(outcome.stderr).toContain('fake provider is configured to error all jobs');
    const passing = await run([
      'run',
      '-b',
      'fake',
      '-c',
      'LOG_OUTPUT=hi',
      '-c',
      'EXIT_CODE=3',
      script('any.sh', 'true\n'),
    ]);
    expect(passing).toMatchObject({ code: 3, stdout: 'hi' });
  });

  it('treats --trace as best effort: a backend without traces still passes the job', async () => {
    const outcome = await run([
      'run',
      '--trace',
      join(work, 'trace.out'),
      script('traced.sh', 'echo traced\n'),
    ]);
    expect(outcome).toMatchObject({ code: 0, stdout: 'traced\n' });
    expect(outcome.stderr).toContain('workerkit: no trace: local: DownloadTrace not implemented');
    expect(existsSync(join(work, 'trace.out'))).toBe(false);
  });

  it('exits 78 for a bad option, naming it', async () => {
    const outcome = await run(['run', '-b', 'fake', '-c', 'RUN_SLEEP=later', script('any.sh', 'true\n')]);
    expect(outcome.code).toBe(EXIT_CODES.config);
    expect(outcome.stderr).toContain('fake: invalid RUN_SLEEP: got "later"');
  });

  it('exits 78 for an unknown --config key or WORKERKIT_<ALIAS>_ variable, naming the closest option', async () => {
    const typo = await run(['run', '-c', 'KILL_GRACEE=3s', script('any.sh', 'true\n')]);
    expect(typo.code).toBe(EXIT_CODES.config);
    expect(typo.stderr).toContain('local: unknown option KILL_GRACEE; did you mean KILL_GRACE?');
    const fromEnv = await run(['run', script('any.sh', 'true\n')], { WORKERKIT_LOCAL_SHEL: 'sh' });
    expect(fromEnv.code).toBe(EXIT_CODES.config);
    expect(fromEnv.stderr).toContain('unknown option SHEL (from WORKERKIT_LOCAL_SHEL); did you mean SHELL?');
    expect(leftovers()).toEqual([]);
  });

  it('ignores unknown keys under the Go prefix <ALIAS>_, which other programs share', async () => {
    const outcome = await run(['run', script('hi.sh', 'echo hi\n')], { LOCAL_UNRELATED: '1' });
    expect(outcome).toMatchObject({ code: 0, stdout: 'hi\n' });
  });

  it('exits 64 with one line for a script that is a directory or unreadable', async () => {
    const directory = await run(['run', work]);
    expect(directory.code).toBe(EXIT_CODES.usage);
    expect(directory.stderr).toContain(`workerkit: cannot read the script ${work}: it is a directory`);
    expect(directory.stderr).not.toContain('    at ');
    const missing = await run(['run', join(work, 'missing.sh')]);
    expect(missing.stderr).toContain('no such file');
  });

  it('exits 78 for a backend that is not installed, naming the package', async () => {
    const outcome = await run(['run', '--backend', 'openstack', script('any.sh', 'true\n')]);
    expect(outcome.code).toBe(EXIT_CODES.config);
    expect(outcome.stderr).toMatch(/unknown backend provider: openstack \(registered: [^)]*\blocal\b/);
    expect(outcome.stderr).toContain('pnpm add @workerkit/backend-openstack');
  });

  it('exits 64 for a usage error', async () => {
    expect((await run(['run'])).code).toBe(EXIT_CODES.usage);
    expect((await run(['run', '--timeout', 'soon', 'x.sh'])).code).toBe(EXIT_CODES.usage);
    expect((await run(['launch'])).code).toBe(EXIT_CODES.usage);
    expect((await run(['run', join(work, 'missing.sh')])).code).toBe(EXIT_CODES.usage);
  });

  it('on Ctrl-C cancels the run, deletes the instance and exits 130', async () => {
    const job = start(['run', script('long.sh', 'echo started\nsleep 60\n')]);
    await job.stdout.waitFor('started');
    expect(leftovers()).toHaveLength(1);
    job.child.kill('SIGINT');
    const outcome = await job.done;
    expect(outcome.code).toBe(EXIT_CODES.interrupted);
    expect(outcome.stderr).toContain('cancelling the job');
    expect(leftovers()).toEqual([]);
  });

  it('on a second Ctrl-C exits at once', async () => {
    // The first Ctrl-C lands while the script ignores SIGTERM, so the clean stop takes KILL_GRACE.
    const job = start([
      'run',
      '-c',
      'KILL_GRACE=30s',
      script('stubborn.sh', "trap '' TERM\necho started\nsleep 60\n"),
    ]);
    await job.stdout.waitFor('started');
    job.child.kill('SIGINT');
    await job.stderr.waitFor('cancelling the job');
    const secondAt = Date.now();
    job.child.kill('SIGINT');
    const outcome = await job.done;
    expect(Date.now() - secondAt).toBeLessThan(5000);
    expect(outcome.code).toBe(EXIT_CODES.interrupted);
    expect(outcome.stderr).toContain('exiting now');
    // What a forced exit leaves behind is what `workerkit gc` is for.
    const gc = await run(['gc', '--backend', 'local']);
    expect(gc.code).toBe(0);
    expect(gc.stdout).toMatch(/local: deleted directory .* \(owner-gone\)/);
    expect(leftovers()).toEqual([]);
  });
});

describe('workerkit backends', () => {
  it('lists installed backends with their option help', async () => {
    const outcome = await run(['backends']);
    expect(outcome.code).toBe(0);
    expect(outcome.stdout).toContain('Local (--backend local)  from @workerkit/backend-local');
    expect(outcome.stdout).toMatch(/ {2}SCRIPTS_DIR +directory where generated scripts will be written/);
    expect(outcome.stdout).toContain('Fake (--backend fake)');
  });
});

describe('a reader that goes away (workerkit … | head)', () => {
  it('backends: ends quietly, without an unhandled EPIPE', async () => {
    const { child, done } = start(['backends']);
    child.stdout!.destroy(); // before the command writes anything: every write meets a closed pipe
    const outcome = await done;
    expect(outcome.code).toBe(0);
    expect(outcome.stderr).toBe('');
  });

  it('run: the run ends as output-failed, the instance is deleted, no unhandled error', async () => {
    const { child, done } = start(['run', script('chatty.sh', 'while :; do echo chatter; done\n')]);
    child.stdout!.destroy();
    const outcome = await done;
    expect(outcome.code).toBe(EXIT_CODES.incomplete);
    expect(outcome.stderr).toContain('run incomplete (output-failed)');
    expect(outcome.stderr).not.toMatch(/Unhandled|node:events|at .*\.js:\d+/);
    expect(leftovers()).toEqual([]);
  });
});

describe('workerkit in this repository', () => {
  it('sees every workspace backend (the root package.json depends on each)', async () => {
    const repo = fileURLToPath(new URL('../../..', import.meta.url));
    const child = spawn(process.execPath, [bin, 'backends'], {
      cwd: repo,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const stdout = new RecordingSink();
    child.stdout.pipe(stdout);
    const code = await new Promise((resolve) => child.once('close', resolve));
    expect(code).toBe(0);
    const aliases = [...stdout.text.matchAll(/\(--backend (\w+)\)/g)].map((match) => match[1]);
    expect(aliases).toEqual(['docker', 'ec2', 'fake', 'gce', 'local']);
  });
});

describe('workerkit gc', () => {
  it('reports nothing to delete on a clean machine', async () => {
    expect(await run(['gc', '--backend', 'local'])).toMatchObject({
      code: 0,
      stdout: 'local: nothing to delete\n',
    });
  });
});

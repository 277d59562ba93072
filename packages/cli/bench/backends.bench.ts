/**
 * `pnpm bench`: the cost of the `workerkit` command with every workspace backend installed
 * (the repository root depends on all five), against `node -e 0` measured in the same run.
 * Goal (issue #13): `workerkit backends` under 300 ms and 80 MB. Importing a backend must
 * register it without loading its SDK; `run --backend local` must pay nothing for the others.
 * Asserts only that each command did its job; timing is printed, never asserted.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const repo = fileURLToPath(new URL('../../..', import.meta.url));
const ROUNDS = 7;
const GOAL = { ms: 300, mb: 80 };

const work = mkdtempSync(join(tmpdir(), 'workerkit-cli-bench-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const script = join(work, 'true.sh');
writeFileSync(script, 'true\n');

/** Loaded before the program: reports the process's peak RSS on stderr as it exits. */
const reportPeakRss = `data:text/javascript,${encodeURIComponent(
  "import { writeSync } from 'node:fs'; process.on('exit', () => writeSync(2, '\\npeak-rss-kb=' + process.resourceUsage().maxRSS + '\\n'));",
)}`;

interface Sample {
  ms: number;
  mb: number;
  stdout: string;
}

function measure(args: string[]): Sample {
  const started = process.hrtime.bigint();
  const child = spawnSync(process.execPath, ['--import', reportPeakRss, ...args], {
    cwd: repo,
    encoding: 'utf8',
    env: { ...process.env, WORKERKIT_LOCAL_SCRIPTS_DIR: work },
  });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  expect(child.status, child.stderr).toBe(0);
  const kb = Number(/peak-rss-kb=(\d+)/.exec(child.stderr)?.[1]);
  return { ms, mb: kb / 1024, stdout: child.stdout };
}

function median(samples: Sample[]): { ms: number; mb: number } {
  const middle = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  return { ms: middle(samples.map((s) => s.ms)), mb: middle(samples.map((s) => s.mb)) };
}

function rounds(args: string[]): { ms: number; mb: number; last: Sample } {
  const samples = Array.from({ length: ROUNDS }, () => measure(args));
  return { ...median(samples), last: samples.at(-1)! };
}

describe('workerkit with every backend installed', () => {
  it('backends and run --backend local, against node -e 0', () => {
    const baseline = rounds(['-e', '0']);
    const backends = rounds([bin, 'backends']);
    const local = rounds([bin, 'run', '--backend', 'local', script]);
    const aliases = [...backends.last.stdout.matchAll(/\(--backend (\w+)\)/g)].map((m) => m[1]);
    expect(aliases).toEqual(['docker', 'ec2', 'fake', 'gce', 'local']);

    const line = (name: string, m: { ms: number; mb: number }) =>
      `${name.padEnd(30)} ${m.ms.toFixed(0).padStart(6)} ms (${(m.ms / baseline.ms).toFixed(1)}x node -e 0)` +
      `  ${m.mb.toFixed(0).padStart(4)} MB peak RSS (${(m.mb / baseline.mb).toFixed(1)}x)`;
    console.log(
      [
        `median of ${ROUNDS}, cwd = repository root (all five backends installed)`,
        line('node -e 0', baseline),
        line('workerkit backends', backends),
        line('workerkit run --backend local', local),
        `goal for workerkit backends: < ${GOAL.ms} ms and < ${GOAL.mb} MB: ${
          backends.ms < GOAL.ms && backends.mb < GOAL.mb ? 'met' : 'NOT met'
        }`,
      ].join('\n'),
    );
  });
});

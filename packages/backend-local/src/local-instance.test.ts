import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { InvalidConfigError, reap } from '@workerkit/core';
import { isProcessAlive, RecordingSink } from '@workerkit/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { createLocalProvider } from './local-provider.js';

const scriptsDir = mkdtempSync(join(tmpdir(), 'workerkit-local-test-'));
afterAll(() => rmSync(scriptsDir, { recursive: true, force: true }));

/** Generous: a loaded machine can take seconds to schedule a process. */
async function waitUntil(condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('local backend', () => {
  const provider = createLocalProvider({ SCRIPTS_DIR: scriptsDir, KILL_GRACE: '500ms' });

  it('kills the whole process group, background children included, on abort', async () => {
    await using instance = await provider.start({});
    const pidFile = join(scriptsDir, `bg-${Date.now()}.pid`);
    await instance.uploadScript(`sleep 60 &\necho $! > ${pidFile}\necho ready\nwait\n`);
    const sink = new RecordingSink();
    const controller = new AbortController();
    const run = instance.runScript(sink, { signal: controller.signal });
    await sink.waitFor('ready');
    const backgroundPid = Number(readFileSync(pidFile, 'utf8'));
    expect(isProcessAlive(backgroundPid)).toBe(true);
    controller.abort();
    expect(await run).toMatchObject({ completed: false, reason: 'cancelled', outputBytes: 6 });
    await waitUntil(() => !isProcessAlive(backgroundPid));
  });

  it('escalates to SIGKILL when the script ignores SIGTERM', async () => {
    await using instance = await provider.start({});
    await instance.uploadScript(`trap '' TERM\necho ready\nwhile true; do sleep 0.1; done\n`);
    const sink = new RecordingSink();
    const run = instance.runScript(sink, { hardTimeoutMs: 300 });
    const started = Date.now();
    expect(await run).toMatchObject({ completed: false, reason: 'hard-timeout' });
    // 300 ms + KILL_GRACE 500 ms; without the SIGKILL the script would loop until the test's timeout.
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('reports a script killed by a signal as completed with 128 + n', async () => {
    await using instance = await provider.start({});
    await instance.uploadScript('kill -KILL $$\n');
    expect(await instance.runScript(new RecordingSink())).toMatchObject({
      completed: true,
      exitCode: 137,
      signal: 'SIGKILL',
    });
  });

  it('reports a failing output writer as output-failed and kills the script', async () => {
    await using instance = await provider.start({});
    await instance.uploadScript('yes\n');
    const broken = new Writable({
      write(_chunk, _encoding, callback) {
        callback(new Error('disk full'));
      },
    });
    broken.on('error', () => {});
    const result = await instance.runScript(broken, { hardTimeoutMs: 10_000 });
    expect(result).toMatchObject({ completed: false, reason: 'output-failed' });
  });

  it('reports a missing shell as an incomplete run with a provider error', async () => {
    const broken = createLocalProvider({ SCRIPTS_DIR: scriptsDir, SHELL: '/nonexistent/shell' });
    await using instance = await broken.start({});
    await instance.uploadScript('true\n');
    const result = await instance.runScript(new RecordingSink());
    expect(result).toMatchObject({ completed: false, reason: 'provider-error' });
    expect(result.completed === false && result.message).toContain('/nonexistent/shell');
  });

  it('removes its directory on stop', async () => {
    const instance = await provider.start({ jobId: '7' });
    const [resource] = await provider.listManagedResources();
    expect(resource).toMatchObject({ kind: 'directory', jobId: '7' });
    expect(existsSync(resource!.id)).toBe(true);
    await instance.stop();
    expect(existsSync(resource!.id)).toBe(false);
  });

  it('rejects a bad option value naming the provider, option, value and what is expected', () => {
    expect(() => createLocalProvider({ KILL_GRACE: 'soon' })).toThrow(InvalidConfigError);
    expect(() => createLocalProvider({ KILL_GRACE: 'soon' })).toThrow(
      'local: invalid KILL_GRACE: got "soon", expected a duration such as "500ms", "3s" or "1m30s"',
    );
  });

  it('records the process group for gc before the first line of the script runs', async () => {
    await using instance = await provider.start({});
    await instance.uploadScript('test -e ".pid-$$" && echo marked\n');
    const sink = new RecordingSink();
    expect(await instance.runScript(sink)).toMatchObject({ completed: true, exitCode: 0 });
    expect(sink.text).toBe('marked\n');
  });

  it('reaps what a killed worker left running: the directory and its process group', async () => {
    // A separate worker process starts a job and is killed with SIGKILL mid-run.
    const worker = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `
        import { createLocalProvider } from '@workerkit/backend-local';
        const provider = createLocalProvider({ SCRIPTS_DIR: ${JSON.stringify(scriptsDir)} });
        const instance = await provider.start({ jobId: 'crashed' });
        await instance.uploadScript('echo $$ > pid; sleep 60\\n');
        process.stdout.write('running\\n');
        await instance.runScript(process.stdout);
        `,
      ],
      { cwd: import.meta.dirname, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const output = new RecordingSink();
    worker.stdout.pipe(output);
    await output.waitFor('running');
    const [resource] = (await provider.listManagedResources()).filter((r) => r.jobId === 'crashed');
    // The shell creates the file before it writes the pid: wait for the whole line.
    const pidFile = join(resource!.id, 'pid');
    await waitUntil(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').endsWith('\n'));
    const scriptPid = Number(readFileSync(pidFile, 'utf8'));
    worker.kill('SIGKILL');
    await new Promise((resolve) => worker.once('exit', resolve));
    expect(isProcessAlive(scriptPid)).toBe(true);

    const decisions = await reap(provider);
    expect(decisions).toEqual([expect.objectContaining({ why: 'owner-gone', deleted: true })]);
    expect(existsSync(resource!.id)).toBe(false);
    // The script, orphaned by the worker's death, stays a zombie on a machine whose init does
    // not reap orphans: `isProcessAlive` counts zombies as dead (`kill(pid, 0)` does not).
    await waitUntil(() => !isProcessAlive(scriptPid));
  });

  it('reaps expired directories and leaves live ones alone', async () => {
    const live = await provider.start({ jobId: 'live', hardTimeoutMs: 60_000 });
    const decisionsNow = await reap(provider);
    expect(decisionsNow).toEqual([]);
    const later = new Date(Date.now() + 24 * 3600_000);
    const decisions = await reap(provider, { now: later });
    expect(decisions).toEqual([expect.objectContaining({ why: 'expired', deleted: true })]);
    expect(await provider.listManagedResources()).toEqual([]);
    await live.stop();
  });
});

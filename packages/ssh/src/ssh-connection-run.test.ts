import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HardTimeoutError, withHardTimeout } from '@workerkit/core';
import { isProcessAlive, largeOutputDigest, type SshdHandle, startSshd } from '@workerkit/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectingSink, connectTo, eventually, hashingSink, slowWritable } from '../test/helpers.js';
import { generateKeyPair } from './key-pair.js';
import type { SshConnection, SshKeyPair } from './ssh-types.js';

const ADDRESS = '127.0.0.23';

let sshd: SshdHandle;
let key: SshKeyPair;
let connection: SshConnection;

beforeAll(async () => {
  key = await generateKeyPair();
  sshd = await startSshd({ address: ADDRESS, authorizedKeys: [key.publicKey] });
  connection = await connectTo(sshd, key);
});

afterAll(async () => {
  await connection?.close();
  await sshd?.stop();
});

function remotePid(name: string): number {
  return Number(readFileSync(join(sshd.homeDir, name), 'utf8').trim());
}

describe('SshConnection.run', () => {
  it.each([0, 1, 42])('reports exit code %i as a completed run', async (code) => {
    const sink = collectingSink();
    const result = await connection.run(`echo out; echo err >&2; exit ${code}`, { output: sink });
    expect(result).toEqual({ completed: true, exitCode: code, outputBytes: 8 });
    expect(sink.text().split('\n').sort()).toEqual(['', 'err', 'out']);
  });

  it('never misses the exit status of a command that ends at once', async () => {
    // Its data, exit status and close can arrive in the same TCP read as the exec reply.
    const results = [];
    for (let i = 0; i < 60; i++) results.push(await connection.run('exit 3', { output: collectingSink() }));
    expect(results.filter((result) => result.completed !== true || result.exitCode !== 3)).toEqual([]);
  });

  it('reports a command killed by a signal as such', async () => {
    const result = await connection.run('echo before; kill -TERM $$; echo after', {
      output: collectingSink(),
    });
    expect(result).toEqual({ completed: true, exitCode: 143, signal: 'SIGTERM', outputBytes: 7 });
    const killed = await connection.run('kill -KILL $$', { output: collectingSink() });
    expect(killed).toMatchObject({ completed: true, exitCode: 137, signal: 'SIGKILL' });
  });

  it('runs in the login directory with the login shell, stdin at end of file', async () => {
    const sink = collectingSink();
    const result = await connection.run('pwd; echo "$HOME"; cat; [ -t 1 ] && echo tty || echo no-tty', {
      output: sink,
    });
    expect(result.completed).toBe(true);
    expect(sink.text()).toBe(`${sshd.homeDir}\n${sshd.homeDir}\nno-tty\n`);
  });

  it('allocates a PTY when asked: one stream, CRLF line ends', async () => {
    const sink = collectingSink();
    const result = await connection.run('[ -t 1 ] && echo tty; echo err >&2; exit 5', {
      output: sink,
      pty: true,
    });
    expect(result).toMatchObject({ completed: true, exitCode: 5 });
    expect(sink.text()).toBe('tty\r\nerr\r\n');
  });

  it('keeps quotes, newlines and $ in the command intact', async () => {
    const sink = collectingSink();
    const command = `printf '%s\\n' "it's" '$HOME'\nx="a b"; echo "$x"`;
    await connection.run(command, { output: sink });
    expect(sink.text()).toBe(`it's\n$HOME\na b\n`);
  });

  it('delivers 200 MB of output byte-exact, streamed', async () => {
    const bytes = 200 * 1024 * 1024;
    const sink = hashingSink();
    const before = process.memoryUsage().rss;
    const result = await connection.run(`yes 0123456789abcdefghijklmnopqrstuvwxyz | head -c ${bytes}`, {
      output: sink,
    });
    expect(result).toEqual({ completed: true, exitCode: 0, outputBytes: bytes });
    expect(sink.bytes).toBe(bytes);
    expect(sink.digest()).toBe(largeOutputDigest(bytes));
    // Streamed, not buffered whole.
    expect(process.memoryUsage().rss - before).toBeLessThan(100 * 1024 * 1024);
  });

  it('honours backpressure and reads the exit status only after all output was written', async () => {
    const slow = slowWritable(2, 256);
    const result = await connection.run('seq 1 3000; exit 7', { output: slow.stream });
    const expected = `${Array.from({ length: 3000 }, (_, i) => i + 1).join('\n')}\n`;
    expect(result).toEqual({ completed: true, exitCode: 7, outputBytes: expected.length });
    expect(slow.buffer().toString()).toBe(expected);
  });

  it('kills the remote process group on abort and returns promptly with reason cancelled', async () => {
    const controller = new AbortController();
    const sink = collectingSink();
    const running = connection.run('echo $$ > run.pid; sleep 300 & echo $! > child.pid; echo started; wait', {
      output: sink,
      signal: controller.signal,
    });
    expect(await eventually(() => sink.text().includes('started'), 5000)).toBe(true);
    const shell = remotePid('run.pid');
    const child = remotePid('child.pid');
    expect(isProcessAlive(shell) && isProcessAlive(child)).toBe(true);
    const reason = new Error('user cancelled');
    const t0 = performance.now();
    controller.abort(reason);
    const result = await running;
    // Not aborted, the run would last the 300 s of its sleep: far past this bound and the test's timeout.
    expect(performance.now() - t0).toBeLessThan(10_000);
    expect(result).toMatchObject({ completed: false, reason: 'cancelled', outputBytes: 8, cause: reason });
    expect(await eventually(() => !isProcessAlive(shell) && !isProcessAlive(child), 3000)).toBe(true);
    // The connection stays usable.
    expect(await connection.run('true', { output: collectingSink() })).toMatchObject({
      completed: true,
      exitCode: 0,
    });
  });

  it('writes nothing more to the output once an aborted run returned', async () => {
    const controller = new AbortController();
    let written = 0;
    const running = connection.run('yes', {
      output: {
        write(chunk: Uint8Array) {
          written += chunk.byteLength;
          if (written > 1_000_000) controller.abort();
          return true;
        },
      },
      signal: controller.signal,
    });
    const result = await running;
    expect(result).toMatchObject({ completed: false, reason: 'cancelled' });
    expect(result.outputBytes).toBe(written);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(written).toBe(result.outputBytes);
  });

  it('SIGKILLs a process that ignores SIGTERM after killGraceMs', async () => {
    const controller = new AbortController();
    const sink = collectingSink();
    const running = connection.run(
      "trap '' TERM; echo $$ > stubborn.pid; echo started; while :; do sleep 1; done",
      {
        output: sink,
        signal: controller.signal,
        killGraceMs: 1000,
      },
    );
    expect(await eventually(() => sink.text().includes('started'), 5000)).toBe(true);
    const pid = remotePid('stubborn.pid');
    controller.abort();
    expect(await running).toMatchObject({ completed: false, reason: 'cancelled' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(isProcessAlive(pid)).toBe(true);
    expect(await eventually(() => !isProcessAlive(pid), 4000)).toBe(true);
  });

  it('kills a PTY run on abort too', async () => {
    const controller = new AbortController();
    const sink = collectingSink();
    const running = connection.run('echo $$ > pty.pid; echo started; sleep 300', {
      output: sink,
      pty: true,
      signal: controller.signal,
    });
    expect(await eventually(() => sink.text().includes('started'), 5000)).toBe(true);
    const pid = remotePid('pty.pid');
    controller.abort();
    expect(await running).toMatchObject({ completed: false, reason: 'cancelled' });
    expect(await eventually(() => !isProcessAlive(pid), 3000)).toBe(true);
  });

  it('reports hard-timeout when the signal aborted by timeout', async () => {
    const limit = withHardTimeout(undefined, 300);
    try {
      const result = await connection.run('sleep 30', { output: collectingSink(), signal: limit.signal });
      expect(result).toMatchObject({ completed: false, reason: 'hard-timeout' });
      expect((result as { cause?: unknown }).cause).toBeInstanceOf(HardTimeoutError);
    } finally {
      limit.dispose();
    }
  });

  it('does not start a command when the signal is already aborted', async () => {
    const result = await connection.run('touch never-ran', {
      output: collectingSink(),
      signal: AbortSignal.abort(),
    });
    expect(result).toMatchObject({ completed: false, reason: 'cancelled', outputBytes: 0 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(readdirSync(sshd.homeDir)).not.toContain('never-ran');
  });

  it('stops the remote command and reports output-failed when the output sink throws', async () => {
    let calls = 0;
    const result = await connection.run('echo $$ > failing.pid; while :; do echo line; sleep 0.05; done', {
      output: {
        write() {
          calls++;
          throw new Error('disk full');
        },
      },
    });
    expect(result).toMatchObject({ completed: false, reason: 'output-failed' });
    expect((result as { message: string }).message).toContain('disk full');
    expect(calls).toBe(1);
    const pid = remotePid('failing.pid');
    expect(await eventually(() => !isProcessAlive(pid), 3000)).toBe(true);
  });

  it('leaves none of its pid files behind in the remote temp dir', async () => {
    const runFiles = () => readdirSync(sshd.tmpDir).filter((name) => name.startsWith('.workerkit-run-'));
    const other = await connectTo(sshd, key);
    const before = runFiles().length;
    await other.run('true', { output: collectingSink() });
    await other.run('true', { output: collectingSink() });
    expect(runFiles().length - before).toBe(1);
    await other.close();
    expect(runFiles().length).toBe(before);
  });

  it('rejects a bad command or output with a clear error', async () => {
    await expect(connection.run('', { output: collectingSink() })).rejects.toThrow(
      /command.*non-empty shell command/,
    );
    await expect(connection.run('true', { output: {} as never })).rejects.toThrow(/output.*write\(chunk\)/);
  });
});

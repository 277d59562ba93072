import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { StaleVmError, TraceNotFoundError } from '@workerkit/core';
import { freePort, generateSshKey, type SshdHandle, startSshd } from '@workerkit/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectingSink, eventually, optionsFor } from '../test/helpers.js';
import { generateKeyPair } from './key-pair.js';
import { SshNotReadyError } from './ssh-errors.js';
import { SshScriptTarget } from './ssh-script-target.js';
import type { SshKeyPair, SshScriptTargetOptions } from './ssh-types.js';

const ADDRESS = '127.0.0.26';

let sshd: SshdHandle;
let key: SshKeyPair;

beforeAll(async () => {
  key = await generateKeyPair();
  sshd = await startSshd({ address: ADDRESS, authorizedKeys: [key.publicKey] });
});

afterAll(async () => {
  await sshd?.stop();
});

function targetFor(handle: SshdHandle, extra: Partial<SshScriptTargetOptions> = {}): SshScriptTarget {
  return new SshScriptTarget({
    connect: optionsFor(handle, key, { readyTimeoutMs: 5000 }),
    ...extra,
  });
}

describe('SshScriptTarget', () => {
  it('connects on first use, uploads ~/build.sh, runs it with bash and downloads the trace', async () => {
    const tracePath = `/tmp/workerkit-ssh-target-${process.pid}.trace`;
    await using target = targetFor(sshd, { tracePath });
    expect(target.connection).toBeUndefined();
    expect(target.command).toBe('bash ~/build.sh');
    try {
      await target.upload(`echo "bash $BASH_VERSION" | cut -c1-4\necho traced > ${tracePath}\nexit 3\n`);
      expect(target.connection).toBeDefined();
      expect(statSync(join(sshd.homeDir, 'build.sh')).mode & 0o777).toBe(0o755);
      const sink = collectingSink();
      expect(await target.run(sink)).toEqual({ completed: true, exitCode: 3, outputBytes: 5 });
      expect(sink.text()).toBe('bash\n');
      expect(Buffer.from(await target.downloadTrace()).toString()).toBe('traced\n');
    } finally {
      rmSync(tracePath, { force: true });
      rmSync(join(sshd.homeDir, 'build.sh'), { force: true });
    }
  });

  it('reports a stale machine on upload and a missing trace as TraceNotFoundError', async () => {
    await using first = targetFor(sshd, {
      scriptPath: 'stale-build.sh',
      tracePath: '/tmp/workerkit-no-such.trace',
    });
    await first.upload('true\n');
    await using second = targetFor(sshd, { scriptPath: 'stale-build.sh' });
    await expect(second.upload('true\n')).rejects.toSatisfy(StaleVmError.isInstance);
    await expect(first.downloadTrace()).rejects.toSatisfy(TraceNotFoundError.isInstance);
  });

  it('derives the command from a custom script path, and runs with a PTY when asked', async () => {
    await using target = targetFor(sshd, { scriptPath: 'jobs/job 1.sh', pty: true });
    expect(target.command).toBe("bash ~/'jobs/job 1.sh'");
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(sshd.homeDir, 'jobs'));
    await target.upload('[ -t 1 ] && echo tty\n');
    const sink = collectingSink();
    expect(await target.run(sink)).toMatchObject({ completed: true, exitCode: 0 });
    expect(sink.text()).toBe('tty\r\n');
  });

  it('waits for a machine whose sshd comes up late', async () => {
    const hostKey = await generateSshKey('ed25519');
    const port = await freePort(ADDRESS);
    const user = `wk-tgt-${process.pid}`;
    await using target = new SshScriptTarget({
      connect: {
        host: ADDRESS,
        port,
        username: user,
        auth: { privateKey: key.privateKey },
        hostKey: { kind: 'public-keys', publicKeys: [hostKey.publicKey] },
        readyTimeoutMs: 10_000,
        backoff: { initialDelayMs: 100, maxDelayMs: 300 },
      },
    });
    const uploading = target.upload('echo late\n');
    await new Promise((resolve) => setTimeout(resolve, 700));
    await using late = await startSshd({
      address: ADDRESS,
      port,
      user,
      hostKey,
      authorizedKeys: [key.publicKey],
    });
    await uploading;
    const sink = collectingSink();
    expect(await target.run(sink)).toMatchObject({ completed: true, exitCode: 0 });
    expect(sink.text()).toBe('late\n');
    expect(existsSync(join(late.homeDir, 'build.sh'))).toBe(true);
  });

  it('returns connection-lost from run when the machine never accepts SSH', async () => {
    const port = await freePort(ADDRESS);
    await using target = new SshScriptTarget({
      connect: {
        host: ADDRESS,
        port,
        username: 'nobody',
        auth: { privateKey: key.privateKey },
        hostKey: { kind: 'insecure' },
        readyTimeoutMs: 500,
        logger: { debug() {}, info() {}, warn() {}, error() {} },
      },
    });
    const result = await target.run(collectingSink());
    expect(result).toMatchObject({ completed: false, reason: 'connection-lost', outputBytes: 0 });
    expect((result as { message: string }).message).toMatch(/not ready after/);
  });

  it('cuts a run off at hardTimeoutMs with reason hard-timeout, killing the script', async () => {
    await using target = targetFor(sshd, { scriptPath: 'slow.sh' });
    await target.upload('echo $$ > slow.pid\nsleep 120\n');
    const result = await target.run(collectingSink(), { hardTimeoutMs: 500 });
    expect(result).toMatchObject({ completed: false, reason: 'hard-timeout' });
    const pid = Number(readFileSync(join(sshd.homeDir, 'slow.pid'), 'utf8'));
    const { isProcessAlive } = await import('@workerkit/testkit');
    expect(await eventually(() => !isProcessAlive(pid), 3000)).toBe(true);
  });

  it('reconnects after the connection dropped between calls', async () => {
    const hostKey = await generateSshKey('ed25519');
    const port = await freePort(ADDRESS);
    const user = `wk-re-${process.pid}`;
    const first = await startSshd({ address: ADDRESS, port, user, hostKey, authorizedKeys: [key.publicKey] });
    await using target = targetFor(first);
    await target.upload('echo again\n');
    await first.kill();
    expect(await eventually(() => target.connection === undefined, 3000)).toBe(true);
    await first.stop();
    // The machine was up and is gone: a reconnect makes one attempt, not connect.readyTimeoutMs (5 s) of them.
    const error = await target.downloadTrace().catch((e: unknown) => e);
    expect(SshNotReadyError.isInstance(error), String(error)).toBe(true);
    expect((error as SshNotReadyError).attempts).toBe(1);
    await using second = await startSshd({
      address: ADDRESS,
      port,
      user,
      hostKey,
      authorizedKeys: [key.publicKey],
    });
    const sink = collectingSink();
    // The new machine has no build.sh: the script is missing, bash says so, but the run itself completes.
    expect(await target.run(sink)).toMatchObject({ completed: true, exitCode: 127 });
    expect(second.running).toBe(true);
  });

  it('aborts a connect in progress when closed, and refuses use afterwards', async () => {
    const port = await freePort(ADDRESS);
    const target = new SshScriptTarget({
      connect: {
        host: ADDRESS,
        port,
        username: 'nobody',
        auth: { privateKey: key.privateKey },
        hostKey: { kind: 'insecure' },
        // Not aborted, the connect would run on for these 20 s, far above the bound below.
        readyTimeoutMs: 20_000,
        logger: { debug() {}, info() {}, warn() {}, error() {} },
      },
    });
    const uploading = target.upload('x').catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const t0 = performance.now();
    await target.close();
    const error = await uploading;
    expect(performance.now() - t0).toBeLessThan(5000);
    expect((error as Error).message).toMatch(/target closed/);
    await expect(target.upload('x')).rejects.toThrow(/target is closed/);
  });

  it('rejects bad options clearly', () => {
    expect(() => new SshScriptTarget({} as never)).toThrow(/connect/);
    expect(() => targetFor(sshd, { scriptPath: '' })).toThrow(/scriptPath.*non-empty/);
    expect(() => targetFor(sshd, { reconnectTimeoutMs: -5 })).toThrow(/reconnectTimeoutMs.*>= 0/);
    expect(
      () =>
        new SshScriptTarget({
          connect: {
            host: ADDRESS,
            username: 'x',
            auth: { privateKey: 'nope' },
            hostKey: { kind: 'insecure' },
          },
        }),
    ).toThrow(/auth\.privateKey/);
  });
});

import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StaleVmError, TraceNotFoundError } from '@workerkit/core';
import { type SshdHandle, startSshd } from '@workerkit/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectingSink, connectTo } from '../test/helpers.js';
import { generateKeyPair } from './key-pair.js';
import {
  SshConnectionClosedError,
  SshFileNotFoundError,
  SshOptionsError,
  SshSftpError,
} from './ssh-errors.js';
import type { SshConnection, SshKeyPair } from './ssh-types.js';

const ADDRESS = '127.0.0.25';

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

describe('SshConnection.upload', () => {
  it('writes the file in the login directory with mode 0755 by default, and it runs', async () => {
    await connection.upload('build.sh', 'echo "built in $(pwd)"\n');
    const path = join(sshd.homeDir, 'build.sh');
    expect(readFileSync(path, 'utf8')).toBe('echo "built in $(pwd)"\n');
    expect(statSync(path).mode & 0o7777).toBe(0o755);
    const sink = collectingSink();
    expect(await connection.run('bash ~/build.sh', { output: sink })).toMatchObject({
      completed: true,
      exitCode: 0,
    });
    expect(sink.text()).toBe(`built in ${sshd.homeDir}\n`);
  });

  it('applies the mode given, exactly (no umask)', async () => {
    await connection.upload('secret.txt', 'x', { mode: 0o600 });
    expect(statSync(join(sshd.homeDir, 'secret.txt')).mode & 0o7777).toBe(0o600);
    await connection.upload(join(sshd.homeDir, 'wide.txt'), 'x', { mode: 0o777 });
    expect(statSync(join(sshd.homeDir, 'wide.txt')).mode & 0o7777).toBe(0o777);
  });

  it('detects a stale machine: build.sh already there → StaleVmError, file untouched', async () => {
    writeFileSync(join(sshd.homeDir, 'stale.sh'), 'echo from a previous job\n');
    const error = await connection.upload('stale.sh', 'echo new\n').catch((e: unknown) => e);
    expect(StaleVmError.isInstance(error)).toBe(true);
    expect((error as Error).message).toContain('stale.sh already exists');
    expect(readFileSync(join(sshd.homeDir, 'stale.sh'), 'utf8')).toBe('echo from a previous job\n');
  });

  it('treats a second upload to the same path as stale, and overwrites only when asked', async () => {
    await connection.upload('twice.sh', 'one');
    await expect(connection.upload('twice.sh', 'two')).rejects.toSatisfy(StaleVmError.isInstance);
    await connection.upload('twice.sh', 'three', { overwrite: true });
    expect(readFileSync(join(sshd.homeDir, 'twice.sh'), 'utf8')).toBe('three');
  });

  it('counts a dangling symlink as existing (lstat)', async () => {
    const { symlinkSync } = await import('node:fs');
    symlinkSync('/nonexistent/target', join(sshd.homeDir, 'link.sh'));
    await expect(connection.upload('link.sh', 'x')).rejects.toSatisfy(StaleVmError.isInstance);
  });

  it('uploads and downloads 8 MiB of random bytes unchanged', async () => {
    const data = randomBytes(8 * 1024 * 1024);
    await connection.upload('blob.bin', data, { mode: 0o644 });
    expect(readFileSync(join(sshd.homeDir, 'blob.bin')).equals(data)).toBe(true);
    const back = await connection.download('blob.bin');
    expect(back.equals(data)).toBe(true);
  });

  it('uploads an empty file', async () => {
    await connection.upload('empty.sh', '');
    expect(readFileSync(join(sshd.homeDir, 'empty.sh'), 'utf8')).toBe('');
  });

  it('reports a server-side failure with the path and operation', async () => {
    const error = await connection.upload('no-such-dir/build.sh', 'x').catch((e: unknown) => e);
    expect(SshSftpError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(/sftp open no-such-dir\/build\.sh failed/);
  });

  it('rejects bad arguments clearly', async () => {
    await expect(connection.upload('', 'x')).rejects.toSatisfy(SshOptionsError.isInstance);
    await expect(connection.upload('m.sh', 'x', { mode: 0o10000 })).rejects.toThrow(/mode.*0o7777/);
  });

  it('stops on abort', async () => {
    const reason = new Error('stop');
    await expect(connection.upload('aborted.sh', 'x', { signal: AbortSignal.abort(reason) })).rejects.toBe(
      reason,
    );
    const controller = new AbortController();
    const pending = connection.upload('aborted2.bin', randomBytes(32 * 1024 * 1024));
    const pendingAbortable = connection.upload('aborted3.bin', randomBytes(32 * 1024 * 1024), {
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(reason), 20);
    await expect(pendingAbortable).rejects.toBe(reason);
    await pending;
    // The partial file is removed, so a retry is not mistaken for a stale machine.
    expect(existsSync(join(sshd.homeDir, 'aborted3.bin'))).toBe(false);
    expect(statSync(join(sshd.homeDir, 'aborted2.bin')).size).toBe(32 * 1024 * 1024);
  });
});

describe('SshConnection.download', () => {
  it('reads an absolute path', async () => {
    const path = join(sshd.tmpDir, 'build.trace');
    writeFileSync(path, 'trace-line\n');
    expect((await connection.download(path)).toString()).toBe('trace-line\n');
  });

  it('reports a missing file as SshFileNotFoundError, which is a TraceNotFoundError', async () => {
    const error = await connection.download('missing.trace').catch((e: unknown) => e);
    expect(SshFileNotFoundError.isInstance(error)).toBe(true);
    expect(TraceNotFoundError.isInstance(error)).toBe(true);
    expect((error as Error).message).toBe(`ssh ${ADDRESS}:${sshd.port}: no such file: missing.trace`);
  });
});

describe('after close', () => {
  it('fails uploads and downloads with SshConnectionClosedError and runs with connection-lost', async () => {
    const other = await connectTo(sshd, key);
    await other.close();
    await other.close();
    expect(other.closed).toBe(true);
    await expect(other.upload('late.sh', 'x')).rejects.toSatisfy(SshConnectionClosedError.isInstance);
    await expect(other.download('late.sh')).rejects.toSatisfy(SshConnectionClosedError.isInstance);
    expect(await other.run('true', { output: collectingSink() })).toMatchObject({
      completed: false,
      reason: 'connection-lost',
    });
  });
});

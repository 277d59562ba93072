import { createHash } from 'node:crypto';
import { OutputMeter } from '@workerkit/core';
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUSYBOX_IMAGE, dockerClient, dockerSocket } from '../test/docker-test-env.js';
import { EngineHttpError, type PlainEngineTarget, startExecRaw } from './exec-attach.js';
import { pumpExecOutput } from './exec-output.js';

const docker = dockerClient();
let container: Docker.Container;
let target: PlainEngineTarget;

beforeAll(async () => {
  container = await docker.createContainer({
    Image: BUSYBOX_IMAGE,
    Cmd: ['/sbin/init'],
    HostConfig: { NetworkMode: 'none' },
    Labels: { 'workerkit-test': 'exec-attach' },
  });
  await container.start();
  target = { connect: { path: dockerSocket() }, host: 'docker', apiVersion: '1.41' };
});
afterAll(() => container.remove({ force: true }));

async function execIn(script: string, tty = false): Promise<Docker.Exec> {
  return container.exec({ Cmd: ['sh', '-c', script], AttachStdout: true, AttachStderr: true, Tty: tty });
}

/** Runs the exec through the raw connection; returns what a non-retaining sink saw. */
async function collect(
  exec: Docker.Exec,
  tty = false,
): Promise<{ bytes: number; sha256: string; text: string }> {
  const hash = createHash('sha256');
  const head: Buffer[] = [];
  let bytes = 0;
  const sink = {
    retainsChunks: false,
    write(chunk: Uint8Array) {
      hash.update(chunk);
      if (bytes < 4096) head.push(Buffer.from(chunk));
      bytes += chunk.byteLength;
      return true;
    },
  };
  const source = await startExecRaw(target, exec.id, { tty });
  expect(source.reusesMemory).toBe(true);
  await pumpExecOutput(source, new OutputMeter(sink), { multiplexed: !tty });
  return { bytes, sha256: hash.digest('hex'), text: Buffer.concat(head).toString() };
}

describe('startExecRaw (exec output on a connection of our own, real daemon)', () => {
  it('delivers 64 MiB of multiplexed output intact and in order', async () => {
    // A known byte pattern: every 1 MiB block is 1048576 copies of one letter, a..z, then zeros.
    // Docker copies stdout and stderr separately, so the stderr line comes well before the rest.
    const script =
      'echo start >&2; sleep 0.3; ' +
      'for l in a b c d e f g h i j k l m n o p q r s t u v w x y z; do head -c 1048576 /dev/zero | tr "\\0" "$l"; done; ' +
      'head -c 39845888 /dev/zero';
    const exec = await execIn(script);
    const result = await collect(exec);
    const expected = createHash('sha256');
    expected.update('start\n');
    for (const letter of 'abcdefghijklmnopqrstuvwxyz') expected.update(Buffer.alloc(1048576, letter));
    expected.update(Buffer.alloc(39845888));
    expect(result.bytes).toBe(6 + 64 * 1048576);
    expect(result.sha256).toBe(expected.digest('hex'));
    expect((await exec.inspect()).ExitCode).toBe(0);
  });

  it('delivers stdout and stderr as they arrive, and ends when a silent command ends', async () => {
    // Docker copies the two pipes separately: only output apart in time keeps its order.
    const exec = await execIn('echo one; sleep 0.2; echo two >&2; sleep 0.2; echo three');
    expect((await collect(exec)).text).toBe('one\ntwo\nthree\n');
    expect((await collect(await execIn('exit 3'))).bytes).toBe(0);
  });

  it('passes a TTY stream through raw', async () => {
    const exec = await execIn('echo tty', true);
    expect((await collect(exec, true)).text).toBe('tty\r\n');
  });

  it("an unknown exec is the Engine's 404, with its message", async () => {
    const error = await startExecRaw(target, 'f'.repeat(64), { tty: false }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EngineHttpError);
    expect((error as EngineHttpError).statusCode).toBe(404);
    expect((error as EngineHttpError).json?.message).toMatch(/no such exec/i);
  });

  it('a socket nobody listens on rejects the start', async () => {
    const error = await startExecRaw(
      { ...target, connect: { path: `${dockerSocket()}.absent` } },
      'f'.repeat(64),
      { tty: false },
    ).catch((e: unknown) => e);
    expect((error as NodeJS.ErrnoException).code).toBe('ENOENT');
  });
});

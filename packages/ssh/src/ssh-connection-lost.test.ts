import { type SshdHandle, startSshd } from '@workerkit/testkit';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { collectingSink, connectTo, eventually, hashingSink } from '../test/helpers.js';
import { generateKeyPair } from './key-pair.js';
import { SshConnectionClosedError } from './ssh-errors.js';
import type { SshKeyPair } from './ssh-types.js';

const ADDRESS = '127.0.0.24';

let key: SshKeyPair;
const started: SshdHandle[] = [];

async function freshSshd(): Promise<SshdHandle> {
  const sshd = await startSshd({ address: ADDRESS, authorizedKeys: [key.publicKey] });
  started.push(sshd);
  return sshd;
}

beforeAll(async () => {
  key = await generateKeyPair();
});

afterEach(async () => {
  await Promise.all(started.splice(0).map((sshd) => sshd.stop()));
});

describe('a connection that drops', () => {
  it('turns sshd being killed mid-run into completed: false, reason connection-lost', async () => {
    const sshd = await freshSshd();
    await using connection = await connectTo(sshd, key);
    const sink = collectingSink();
    const running = connection.run('echo started; sleep 60; echo never', { output: sink });
    expect(await eventually(() => sink.text().includes('started'), 5000)).toBe(true);
    await sshd.kill();
    const result = await running;
    expect(result).toMatchObject({ completed: false, reason: 'connection-lost', outputBytes: 8 });
    expect(result.completed).toBe(false);
    expect(connection.closed).toBe(true);
  });

  it('is connection-lost even when the kill lands in the middle of a large output', async () => {
    const sshd = await freshSshd();
    await using connection = await connectTo(sshd, key);
    const sink = hashingSink();
    const running = connection.run('yes | head -c 2000000000', { output: sink });
    expect(await eventually(() => sink.bytes > 10_000_000, 10_000, 5)).toBe(true);
    await sshd.kill();
    const result = await running;
    expect(result).toMatchObject({ completed: false, reason: 'connection-lost' });
    expect(result.outputBytes).toBe(sink.bytes);
    expect(result.outputBytes).toBeLessThan(2_000_000_000);
  });

  it('notices a server that stopped answering through keepalive', async () => {
    const sshd = await freshSshd();
    await using connection = await connectTo(sshd, key, { keepaliveIntervalMs: 200, keepaliveCountMax: 2 });
    const sink = collectingSink();
    const running = connection.run('echo started; sleep 60', { output: sink });
    expect(await eventually(() => sink.text().includes('started'), 5000)).toBe(true);
    const frozen = [sshd.pid, ...sshd.processes().map((p) => p.pid)];
    for (const pid of frozen) process.kill(pid, 'SIGSTOP');
    try {
      const t0 = performance.now();
      const result = await running;
      expect(result).toMatchObject({ completed: false, reason: 'connection-lost' });
      expect((result as { message: string }).message).toMatch(/keepalive/i);
      // 2 × 200 ms of silence here; with the default keepalive (3 × 10 s), or none (the 60 s
      // sleep), far longer than this bound.
      expect(performance.now() - t0).toBeLessThan(10_000);
    } finally {
      for (const pid of frozen) process.kill(pid, 'SIGCONT');
    }
  });

  it('fails transfers and new runs on a lost connection with clear results', async () => {
    const sshd = await freshSshd();
    const connection = await connectTo(sshd, key);
    await sshd.kill();
    expect(await eventually(() => connection.closed, 3000)).toBe(true);
    const upload = await connection.upload('x.sh', 'true').catch((e: unknown) => e);
    expect(SshConnectionClosedError.isInstance(upload)).toBe(true);
    expect((upload as Error).message).toContain(`${ADDRESS}:${sshd.port}`);
    expect(await connection.run('true', { output: collectingSink() })).toMatchObject({
      completed: false,
      reason: 'connection-lost',
    });
    await connection.close();
  });
});

/**
 * `pnpm bench`: @workerkit/ssh against the OpenSSH client, same sshd, same run, same cipher.
 * Prints throughput and latency ratios; asserts only that every run delivered the right bytes.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type SshdHandle, startSshd } from '@workerkit/testkit';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConnectOptions, connect, generateKeyPair, type SshKeyPair } from '../src/index.js';
import { optionsFor } from '../test/helpers.js';

const ADDRESS = '127.0.0.27';
const CIPHER = 'aes128-gcm@openssh.com';
const BYTES = 200 * 1024 * 1024;
const MIB = 1024 * 1024;
const ROUNDS = 5;
const LATENCY_ROUNDS = 10;

const WORKLOADS = {
  zeros: `head -c ${BYTES} /dev/zero`,
  lines: `yes 0123456789abcdefghijklmnopqrstuvwxyz | head -c ${BYTES}`,
};

let sshd: SshdHandle;
let key: SshKeyPair;
let dir: string;
let keyFile: string;
let knownHosts: string;

beforeAll(async () => {
  key = await generateKeyPair();
  sshd = await startSshd({ address: ADDRESS, authorizedKeys: [key.publicKey] });
  dir = mkdtempSync(join(tmpdir(), 'workerkit-ssh-bench-'));
  keyFile = join(dir, 'id');
  knownHosts = join(dir, 'known_hosts');
  writeFileSync(keyFile, key.privateKey, { mode: 0o600 });
  writeFileSync(knownHosts, `[${ADDRESS}]:${sshd.port} ${sshd.hostPublicKey}\n`);
});

afterAll(async () => {
  await sshd?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function connectOptions(): ConnectOptions {
  return optionsFor(sshd, key, { algorithms: { cipher: [CIPHER] } });
}

function sshArgs(): string[] {
  return [
    '-i',
    keyFile,
    '-o',
    `UserKnownHostsFile=${knownHosts}`,
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    'BatchMode=yes',
    '-o',
    'LogLevel=ERROR',
    '-c',
    CIPHER,
  ];
}

/** Runs a client program with stdout to /dev/null; resolves its wall time in ms. */
function timeProcess(command: string, args: string[], stdin?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const devNull = openSync('/dev/null', 'w');
    const started = performance.now();
    const child = spawn(command, args, { stdio: [stdin === undefined ? 'ignore' : 'pipe', devNull, 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (chunk) => {
      stderr += chunk;
    });
    if (stdin !== undefined) child.stdin!.end(stdin);
    child.once('error', reject);
    child.once('close', (code) => {
      const elapsed = performance.now() - started;
      if (code === 0) resolve(elapsed);
      else reject(new Error(`${command} exited with ${code}: ${stderr}`));
    });
  });
}

async function timeSsh2Stream(command: string): Promise<{ totalMs: number; streamMs: number }> {
  const started = performance.now();
  const connection = await connect(connectOptions());
  let bytes = 0;
  const streamStarted = performance.now();
  const result = await connection.run(command, {
    output: {
      write(chunk: Uint8Array) {
        bytes += chunk.byteLength;
        return true;
      },
    },
  });
  const streamMs = performance.now() - streamStarted;
  await connection.close();
  expect(result).toEqual({ completed: true, exitCode: 0, outputBytes: BYTES });
  expect(bytes).toBe(BYTES);
  return { totalMs: performance.now() - started, streamMs };
}

/** Reference: plain ssh2 with default settings, a bare 'data' handler, no OutputMeter, same cipher. */
function timePlainSsh2(command: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const client = new ssh2.Client();
    client
      .on('ready', () => {
        client.exec(command, (error, channel) => {
          if (error) return reject(error);
          let bytes = 0;
          channel.on('data', (chunk: Buffer) => {
            bytes += chunk.length;
          });
          channel.stderr.resume();
          channel.on('close', () => {
            client.end();
            if (bytes === BYTES) resolve(performance.now() - started);
            else reject(new Error(`plain ssh2 got ${bytes} bytes`));
          });
        });
      })
      .on('error', reject)
      .connect({
        host: sshd.host,
        port: sshd.port,
        username: sshd.user,
        privateKey: key.privateKey,
        algorithms: { cipher: [CIPHER] },
        hostVerifier: () => true,
      });
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const mibps = (ms: number) => BYTES / MIB / (ms / 1000);

describe('@workerkit/ssh vs OpenSSH', () => {
  it.each(Object.entries(WORKLOADS))('streams 200 MiB of %s', async (name, command) => {
    const ours: number[] = [];
    const oursStream: number[] = [];
    const theirs: number[] = [];
    const plain: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      plain.push(await timePlainSsh2(command));
      const measured = await timeSsh2Stream(command);
      ours.push(measured.totalMs);
      oursStream.push(measured.streamMs);
      theirs.push(
        await timeProcess('ssh', [...sshArgs(), '-p', String(sshd.port), `${sshd.user}@${ADDRESS}`, command]),
      );
    }
    const ratio = median(theirs) / median(ours);
    console.log(
      `[bench] ${name}: @workerkit/ssh ${mibps(median(ours)).toFixed(0)} MiB/s end to end (${mibps(median(oursStream)).toFixed(0)} MiB/s streaming only), ` +
        `OpenSSH ssh ${mibps(median(theirs)).toFixed(0)} MiB/s → ratio ${ratio.toFixed(2)}x (goal >= 1.5x); ` +
        `plain ssh2 ${mibps(median(plain)).toFixed(0)} MiB/s; ${CIPHER}, median of ${ROUNDS}`,
    );
  });

  it('connect + upload + run true + close, vs ssh host true plus an sftp put', async () => {
    const script = '#!/bin/sh\necho hello\n';
    const localScript = join(dir, 'build.sh');
    writeFileSync(localScript, script);
    const ours: number[] = [];
    const theirs: number[] = [];
    for (let round = 0; round < LATENCY_ROUNDS; round++) {
      const t0 = performance.now();
      const connection = await connect(connectOptions());
      await connection.upload(`bench-${randomUUID()}.sh`, script);
      const result = await connection.run('true', { output: { write: () => true } });
      await connection.close();
      ours.push(performance.now() - t0);
      expect(result).toMatchObject({ completed: true, exitCode: 0 });

      const target = `${sshd.user}@${ADDRESS}`;
      const sshMs = await timeProcess('ssh', [...sshArgs(), '-p', String(sshd.port), target, 'true']);
      const sftpMs = await timeProcess(
        'sftp',
        [...sshArgs(), '-P', String(sshd.port), '-b', '-', target],
        `put ${localScript} bench-sftp-${randomUUID()}.sh\n`,
      );
      theirs.push(sshMs + sftpMs);
    }
    const ratio = median(ours) / median(theirs);
    console.log(
      `[bench] latency: @workerkit/ssh connect+upload+run+close ${median(ours).toFixed(0)} ms, ` +
        `OpenSSH ssh true + sftp put ${median(theirs).toFixed(0)} ms → ratio ${ratio.toFixed(2)}x (goal <= 0.5x), median of ${LATENCY_ROUNDS}`,
    );
  });
});

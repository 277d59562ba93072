import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import type { SshdHandle } from '@workerkit/testkit';
import { type ConnectOptions, connect, type SshConnection, type SshKeyPair } from '../src/index.js';

/** Connect options for a testkit sshd, verifying its real host key. */
export function optionsFor(
  sshd: SshdHandle,
  key: SshKeyPair,
  extra: Partial<ConnectOptions> = {},
): ConnectOptions {
  return {
    host: sshd.host,
    port: sshd.port,
    username: sshd.user,
    auth: { privateKey: key.privateKey },
    hostKey: { kind: 'fingerprints', fingerprints: [sshd.hostKeyFingerprint] },
    // The machine is shared with other test runs: ride out a slow or reset handshake.
    readyTimeoutMs: 10_000,
    ...extra,
  };
}

export function connectTo(
  sshd: SshdHandle,
  key: SshKeyPair,
  extra: Partial<ConnectOptions> = {},
): Promise<SshConnection> {
  return connect(optionsFor(sshd, key, extra));
}

/** Collects everything written. */
export function collectingSink() {
  const chunks: Buffer[] = [];
  return {
    write(chunk: Uint8Array) {
      chunks.push(Buffer.from(chunk));
      return true;
    },
    buffer: () => Buffer.concat(chunks),
    text: () => Buffer.concat(chunks).toString('utf8'),
  };
}

/** Hashes what is written without keeping it; counts bytes. */
export function hashingSink() {
  const hash = createHash('sha256');
  let bytes = 0;
  return {
    write(chunk: Uint8Array) {
      hash.update(chunk);
      bytes += chunk.byteLength;
      return true;
    },
    get bytes() {
      return bytes;
    },
    digest: () => hash.digest('hex'),
  };
}

/** A Writable that accepts slowly (backpressure) and records what it got. */
export function slowWritable(delayMs: number, highWaterMark = 1024) {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    highWaterMark,
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(Buffer.from(chunk));
      setTimeout(callback, delayMs);
    },
  });
  return { stream, buffer: () => Buffer.concat(chunks) };
}

/** Polls until `predicate` holds or `timeoutMs` passes; returns whether it held. */
export async function eventually(predicate: () => boolean, timeoutMs: number, stepMs = 25): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (predicate()) return true;
    await new Promise((resolve) => setTimeout(resolve, stepMs));
  }
  return predicate();
}

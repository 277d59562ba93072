import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSshKey, type SshdHandle, type SshdHostKey, startSshd } from '@workerkit/testkit';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectingSink } from '../test/helpers.js';
import { connect } from './connect.js';
import { generateKeyPair } from './key-pair.js';
import { SshAuthenticationError, SshOptionsError } from './ssh-errors.js';
import type { ConnectAttempt, ConnectOptions, SshAuth, SshKeyPair } from './ssh-types.js';

const ADDRESS = '127.0.0.22';
const PASSWORD = 'correct horse battery staple';
const PASSPHRASE = 'open sesame';

type Variant = { name: string; key: SshdHostKey; passphrase?: string };

let sshd: SshdHandle;
let generated: SshKeyPair;
let variants: Variant[];

beforeAll(async () => {
  const specs: [string, Parameters<typeof generateSshKey>[0], Parameters<typeof generateSshKey>[1]][] = [
    ['ed25519 OpenSSH', 'ed25519', {}],
    ['ed25519 OpenSSH with passphrase', 'ed25519', { passphrase: PASSPHRASE }],
    ['RSA OpenSSH', 'rsa', {}],
    ['RSA PEM', 'rsa', { format: 'pem' }],
    ['RSA PEM with passphrase', 'rsa', { format: 'pem', passphrase: PASSPHRASE }],
    ['ECDSA OpenSSH', 'ecdsa', {}],
    ['ECDSA PEM', 'ecdsa', { format: 'pem' }],
    ['ECDSA OpenSSH with passphrase', 'ecdsa', { passphrase: PASSPHRASE }],
  ];
  const keys = await Promise.all(specs.map(([, type, options]) => generateSshKey(type, options)));
  variants = specs.map(([name, , options], i) => ({
    name,
    key: keys[i]!,
    ...(options?.passphrase ? { passphrase: options.passphrase } : {}),
  }));
  generated = await generateKeyPair({ comment: 'per-instance' });
  sshd = await startSshd({
    address: ADDRESS,
    password: PASSWORD,
    authorizedKeys: [...keys.map((k) => k.publicKey), generated.publicKey],
  });
});

afterAll(async () => {
  await sshd?.stop();
});

function connectWith(auth: SshAuth, extra: Partial<ConnectOptions> = {}) {
  return connect({
    host: sshd.host,
    port: sshd.port,
    username: sshd.user,
    auth,
    hostKey: { kind: 'fingerprints', fingerprints: [sshd.hostKeyFingerprint] },
    ...extra,
  });
}

async function whoami(auth: SshAuth): Promise<string> {
  await using connection = await connectWith(auth);
  const sink = collectingSink();
  await connection.run('echo "$HOME"', { output: sink });
  return sink.text().trim();
}

describe('authentication', () => {
  it('logs in with every key type and format, with and without passphrase', async () => {
    for (const { name, key, passphrase } of variants) {
      const header = key.privateKey.split('\n')[0];
      if (name.includes('PEM')) expect(header, name).toMatch(/BEGIN (RSA|EC) PRIVATE KEY/);
      else expect(header, name).toBe('-----BEGIN OPENSSH PRIVATE KEY-----');
      const auth = passphrase ? { privateKey: key.privateKey, passphrase } : { privateKey: key.privateKey };
      expect(await whoami(auth), name).toBe(sshd.homeDir);
    }
  });

  it('accepts the private key as bytes', async () => {
    expect(await whoami({ privateKey: Buffer.from(variants[0]!.key.privateKey) })).toBe(sshd.homeDir);
  });

  it('logs in with a password, and rejects a wrong one at once', async () => {
    expect(await whoami({ password: PASSWORD })).toBe(sshd.homeDir);
    const attempts: ConnectAttempt[] = [];
    const started = performance.now();
    // Retrying the login would run on to this 25 s deadline, far above the bound below.
    const error = await connectWith(
      { password: 'wrong' },
      { readyTimeoutMs: 25_000, onAttempt: (a) => attempts.push(a) },
    ).catch((e: unknown) => e);
    expect(SshAuthenticationError.isInstance(error)).toBe(true);
    expect(attempts).toEqual([]);
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('refuses an encrypted key without passphrase, or with a wrong one, before connecting', async () => {
    const encrypted = variants.find((v) => v.name === 'ed25519 OpenSSH with passphrase')!;
    const missing = await connectWith({ privateKey: encrypted.key.privateKey }).catch((e: unknown) => e);
    expect(SshOptionsError.isInstance(missing)).toBe(true);
    expect((missing as Error).message).toMatch(/passphrase/);
    const pem = variants.find((v) => v.name === 'RSA PEM with passphrase')!;
    const wrong = await connectWith({ privateKey: pem.key.privateKey, passphrase: 'nope' }).catch(
      (e: unknown) => e,
    );
    expect(SshOptionsError.isInstance(wrong)).toBe(true);
    expect((wrong as Error).message).toMatch(/auth\.privateKey or auth\.passphrase/);
    expect((wrong as Error).message).not.toContain('BEGIN');
  });
});

describe('generateKeyPair', () => {
  it('makes an ed25519 pair that sshd accepts, with the fingerprint ssh-keygen computes', async () => {
    expect(generated.publicKey).toMatch(/^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5\S+ per-instance$/);
    expect(generated.privateKey.startsWith('-----BEGIN OPENSSH PRIVATE KEY-----\n')).toBe(true);
    const dir = mkdtempSync(join(tmpdir(), 'workerkit-ssh-test-'));
    try {
      writeFileSync(join(dir, 'key.pub'), `${generated.publicKey}\n`);
      writeFileSync(join(dir, 'key'), generated.privateKey, { mode: 0o600 });
      expect(
        execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', join(dir, 'key.pub')], { encoding: 'utf8' }),
      ).toContain(generated.fingerprint);
      // OpenSSH itself reads the private key and derives the same public key.
      expect(execFileSync('ssh-keygen', ['-y', '-f', join(dir, 'key')], { encoding: 'utf8' }).trim()).toBe(
        generated.publicKey,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(await whoami({ privateKey: generated.privateKey })).toBe(sshd.homeDir);
  });

  it('encodes every key whole, also when its bytes start with zeros (ssh2 dropped them)', async () => {
    // About 1 in 128 random ed25519 keys starts with a zero byte: 1000 keys hit several.
    const pairs = await Promise.all(Array.from({ length: 1000 }, () => generateKeyPair()));
    for (const pair of pairs) {
      const blob = Buffer.from(pair.publicKey.split(' ')[1]!, 'base64');
      expect(blob.length).toBe(4 + 11 + 4 + 32);
      const parsed = ssh2.utils.parseKey(pair.privateKey);
      expect(parsed instanceof Error ? parsed.message : parsed.getPublicSSH().equals(blob)).toBe(true);
    }
  });

  it('makes a different pair each time', async () => {
    const [a, b] = await Promise.all([generateKeyPair(), generateKeyPair()]);
    expect(a.publicKey).not.toBe(b.publicKey);
    expect(a.fingerprint).not.toBe(b.fingerprint);
    expect(a.fingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
  });
});

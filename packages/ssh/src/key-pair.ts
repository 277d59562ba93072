import { generateKeyPair as generateNodeKeyPair, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { fingerprintOf } from './fingerprint.js';
import type { SshKeyPair } from './ssh-types.js';

const generateEd25519 = promisify(generateNodeKeyPair);

/**
 * A fresh ed25519 key pair for one instance: the private key in OpenSSH format (what `connect`
 * and `ssh -i` read), the public key as an `authorized_keys` line, and its SHA256 fingerprint.
 * Encoded here from node:crypto's raw key bytes: ssh2's generator drops a leading zero byte of
 * the public key about once in 256 keys, producing a key no SSH server accepts.
 */
export async function generateKeyPair(options: { comment?: string } = {}): Promise<SshKeyPair> {
  const comment = options.comment ?? 'workerkit';
  const { privateKey, publicKey } = await generateEd25519('ed25519');
  const seed = Buffer.from(privateKey.export({ format: 'jwk' }).d!, 'base64url');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
  const blob = Buffer.concat([sshString('ssh-ed25519'), sshString(raw)]);
  return {
    privateKey: opensshPrivateKey(blob, seed, raw, comment),
    publicKey: `ssh-ed25519 ${blob.toString('base64')} ${comment}`,
    fingerprint: fingerprintOf(blob),
  };
}

/** The unencrypted `openssh-key-v1` format, as `ssh-keygen -t ed25519 -N ''` writes it. */
function opensshPrivateKey(blob: Buffer, seed: Buffer, raw: Buffer, comment: string): string {
  const check = randomBytes(4);
  const section = Buffer.concat([
    check,
    check,
    sshString('ssh-ed25519'),
    sshString(raw),
    sshString(Buffer.concat([seed, raw])),
    sshString(comment),
  ]);
  const padding = Buffer.from(Array.from({ length: (8 - (section.length % 8)) % 8 }, (_, i) => i + 1));
  const body = Buffer.concat([
    Buffer.from('openssh-key-v1\0', 'latin1'),
    sshString('none'), // cipher
    sshString('none'), // kdf
    sshString(''), // kdf options
    uint32(1), // number of keys
    sshString(blob),
    sshString(Buffer.concat([section, padding])),
  ]);
  const lines = body
    .toString('base64')
    .match(/.{1,70}/g)!
    .join('\n');
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines}\n-----END OPENSSH PRIVATE KEY-----\n`;
}

function sshString(value: string | Buffer): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value) : value;
  return Buffer.concat([uint32(bytes.length), bytes]);
}

function uint32(value: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(value);
  return bytes;
}

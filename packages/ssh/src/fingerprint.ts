import { createHash } from 'node:crypto';
import { SshOptionsError } from './ssh-errors.js';

const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}$/;

/** `SHA256:<base64 without padding>` of an SSH public key blob, as `ssh-keygen -l` prints it. */
export function fingerprintOf(keyBlob: Uint8Array): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** Checks a fingerprint's form; returns it unchanged. */
export function normalizeFingerprint(value: string, option: string): string {
  const trimmed = value.trim();
  if (!FINGERPRINT.test(trimmed)) {
    throw new SshOptionsError({
      option,
      got: JSON.stringify(value),
      expected:
        'an OpenSSH SHA256 fingerprint such as "SHA256:" followed by 43 base64 characters (ssh-keygen -lf)',
    });
  }
  return trimmed;
}

export interface PublicKeyLine {
  /** The key type named in the blob, e.g. `ssh-ed25519`. */
  type: string;
  blob: Buffer;
  comment: string;
}

/** Parses `ssh-ed25519 AAAA… comment` (an authorized_keys or .pub line without options). */
export function parsePublicKeyLine(line: string, option: string): PublicKeyLine {
  const fail = (why: string): never => {
    throw new SshOptionsError({
      option,
      got: `${JSON.stringify(line.length > 80 ? `${line.slice(0, 77)}...` : line)} (${why})`,
      expected: 'an OpenSSH public key line such as "ssh-ed25519 AAAAC3Nza… comment"',
    });
  };
  const [type, base64, ...comment] = line.trim().split(/\s+/);
  if (type === undefined || base64 === undefined) return fail('not "<type> <base64>"');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) return fail('the key is not base64');
  const blob = Buffer.from(base64, 'base64');
  if (blob.length < 4) return fail('the key is too short');
  const nameLength = blob.readUInt32BE(0);
  if (4 + nameLength > blob.length) return fail('the key blob is truncated');
  const blobType = blob.subarray(4, 4 + nameLength).toString('latin1');
  if (blobType !== type) return fail(`the blob says ${blobType}, the line says ${type}`);
  return { type, blob, comment: comment.join(' ') };
}

/** The host key algorithms a server may use to present a key of this type. */
export function hostKeyAlgorithmsFor(keyType: string): string[] {
  if (keyType === 'ssh-rsa') return ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];
  return [keyType];
}

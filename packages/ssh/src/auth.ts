import { SshOptionsError } from './ssh-errors.js';
import type { SshAuth } from './ssh-types.js';
import { ssh2Module } from './ssh2-module.js';

/** The credential fields of ssh2's connect config. */
export type Ssh2Credentials = { privateKey: Buffer; passphrase?: string } | { password: string };

/**
 * Checks the credentials before any connection is made: an unreadable key or a wrong
 * passphrase is a caller error, not a reason to wait for the machine.
 */
export function resolveAuth(auth: SshAuth): Ssh2Credentials {
  if (typeof auth !== 'object' || auth === null) {
    throw new SshOptionsError({
      option: 'auth',
      got: String(auth),
      expected: '{ privateKey, passphrase? } or { password }',
    });
  }
  if ('password' in auth) {
    if (typeof auth.password !== 'string') {
      throw new SshOptionsError({ option: 'auth.password', got: typeof auth.password, expected: 'a string' });
    }
    return { password: auth.password };
  }
  const { privateKey, passphrase } = auth as { privateKey?: unknown; passphrase?: unknown };
  if (typeof privateKey !== 'string' && !(privateKey instanceof Uint8Array)) {
    throw new SshOptionsError({
      option: 'auth.privateKey',
      got: privateKey === undefined ? 'nothing' : typeof privateKey,
      expected: 'the private key text (OpenSSH or PEM) as a string or bytes, or { password } instead',
    });
  }
  if (passphrase !== undefined && typeof passphrase !== 'string') {
    throw new SshOptionsError({ option: 'auth.passphrase', got: typeof passphrase, expected: 'a string' });
  }
  const key = typeof privateKey === 'string' ? Buffer.from(privateKey) : Buffer.from(privateKey);
  const parsed = ssh2Module().utils.parseKey(key, passphrase);
  if (parsed instanceof Error) {
    const encrypted = /encrypted|passphrase|decrypt|bad decrypt/i.test(parsed.message);
    throw new SshOptionsError({
      option: passphrase === undefined ? 'auth.privateKey' : 'auth.privateKey or auth.passphrase',
      got: `a key that cannot be read (${parsed.message})`,
      expected: encrypted
        ? 'the passphrase that decrypts the private key'
        : 'an OpenSSH or PEM private key (ed25519, RSA or ECDSA), with its passphrase if it is encrypted',
      cause: parsed,
    });
  }
  if (Array.isArray(parsed)) {
    throw new SshOptionsError({
      option: 'auth.privateKey',
      got: `${(parsed as unknown[]).length} keys`,
      expected: 'exactly one private key',
    });
  }
  if (!parsed.isPrivateKey()) {
    throw new SshOptionsError({
      option: 'auth.privateKey',
      got: `a ${parsed.type} public key`,
      expected: 'the private key, not the public one',
    });
  }
  return passphrase === undefined ? { privateKey: key } : { privateKey: key, passphrase };
}

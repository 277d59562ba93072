import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export type SshdHostKeyType = 'ed25519' | 'rsa' | 'ecdsa';

/** A host key made by ssh-keygen: pass it to `startSshd({ hostKey })` to know its fingerprint before sshd starts. */
export interface SshdHostKey {
  type: SshdHostKeyType;
  /** OpenSSH-format private key. */
  privateKey: string;
  /** `ssh-ed25519 AAAA…` line. */
  publicKey: string;
  /** `SHA256:…` as `ssh-keygen -l` prints it. */
  fingerprint: string;
}

/** `SHA256:<base64 without =>` of a `type base64 [comment]` public key line. */
export function publicKeyFingerprint(publicKeyLine: string): string {
  const base64 = publicKeyLine.trim().split(/\s+/)[1];
  if (!base64) throw new Error(`not an OpenSSH public key line: ${JSON.stringify(publicKeyLine)}`);
  return `SHA256:${createHash('sha256').update(Buffer.from(base64, 'base64')).digest('base64').replace(/=+$/, '')}`;
}

/**
 * Generates a key with ssh-keygen. `format: 'pem'` writes RSA/ECDSA keys as PEM (PKCS#1/SEC1)
 * instead of the OpenSSH format; a `passphrase` encrypts the private key.
 */
export async function generateSshKey(
  type: SshdHostKeyType,
  options: { format?: 'openssh' | 'pem'; passphrase?: string; comment?: string } = {},
): Promise<SshdHostKey> {
  const dir = await mkdtemp(join(tmpdir(), 'workerkit-keygen-'));
  try {
    const file = join(dir, 'key');
    const args = ['-q', '-t', type, '-N', options.passphrase ?? '', '-C', options.comment ?? '', '-f', file];
    if (type === 'rsa') args.push('-b', '2048');
    if (options.format === 'pem') args.push('-m', 'PEM');
    await run('ssh-keygen', args);
    const privateKey = await readFile(file, 'utf8');
    const publicKey = (await readFile(`${file}.pub`, 'utf8')).trim();
    return { type, privateKey, publicKey, fingerprint: publicKeyFingerprint(publicKey) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

import { generateSshKey } from '@workerkit/testkit';
import { describe, expect, it } from 'vitest';
import { fingerprintOf, normalizeFingerprint, parsePublicKeyLine } from './fingerprint.js';
import { SshOptionsError } from './ssh-errors.js';

describe('fingerprints', () => {
  it.each(['ed25519', 'rsa', 'ecdsa'] as const)('match ssh-keygen for %s keys', async (type) => {
    const key = await generateSshKey(type, { comment: 'a comment with spaces' });
    const parsed = parsePublicKeyLine(key.publicKey, 'key');
    expect(parsed.comment).toBe('a comment with spaces');
    expect(fingerprintOf(parsed.blob)).toBe(key.fingerprint);
    expect(normalizeFingerprint(` ${key.fingerprint} `, 'fp')).toBe(key.fingerprint);
  });

  it('rejects malformed input naming the option', async () => {
    const key = await generateSshKey('ed25519');
    const [, base64] = key.publicKey.split(' ');
    const bad: [() => unknown, RegExp][] = [
      [
        () => normalizeFingerprint('MD5:aa:bb', 'hostKey.fingerprints[0]'),
        /hostKey\.fingerprints\[0\].*SHA256/,
      ],
      [() => normalizeFingerprint(`${key.fingerprint}=`, 'fp'), /fp/],
      [() => parsePublicKeyLine('ssh-ed25519', 'k'), /not "<type> <base64>"/],
      [
        () => parsePublicKeyLine(`ssh-rsa ${base64}`, 'k'),
        /the blob says ssh-ed25519, the line says ssh-rsa/,
      ],
      [() => parsePublicKeyLine('ssh-ed25519 AAAA', 'k'), /truncated|too short/],
    ];
    for (const [call, pattern] of bad) {
      let error: unknown;
      try {
        call();
      } catch (e) {
        error = e;
      }
      expect(SshOptionsError.isInstance(error), String(pattern)).toBe(true);
      expect((error as Error).message).toMatch(pattern);
    }
  });
});

import type { Logger } from '@workerkit/core';
import {
  fingerprintOf,
  hostKeyAlgorithmsFor,
  normalizeFingerprint,
  parsePublicKeyLine,
} from './fingerprint.js';
import { SshOptionsError } from './ssh-errors.js';
import type { HostKeyPolicy } from './ssh-types.js';

/** The verdict on one connection attempt's host key, filled in by `verify`. */
export interface HostKeyCheck {
  /** For ssh2's `hostVerifier`: true accepts the raw key blob. */
  verify(keyBlob: Buffer): boolean;
  /** Host key algorithms to offer (restricted to the supplied public keys' types), or undefined for ssh2's list. */
  readonly serverHostKeyAlgorithms: string[] | undefined;
  /** What the policy accepts, for error messages. */
  readonly expected: readonly string[];
  /** Fingerprint of the key the server presented, once it did. */
  presented: string | undefined;
  /** True when the presented key was refused. */
  rejected: boolean;
}

/** Checks a policy's shape at once, so a typo fails before any connection is made. */
export function validateHostKeyPolicy(policy: HostKeyPolicy): void {
  hostKeyCheck(policy, { host: '', port: 0, logger: undefined });
}

/**
 * Builds the host-key check for one connection attempt. `fingerprints` and `public-keys` accept
 * only what was supplied; `trust-on-first-use` records the first key seen for `host:port` in its
 * store and accepts only that one afterwards; `insecure` accepts anything and logs a warning.
 */
export function hostKeyCheck(
  policy: HostKeyPolicy,
  target: { host: string; port: number; logger: Logger | undefined },
): HostKeyCheck {
  if (typeof policy !== 'object' || policy === null) {
    throw new SshOptionsError({
      option: 'hostKey',
      got: String(policy),
      expected: "a policy object such as { kind: 'fingerprints', fingerprints: ['SHA256:…'] }",
    });
  }
  switch (policy.kind) {
    case 'fingerprints': {
      const list = nonEmptyList(policy.fingerprints, 'hostKey.fingerprints', 'SHA256 fingerprints');
      const expected = list.map((value, i) => normalizeFingerprint(value, `hostKey.fingerprints[${i}]`));
      return makeCheck(expected, undefined, (presented) => expected.includes(presented));
    }
    case 'public-keys': {
      const list = nonEmptyList(policy.publicKeys, 'hostKey.publicKeys', 'OpenSSH public key lines');
      const keys = list.map((line, i) => parsePublicKeyLine(line, `hostKey.publicKeys[${i}]`));
      const expected = keys.map((key) => fingerprintOf(key.blob));
      const algorithms = [...new Set(keys.flatMap((key) => hostKeyAlgorithmsFor(key.type)))];
      return makeCheck(expected, algorithms, (presented) => expected.includes(presented));
    }
    case 'trust-on-first-use': {
      if (!(policy.store instanceof Map)) {
        throw new SshOptionsError({
          option: 'hostKey.store',
          got: typeof policy.store,
          expected: 'a Map<string, string> from "host:port" to the fingerprint first seen',
        });
      }
      const id = `${target.host}:${target.port}`;
      const known = policy.store.get(id);
      return makeCheck(known === undefined ? ['(first use)'] : [known], undefined, (presented) => {
        const first = policy.store.get(id);
        if (first === undefined) {
          policy.store.set(id, presented);
          target.logger?.info('ssh: trusting host key on first use', {
            host: target.host,
            port: target.port,
            fingerprint: presented,
          });
          return true;
        }
        return first === presented;
      });
    }
    case 'insecure': {
      let warned = false;
      return makeCheck(['(any: insecure)'], undefined, (presented) => {
        if (!warned) {
          warned = true;
          target.logger?.warn(
            'ssh: host key NOT verified (hostKey insecure): the connection can be intercepted',
            {
              host: target.host,
              port: target.port,
              fingerprint: presented,
            },
          );
        }
        return true;
      });
    }
    default:
      throw new SshOptionsError({
        option: 'hostKey.kind',
        got: JSON.stringify((policy as { kind?: unknown }).kind),
        expected: "'fingerprints', 'public-keys', 'trust-on-first-use' or 'insecure'",
      });
  }
}

function nonEmptyList(value: unknown, option: string, what: string): string[] {
  if (!Array.isArray(value) || value.length === 0 || value.some((item) => typeof item !== 'string')) {
    throw new SshOptionsError({
      option,
      got: Array.isArray(value)
        ? `${value.length === 0 ? 'an empty list' : 'a list with non-strings'}`
        : typeof value,
      expected: `a non-empty list of ${what}`,
    });
  }
  return value as string[];
}

function makeCheck(
  expected: readonly string[],
  serverHostKeyAlgorithms: string[] | undefined,
  accepts: (presented: string) => boolean,
): HostKeyCheck {
  const check: HostKeyCheck = {
    expected,
    serverHostKeyAlgorithms,
    presented: undefined,
    rejected: false,
    verify(keyBlob) {
      const presented = fingerprintOf(keyBlob);
      check.presented = presented;
      const ok = accepts(presented);
      check.rejected = !ok;
      return ok;
    },
  };
  return check;
}

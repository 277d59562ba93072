import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bootSshdGuest } from '../sshd/sshd-guest.js';
import { hostKeyAttributes } from './gce-emulator-metadata.js';
import type { GceGuest, GceGuestBooter, GceGuestSpec } from './gce-emulator-types.js';

const LINUX_USER = /^[a-z_][a-z0-9_-]{0,31}$/;

/**
 * Boots a guest the way a GCE image with the guest agent does, as far as SSH goes: the users
 * named in the `ssh-keys` metadata exist and accept exactly their keys, and sshd's host key is
 * published (the emulator puts it into guest attributes).
 *
 * The guest is testkit's sshd guest (a private OpenSSH sshd in its own mount namespace) whose
 * `/etc/passwd` holds the metadata users (uid 0, as the tests run as root) with the instance's
 * own home directory: `~/build.sh` and `/tmp/build.trace` of one instance never meet another's.
 * The startup script is not executed (it would power this machine off).
 */
export function gceSshdGuestBooter(): GceGuestBooter {
  return bootGceGuest;
}

async function bootGceGuest(spec: GceGuestSpec): Promise<GceGuest> {
  if (process.getuid?.() !== 0)
    throw new Error('gce emulator guest: must run as root (sshd and mount namespaces need it)');
  const users = [...new Set(spec.sshKeys.map((k) => k.user))].filter((user) => LINUX_USER.test(user));
  const guest = await bootSshdGuest({
    label: 'gce-emulator-guest',
    name: spec.name,
    addresses: [spec.address],
    port: spec.port,
    keepFiles: Boolean(process.env.WORKERKIT_GCE_GUEST_KEEP),
    setup: ({ dir, home }) => {
      const keysDir = join(dir, 'authorized_keys');
      mkdirSync(keysDir, { mode: 0o755 });
      for (const user of users) {
        const keys = spec.sshKeys.filter((k) => k.user === user).map((k) => `${k.publicKey}\n`);
        writeFileSync(join(keysDir, user), keys.join(''), { mode: 0o600 });
      }
      const passwd = readFileSync('/etc/passwd', 'utf8')
        .split('\n')
        .filter((line) => line !== '' && !users.includes(line.split(':')[0]!));
      for (const user of users) passwd.push(`${user}:x:0:0:gce guest user:${home}:/bin/bash`);
      return {
        config: [
          `AuthorizedKeysFile ${keysDir}/%u`,
          // No metadata user: nobody may log in (an impossible name keeps AllowUsers non-empty).
          `AllowUsers ${users.length > 0 ? users.join(' ') : 'nobody-may-log-in'}`,
          'PermitRootLogin yes',
          `LogLevel ${process.env.WORKERKIT_GCE_GUEST_LOGLEVEL ?? 'ERROR'}`,
          'Subsystem sftp internal-sftp',
        ],
        etc: { passwd: `${passwd.join('\n')}\n` },
      };
    },
  });
  return { hostKeys: hostKeyAttributes(guest.hostPublicKey), stop: guest.stop };
}

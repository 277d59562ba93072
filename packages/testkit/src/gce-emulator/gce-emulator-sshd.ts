import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bootSshdGuest } from '../sshd/sshd-guest.js';
import { hostKeyAttributes } from './gce-emulator-metadata.js';
import { readSshdPid, runStartupScript, type StartupScriptRun } from './gce-emulator-startup-script.js';
import type { GceGuest, GceGuestBooter, GceGuestSpec } from './gce-emulator-types.js';

const LINUX_USER = /^[a-z_][a-z0-9_-]{0,31}$/;

/**
 * Boots a guest the way a GCE image does, as far as SSH goes. With the guest agent the users
 * named in the `ssh-keys` metadata exist and accept their keys, and sshd's host key is published
 * (the emulator puts it into guest attributes). Without it only the image's users exist, with no
 * keys until the startup script writes some to `~/.ssh/authorized_keys`. Either way the startup
 * script runs as root at boot, its output on the serial console, and `/etc/ssh` holds the
 * guest's own host key (`ssh_host_ed25519_key.pub`).
 *
 * The guest is testkit's sshd guest (a private OpenSSH sshd in its own mount namespace) whose
 * `/etc/passwd` holds the users (uid 0, as the tests run as root) with the instance's own home
 * directory: `~/build.sh` and `/tmp/build.trace` of one instance never meet another's.
 */
export function gceSshdGuestBooter(): GceGuestBooter {
  return bootGceGuest;
}

async function bootGceGuest(spec: GceGuestSpec): Promise<GceGuest> {
  if (process.getuid?.() !== 0)
    throw new Error('gce emulator guest: must run as root (sshd and mount namespaces need it)');
  const agentUsers = spec.guestAgent ? spec.sshKeys.map((k) => k.user) : [];
  const users = [...new Set([...spec.imageUsers, ...agentUsers])].filter((user) => LINUX_USER.test(user));
  const guest = await bootSshdGuest({
    label: 'gce-emulator-guest',
    name: spec.name,
    addresses: [spec.address],
    port: spec.port,
    keepFiles: Boolean(process.env.WORKERKIT_GCE_GUEST_KEEP),
    setup: ({ dir, home, hostPublicKey }) => {
      // What the guest agent writes for each metadata user.
      const keysDir = join(dir, 'authorized_keys');
      mkdirSync(keysDir, { mode: 0o755 });
      for (const user of users) {
        const keys = spec.guestAgent
          ? spec.sshKeys.filter((k) => k.user === user).map((k) => `${k.publicKey}\n`)
          : [];
        writeFileSync(join(keysDir, user), keys.join(''), { mode: 0o600 });
      }
      const passwd = readFileSync('/etc/passwd', 'utf8')
        .split('\n')
        .filter((line) => line !== '' && !users.includes(line.split(':')[0]!));
      for (const user of users) passwd.push(`${user}:x:0:0:gce guest user:${home}:/bin/bash`);
      return {
        config: [
          // The agent's keys, and what the startup script (or anyone) adds to ~/.ssh/authorized_keys.
          `AuthorizedKeysFile ${keysDir}/%u .ssh/authorized_keys`,
          // No user: nobody may log in (an impossible name keeps AllowUsers non-empty).
          `AllowUsers ${users.length > 0 ? users.join(' ') : 'nobody-may-log-in'}`,
          'PermitRootLogin yes',
          `LogLevel ${process.env.WORKERKIT_GCE_GUEST_LOGLEVEL ?? 'ERROR'}`,
          'Subsystem sftp internal-sftp',
        ],
        etc: {
          passwd: `${passwd.join('\n')}\n`,
          'ssh/ssh_host_ed25519_key.pub': `${hostPublicKey}\n`,
        },
      };
    },
  });
  let script: StartupScriptRun | undefined;
  if (spec.startupScript !== undefined && spec.startupScript.trim() !== '') {
    try {
      script = runStartupScript(
        {
          name: spec.name,
          dir: guest.dir,
          sshdPid: await readSshdPid(guest.dir),
          script: spec.startupScript,
        },
        spec.host,
      );
    } catch (error) {
      await guest.stop();
      throw error;
    }
  }
  return {
    hostKeys: hostKeyAttributes(guest.hostPublicKey),
    async stop() {
      script?.stop();
      await guest.stop();
    },
  };
}

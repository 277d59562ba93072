import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bootSshdGuest } from '../sshd/sshd-guest.js';

/** A booted emulated instance: what its console prints and how to kill it. */
export interface Ec2Guest {
  /** `ssh-ed25519 AAAA… root@host` lines, as cloud-init prints them. */
  readonly hostPublicKeys: readonly string[];
  /** The guest's home directory (where SFTP uploads land). */
  readonly home: string;
  /** Kills the guest's sshd and every session it started, then removes its files. */
  stop(): Promise<void>;
}

export interface Ec2GuestSpec {
  /** Loopback addresses to listen on (private and public IP). */
  addresses: readonly string[];
  port: number;
  /** Public keys allowed to log in. */
  authorizedKeys: readonly string[];
  /** The instance id (for names). */
  name: string;
}

export type Ec2GuestBooter = (spec: Ec2GuestSpec) => Promise<Ec2Guest>;

/**
 * Boots a guest as a private OpenSSH `sshd -D` listening on the instance's loopback addresses,
 * with its own host key, authorized keys, home directory (HOME and the SFTP start directory)
 * and, as root, its own /tmp.
 * Runs as the current user; logins are for that user.
 */
export const ec2SshdGuestBooter: Ec2GuestBooter = async (spec) => {
  const guest = await bootSshdGuest({
    label: 'ec2-emulator-guest',
    name: spec.name,
    addresses: spec.addresses,
    port: spec.port,
    setup: ({ dir, home }) => {
      const authorizedKeys = join(dir, 'authorized_keys');
      writeFileSync(authorizedKeys, spec.authorizedKeys.map((key) => `${key}\n`).join(''), { mode: 0o600 });
      return {
        config: [
          `AuthorizedKeysFile ${authorizedKeys}`,
          'PermitRootLogin prohibit-password',
          'MaxSessions 16',
          'LogLevel ERROR',
          `SetEnv HOME=${home}`,
          `Subsystem sftp internal-sftp -d ${home}`,
        ],
      };
    },
  });
  return { hostPublicKeys: [guest.hostPublicKey], home: guest.home, stop: guest.stop };
};

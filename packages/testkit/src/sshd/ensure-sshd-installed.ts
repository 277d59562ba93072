import { execFile } from 'node:child_process';
import { accessSync, constants, mkdirSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Where Debian's openssh-server puts the daemon; sshd must be started by absolute path. */
export const SSHD_PATH = '/usr/sbin/sshd';
const NEEDED = [SSHD_PATH, '/usr/bin/ssh-keygen'];

function missing(): string[] {
  return NEEDED.filter((path) => {
    try {
      accessSync(path, constants.X_OK);
      return false;
    } catch {
      return true;
    }
  });
}

let installing: Promise<void> | undefined;

/**
 * Makes sure OpenSSH's server can run here: installs Debian `openssh-server` with apt-get when
 * `sshd` is missing (needs root), and creates the privilege-separation directory `/run/sshd`.
 */
export function ensureSshdInstalled(): Promise<void> {
  installing ??= install().catch((error: unknown) => {
    installing = undefined;
    throw error;
  });
  return installing;
}

async function install(): Promise<void> {
  if (missing().length > 0) {
    if (process.getuid?.() !== 0) {
      throw new Error(
        `sshd harness: ${missing().join(', ')} not found and not running as root: install openssh-server (apt-get install -y openssh-server)`,
      );
    }
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const aptInstall = () =>
      run(
        'apt-get',
        [
          '-o',
          'DPkg::Lock::Timeout=300',
          'install',
          '-y',
          '--no-install-recommends',
          'openssh-server',
          'openssh-client',
        ],
        {
          env,
          timeout: 600_000,
        },
      );
    try {
      await aptInstall();
    } catch {
      await run('apt-get', ['-o', 'DPkg::Lock::Timeout=300', 'update'], { env, timeout: 600_000 });
      await aptInstall();
    }
    if (missing().length > 0)
      throw new Error(`sshd harness: ${missing().join(', ')} still missing after installing openssh-server`);
  }
  // sshd refuses to start as root without it ("Missing privilege separation directory").
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
}

import { type ChildProcess, spawn } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { ensureSshdInstalled, SSHD_PATH } from '../sshd/ensure-sshd-installed.js';
import { canConnect } from '../sshd/free-port.js';
import { descendantsOf, isProcessAlive, signalPids } from '../sshd/process-tree.js';
import { PRIVATE_SSHD_DEFAULTS } from '../sshd/sshd-config-defaults.js';
import { generateSshKey } from '../sshd/sshd-host-key.js';
import type { GceGuest, GceGuestBooter, GceGuestSpec } from './gce-emulator-types.js';

const LINUX_USER = /^[a-z_][a-z0-9_-]{0,31}$/;
const GUESTS_DIR = '/var/tmp/workerkit-gce-guests';

/**
 * Boots a guest the way a GCE image with the guest agent does, as far as SSH goes: the users
 * named in the `ssh-keys` metadata exist and accept exactly their keys, and sshd's host key is
 * published (the emulator puts it into guest attributes).
 *
 * The guest is a private OpenSSH sshd (testkit's sshd harness pieces: host key, install check,
 * process tree) in its own mount namespace, where `/etc/passwd` holds the metadata users
 * (uid 0, as the tests run as root) with the instance's own home directory, and `/tmp` is the
 * instance's own: `~/build.sh` and `/tmp/build.trace` of one instance never meet another's.
 * The startup script is not executed (it would power this machine off).
 */
export function gceSshdGuestBooter(): GceGuestBooter {
  return bootSshdGuest;
}

async function bootSshdGuest(spec: GceGuestSpec): Promise<GceGuest> {
  if (process.getuid?.() !== 0)
    throw new Error('gce emulator guest: must run as root (sshd and mount namespaces need it)');
  await ensureSshdInstalled();
  const users = [...new Set(spec.sshKeys.map((k) => k.user))].filter((user) => LINUX_USER.test(user));
  const hostKey = await generateSshKey('ed25519');
  // Outside /tmp: the guest's /tmp is replaced by its own, and its home must stay reachable.
  mkdirSync(GUESTS_DIR, { recursive: true, mode: 0o755 });
  const dir = mkdtempSync(join(GUESTS_DIR, `${spec.name.slice(0, 20)}-`));
  const home = join(dir, 'home');
  const guestTmp = join(dir, 'tmp');
  const keysDir = join(dir, 'authorized_keys');
  mkdirSync(home, { mode: 0o755 });
  mkdirSync(guestTmp, { mode: 0o1777 });
  mkdirSync(keysDir, { mode: 0o755 });
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  writeFileSync(join(dir, 'host_key'), hostKey.privateKey, { mode: 0o600 });
  for (const user of users) {
    const keys = spec.sshKeys.filter((k) => k.user === user).map((k) => `${k.publicKey}\n`);
    writeFileSync(join(keysDir, user), keys.join(''), { mode: 0o600 });
  }
  const passwd = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .filter((line) => line !== '' && !users.includes(line.split(':')[0]!));
  for (const user of users) passwd.push(`${user}:x:0:0:gce guest user:${home}:/bin/bash`);
  // The guest's /etc: the host's entries as symlinks into a bind of the host /etc, and its own
  // passwd. (Binding a file over /etc/passwd is not enough: useradd elsewhere renames a new
  // passwd into place, which detaches such a mount.)
  const etc = join(dir, 'etc');
  mkdirSync(etc, { mode: 0o755 });
  mkdirSync(join(dir, 'host-etc'), { mode: 0o755 });
  for (const entry of readdirSync('/etc')) {
    if (entry !== 'passwd') symlinkSync(join(dir, 'host-etc', entry), join(etc, entry));
  }
  writeFileSync(join(etc, 'passwd'), `${passwd.join('\n')}\n`, { mode: 0o644 });
  const config = [
    `ListenAddress ${spec.address}`,
    `Port ${spec.port}`,
    `HostKey ${join(dir, 'host_key')}`,
    `PidFile ${join(dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${keysDir}/%u`,
    // No metadata user: nobody may log in (an impossible name keeps AllowUsers non-empty).
    `AllowUsers ${users.length > 0 ? users.join(' ') : 'nobody-may-log-in'}`,
    'PasswordAuthentication no',
    'PermitRootLogin yes',
    ...PRIVATE_SSHD_DEFAULTS,
    `LogLevel ${process.env.WORKERKIT_GCE_GUEST_LOGLEVEL ?? 'ERROR'}`,
    'Subsystem sftp internal-sftp',
    '',
  ].join('\n');
  writeFileSync(join(dir, 'sshd_config'), config);
  const log = join(dir, 'sshd.log');
  // unshare execs sh, which execs sshd: the child's pid is sshd's.
  const script = [
    'mount --bind /etc "$1/host-etc"',
    'mount --bind "$1/etc" /etc',
    'mount --bind "$1/tmp" /tmp',
    'exec "$2" -D -e -f "$1/sshd_config" 2>>"$1/sshd.log"',
  ].join(' && ');
  const child = spawn(
    'unshare',
    ['--mount', '--propagation', 'private', 'sh', '-c', script, 'guest', dir, SSHD_PATH],
    {
      stdio: 'ignore',
    },
  );
  const handle = guestHandle(child, dir);
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (!handle.running()) {
      await handle.stop();
      throw new Error(`gce emulator guest: sshd on ${spec.address}:${spec.port} exited: ${readLog(log)}`);
    }
    if (await canConnect(spec.address, spec.port)) break;
    if (Date.now() > deadline) {
      await handle.stop();
      throw new Error(
        `gce emulator guest: sshd on ${spec.address}:${spec.port} did not listen within 10 s: ${readLog(log)}`,
      );
    }
    await delay(10);
  }
  const [type = 'ssh-ed25519', blob = ''] = hostKey.publicKey.split(' ');
  return { hostKeys: { [type]: blob }, stop: handle.stop };
}

function guestHandle(child: ChildProcess, dir: string): { running(): boolean; stop(): Promise<void> } {
  let running = child.pid !== undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      running = false;
      resolve();
    });
    child.once('error', () => {
      running = false;
      resolve();
    });
  });
  let stopping: Promise<void> | undefined;
  return {
    running: () => running,
    stop: () => {
      stopping ??= (async () => {
        const pid = child.pid;
        if (pid !== undefined && running) {
          // A VM that goes away takes its processes with it: listener first, then every session.
          const tree = descendantsOf(pid);
          signalPids([pid, ...tree.filter((p) => p.comm === 'sshd').map((p) => p.pid)], 'SIGKILL');
          signalPids(
            tree.filter((p) => p.comm !== 'sshd').map((p) => p.pid),
            'SIGKILL',
          );
          await Promise.race([exited, delay(5000)]);
          const left = descendantsOf(pid)
            .map((p) => p.pid)
            .filter(isProcessAlive);
          if (left.length > 0) signalPids(left, 'SIGKILL');
        }
        if (!process.env.WORKERKIT_GCE_GUEST_KEEP) rmSync(dir, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
}

function readLog(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim() || '(empty log)';
  } catch {
    return '(no log)';
  }
}

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ensureSshdInstalled, SSHD_PATH } from '../sshd/index.js';
import { PRIVATE_SSHD_DEFAULTS } from '../sshd/sshd-config-defaults.js';
import { generateKeyMaterial } from './ec2-key-material.js';

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

const SSHD = SSHD_PATH;
const GUEST_PREFIX = 'ec2-emulator-guest-';

let swept: Promise<void> | undefined;

/**
 * Removes guests left by an emulator whose process died without `stop()` (a crashed or killed
 * test run): their sshd (by the pid in the guest's pid file, with its sessions) and directory.
 * Runs once per process.
 */
function sweepStaleGuests(base: string): Promise<void> {
  swept ??= (async () => {
    for (const entry of await readdir(base).catch(() => [] as string[])) {
      const owner = Number(/^ec2-emulator-guest-(\d+)-/.exec(entry)?.[1]);
      if (!Number.isInteger(owner) || owner <= 0 || isAlive(owner)) continue;
      const dir = path.join(base, entry);
      const pid = Number((await readFile(path.join(dir, 'sshd.pid'), 'utf8').catch(() => '')).trim());
      const comm = pid > 0 ? await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '') : '';
      if (comm.trim() === 'sshd') await killPid(pid);
      await rm(dir, { recursive: true, force: true });
    }
  })();
  return swept;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Boots a guest as a private OpenSSH `sshd -D` listening on the instance's loopback addresses,
 * with its own host key, authorized keys, home directory (HOME and the SFTP start directory)
 * and, as root, its own /tmp.
 * Runs as the current user; logins are for that user.
 */
export const ec2SshdGuestBooter: Ec2GuestBooter = async (spec) => {
  // As root /tmp is replaced inside the guest, so its own files live outside it.
  const base = process.getuid?.() === 0 ? '/var/tmp' : tmpdir();
  await sweepStaleGuests(base);
  const dir = await mkdtemp(path.join(base, `${GUEST_PREFIX}${process.pid}-${spec.name}-`));
  const home = path.join(dir, 'home');
  await rm(home, { recursive: true, force: true });
  mkdirSync(home, { mode: 0o755 });
  const guestTmp = path.join(dir, 'tmp');
  mkdirSync(guestTmp, { mode: 0o1777 });
  // Installs Debian's openssh-server when sshd is missing (as root) and creates /run/sshd.
  if (process.getuid?.() === 0) await ensureSshdInstalled();
  const hostKey = generateKeyMaterial('ed25519', `root@${spec.name}`);
  await writeFile(path.join(dir, 'host_ed25519_key'), hostKey.privateKey, { mode: 0o600 });
  await writeFile(path.join(dir, 'authorized_keys'), spec.authorizedKeys.map((key) => `${key}\n`).join(''), {
    mode: 0o600,
  });
  await writeFile(path.join(dir, 'lastlog'), '');
  const config = [
    ...spec.addresses.map((address) => `ListenAddress ${address}:${spec.port}`),
    `HostKey ${path.join(dir, 'host_ed25519_key')}`,
    `PidFile ${path.join(dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
    'PasswordAuthentication no',
    'PermitRootLogin prohibit-password',
    'MaxSessions 16',
    'LogLevel ERROR',
    ...PRIVATE_SSHD_DEFAULTS,
    `SetEnv HOME=${home}`,
    `Subsystem sftp internal-sftp -d ${home}`,
    '',
  ].join('\n');
  const configPath = path.join(dir, 'sshd_config');
  await writeFile(configPath, config);
  const sshdArgs = ['-D', '-e', '-f', configPath];
  // As root the guest gets its own /tmp (a mount namespace, like a VM's): /tmp/build.trace of one
  // instance is not another's. unshare execs sh, which execs sshd, so the child's pid is sshd's.
  const child =
    process.getuid?.() === 0
      ? spawn(
          'unshare',
          [
            '--mount',
            '--propagation',
            'private',
            'sh',
            '-c',
            'mount --bind "$1" /tmp && shift && exec "$@"',
            'guest',
            guestTmp,
            SSHD,
            ...sshdArgs,
          ],
          { stdio: ['ignore', 'ignore', 'pipe'] },
        )
      : spawn(SSHD, sshdArgs, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (text: string) => {
    stderr = (stderr + text).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('error', (error) => {
    stderr += String(error);
  });
  const cleanup = async () => {
    await killTree(child);
    await exited;
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitListening(spec.addresses[0]!, spec.port, child, () => stderr);
  } catch (error) {
    await cleanup();
    throw error;
  }
  let stopping: Promise<void> | undefined;
  return {
    hostPublicKeys: [hostKey.publicKey],
    home,
    stop: () => {
      stopping ??= cleanup();
      return stopping;
    },
  };
};

async function waitListening(
  host: string,
  port: number,
  child: ChildProcess,
  stderr: () => string,
): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`sshd exited (${child.exitCode ?? child.signalCode}): ${stderr().trim()}`);
    }
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host, port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline)
      throw new Error(`sshd did not listen on ${host}:${port} within 10 s: ${stderr().trim()}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Pids of every process below `pid` (sshd's per-connection children call setsid, so groups do not help). */
async function descendants(pid: number): Promise<number[]> {
  const parents = new Map<number, number[]>();
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => undefined);
    if (!stat) continue;
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const children = parents.get(ppid) ?? [];
    children.push(Number(entry));
    parents.set(ppid, children);
  }
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    for (const child of parents.get(queue.shift()!) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

/** SIGKILLs sshd and its sessions (a VM that is gone takes its processes with it). */
async function killTree(child: ChildProcess): Promise<void> {
  const pid = child.pid;
  if (pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  await killPid(pid);
}

async function killPid(pid: number): Promise<void> {
  // Stop the listener first so no new session appears, then everything below it.
  const below = await descendants(pid);
  try {
    process.kill(pid, 'SIGSTOP');
  } catch {
    return;
  }
  for (const descendant of [...below, ...(await descendants(pid))]) {
    try {
      process.kill(descendant, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

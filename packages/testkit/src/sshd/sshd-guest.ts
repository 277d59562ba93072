import { type ChildProcess, spawn } from 'node:child_process';
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { ensureSshdInstalled, SSHD_PATH } from './ensure-sshd-installed.js';
import { canConnect } from './free-port.js';
import { isProcessAlive, killSshdTree } from './process-tree.js';
import { PRIVATE_SSHD_DEFAULTS } from './sshd-config-defaults.js';
import { generateSshKey } from './sshd-host-key.js';

/** Where a guest keeps its files. */
export interface SshdGuestDirs {
  /** The guest's own directory: config, host key, pid file, log, home and what its emulator writes. */
  dir: string;
  /** The login directory, fresh and empty. */
  home: string;
}

/** What `setup` is given: the directories and the host key sshd will present. */
export interface SshdGuestSetupInput extends SshdGuestDirs {
  /** `ssh-ed25519 AAAA… root@<name>` */
  hostPublicKey: string;
}

/** What an emulator adds to a guest once its directories exist. */
export interface SshdGuestSetup {
  /**
   * sshd_config lines saying who may log in and how (authorized keys, users, logging, SFTP).
   * They go before the shared defaults, so they win.
   */
  config: readonly string[];
  /**
   * The guest's own `/etc` entries by name (e.g. `passwd`, or `ssh/ssh_host_ed25519_key.pub`:
   * a path makes the guest's own directory, with only the files given); it sees the host's others. Needs root.
   */
  etc?: Readonly<Record<string, string>>;
  /**
   * An executable run once as root inside the guest (its mount namespace and `/etc`) before
   * sshd starts, as a cloud image's first boot runs before logins open; whether it fails is its
   * own business (sshd starts either way). Needs root.
   */
  firstBoot?: string;
}

export interface SshdGuestSpec {
  /**
   * Names the guest's directory, `<label>-<this process's pid>-<name>-XXXXXX` (the pid lets a
   * later run remove the guests of one that died), and starts its errors.
   */
  label: string;
  /** The instance's name. */
  name: string;
  /** Loopback addresses sshd listens on, all on `port`; booting waits for the first one. */
  addresses: readonly string[];
  port: number;
  /** Writes the emulator's files (authorized keys) into the guest's directory; says what to add. */
  setup(input: SshdGuestSetupInput): SshdGuestSetup;
  /** Leaves the directory in place on stop, for its `sshd.log` and config. */
  keepFiles?: boolean;
}

/** A booted guest. */
export interface SshdGuest extends SshdGuestDirs {
  /** `ssh-ed25519 AAAA… root@<name>` */
  readonly hostPublicKey: string;
  /** SIGKILLs sshd and every session it started, then removes its files. Safe to call twice. */
  stop(): Promise<void>;
}

const LISTEN_TIMEOUT_MS = 10_000;

/**
 * Boots an emulated instance's guest: a private OpenSSH `sshd -D` on the instance's loopback
 * addresses with its own directory, host key and home. As root it runs in its own mount
 * namespace, like a VM, with its own `/tmp` (`/tmp/build.trace` of one instance is not
 * another's) and, when asked, its own `/etc` entries. Without root it shares the host's.
 */
export async function bootSshdGuest(spec: SshdGuestSpec): Promise<SshdGuest> {
  const isolated = process.getuid?.() === 0;
  // As root /tmp is replaced inside the guest, so its own files live outside it.
  const base = isolated ? '/var/tmp' : tmpdir();
  sweepStaleGuests(base, spec.label);
  // Installs Debian's openssh-server when sshd is missing (as root) and creates /run/sshd.
  if (isolated) await ensureSshdInstalled();
  const hostKey = await generateSshKey('ed25519', { comment: `root@${spec.name}` });
  const dir = mkdtempSync(join(base, `${spec.label}-${process.pid}-${spec.name}-`));
  const removeDir = () => {
    if (!spec.keepFiles) rmSync(dir, { recursive: true, force: true });
  };
  let child: ChildProcess;
  const home = join(dir, 'home');
  try {
    mkdirSync(home, { mode: 0o755 });
    mkdirSync(join(dir, 'tmp'), { mode: 0o1777 });
    const setup = spec.setup({ dir, home, hostPublicKey: hostKey.publicKey });
    if ((setup.etc || setup.firstBoot) && !isolated)
      throw new Error(`${spec.label}: an own /etc or a first boot needs root (a mount namespace)`);
    if (setup.etc) writeEtc(dir, setup.etc);
    writeFileSync(join(dir, 'host_key'), hostKey.privateKey, { mode: 0o600 });
    writeFileSync(join(dir, 'sshd_config'), sshdConfig(spec, dir, setup.config));
    child = spawnSshd(dir, isolated, setup.etc !== undefined, setup.firstBoot);
  } catch (error) {
    removeDir();
    throw error;
  }
  const sshd = supervise(child, removeDir);
  const where = `${spec.addresses[0]}:${spec.port}`;
  const deadline = Date.now() + LISTEN_TIMEOUT_MS;
  let failure: string | undefined;
  while (failure === undefined) {
    if (!sshd.running()) failure = sshd.exit();
    else if (await canConnect(spec.addresses[0]!, spec.port))
      return { dir, home, hostPublicKey: hostKey.publicKey, stop: sshd.stop };
    else if (Date.now() > deadline) failure = 'did not listen within 10 s';
    else await delay(10);
  }
  const log = readLog(dir);
  await sshd.stop();
  throw new Error(`${spec.label}: sshd on ${where} ${failure}: ${log}`);
}

/** Follows the guest's sshd; `stop` kills it with its sessions and then cleans up. Safe to call twice. */
function supervise(
  child: ChildProcess,
  cleanUp: () => void,
): { running(): boolean; exit(): string; stop(): Promise<void> } {
  let running = child.pid !== undefined;
  let exit = 'failed to start';
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      running = false;
      exit = `exited (${signal ?? `status ${code}`})`;
      resolve();
    });
    child.once('error', (error) => {
      running = false;
      exit = `failed to start: ${error.message}`;
      resolve();
    });
  });
  let stopping: Promise<void> | undefined;
  return {
    running: () => running,
    exit: () => exit,
    stop: () => {
      stopping ??= (async () => {
        if (running && child.pid !== undefined) {
          killSshdTree(child.pid);
          await Promise.race([exited, delay(5000)]);
        }
        cleanUp();
      })();
      return stopping;
    },
  };
}

function sshdConfig(spec: SshdGuestSpec, dir: string, emulatorLines: readonly string[]): string {
  return [
    ...spec.addresses.map((address) => `ListenAddress ${address}:${spec.port}`),
    `HostKey ${join(dir, 'host_key')}`,
    `PidFile ${join(dir, 'sshd.pid')}`,
    'PasswordAuthentication no',
    ...emulatorLines,
    ...PRIVATE_SSHD_DEFAULTS,
    '',
  ].join('\n');
}

/**
 * The guest's /etc: the host's entries as symlinks into a bind of the host /etc, and its own
 * files. (Binding a file over /etc/passwd is not enough: useradd elsewhere renames a new
 * passwd into place, which detaches such a mount.)
 */
function writeEtc(dir: string, files: Readonly<Record<string, string>>): void {
  const etc = join(dir, 'etc');
  mkdirSync(etc, { mode: 0o755 });
  mkdirSync(join(dir, 'host-etc'), { mode: 0o755 });
  const own = new Set(Object.keys(files).map((name) => name.split('/')[0]!));
  for (const entry of readdirSync('/etc')) {
    if (!own.has(entry)) symlinkSync(join(dir, 'host-etc', entry), join(etc, entry));
  }
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(dirname(join(etc, name)), { recursive: true, mode: 0o755 });
    writeFileSync(join(etc, name), content, { mode: 0o644 });
  }
}

function spawnSshd(dir: string, isolated: boolean, ownEtc: boolean, firstBoot?: string): ChildProcess {
  const sshd = [SSHD_PATH, '-D', '-e', '-f', join(dir, 'sshd_config')];
  const log = openSync(join(dir, 'sshd.log'), 'a');
  try {
    if (!isolated) return spawn(sshd[0]!, sshd.slice(1), { stdio: ['ignore', log, log] });
    const mounts = [
      ...(ownEtc ? ['mount --bind /etc "$1/host-etc"', 'mount --bind "$1/etc" /etc'] : []),
      'mount --bind "$1/tmp" /tmp',
    ];
    const boot = firstBoot ? ['{ "$GUEST_FIRST_BOOT" </dev/null || true; }'] : [];
    // unshare execs sh, which execs sshd: the child's pid is sshd's.
    return spawn(
      'unshare',
      [
        '--mount',
        '--propagation',
        'private',
        'sh',
        '-c',
        [...mounts, 'shift', ...boot, 'exec "$@"'].join(' && '),
        'guest',
        dir,
        ...sshd,
      ],
      {
        stdio: ['ignore', log, log],
        ...(firstBoot ? { env: { ...process.env, GUEST_FIRST_BOOT: firstBoot } } : {}),
      },
    );
  } finally {
    closeSync(log);
  }
}

function readLog(dir: string): string {
  try {
    return readFileSync(join(dir, 'sshd.log'), 'utf8').trim().slice(-4000) || '(empty log)';
  } catch {
    return '(no log)';
  }
}

const swept = new Set<string>();

/**
 * Removes the guests of one label left by a process that died without stopping them (a crashed
 * or killed test run): their sshd (by the pid in its pid file, with its sessions) and directory.
 * Runs once per label and process.
 */
function sweepStaleGuests(base: string, label: string): void {
  if (swept.has(label)) return;
  swept.add(label);
  let entries: string[];
  try {
    entries = readdirSync(base);
  } catch {
    return;
  }
  for (const entry of entries) {
    if (!entry.startsWith(`${label}-`)) continue;
    const owner = Number(/^(\d+)-/.exec(entry.slice(label.length + 1))?.[1]);
    if (!Number.isInteger(owner) || owner <= 0 || isProcessAlive(owner)) continue;
    const dir = join(base, entry);
    const pid = Number(readText(join(dir, 'sshd.pid')).trim());
    if (pid > 0 && readText(`/proc/${pid}/comm`).trim() === 'sshd') killSshdTree(pid);
    rmSync(dir, { recursive: true, force: true });
  }
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

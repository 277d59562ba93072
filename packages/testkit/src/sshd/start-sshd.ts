import { type ChildProcess, spawn } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { ensureSshdInstalled, SSHD_PATH } from './ensure-sshd-installed.js';
import { canConnect, freePort } from './free-port.js';
import { createLoginUser, deleteLoginUser } from './login-user.js';
import { descendantsOf, isProcessAlive, killSshdTree, signalPids } from './process-tree.js';
import { PRIVATE_SSHD_DEFAULTS } from './sshd-config-defaults.js';
import { generateSshKey, type SshdHostKey, type SshdHostKeyType } from './sshd-host-key.js';

export interface StartSshdOptions {
  /** A loopback address, 127.0.0.x; give each test file its own. */
  address: string;
  /** Default: a free port picked on `address`. */
  port?: number;
  /** `authorized_keys` lines accepted for the login user. */
  authorizedKeys?: readonly string[];
  /** Name of the login user created for this sshd (default `wk-<random>`); must not exist yet. */
  user?: string;
  /** Also allow password authentication with this password. */
  password?: string;
  /** Type of the host key generated when `hostKey` is not given (default ed25519). */
  hostKeyType?: SshdHostKeyType;
  /** A host key made beforehand with `generateSshKey`, to know the fingerprint before sshd runs. */
  hostKey?: SshdHostKey;
  /**
   * Extra sshd_config lines. They go before the defaults, so they override them (sshd keeps the
   * first value it reads for an option); a `Match` block and what follows it go at the end.
   */
  extraConfig?: readonly string[];
  /** How long to wait for sshd to accept connections (default 20 s). */
  startTimeoutMs?: number;
}

/** A running private sshd. */
export interface SshdHandle extends AsyncDisposable {
  readonly host: string;
  readonly port: number;
  /** The listening sshd's pid. */
  readonly pid: number;
  /** The login user: an alias of root (uid 0) whose home is `homeDir`. */
  readonly user: string;
  /** The login directory (fresh and empty at start); SFTP relative paths resolve here. */
  readonly homeDir: string;
  /** The instance's own directory: config, keys, pid file, log, home. */
  readonly dir: string;
  /** The sessions' `$TMPDIR` (mode 1777), inside `dir`. */
  readonly tmpDir: string;
  readonly hostKeyFingerprint: string;
  /** `ssh-ed25519 AAAA…` */
  readonly hostPublicKey: string;
  readonly hostKeyType: SshdHostKeyType;
  readonly configPath: string;
  /** Live processes under the listening sshd: per-connection sshd processes and the sessions' commands. */
  processes(): { pid: number; comm: string }[];
  /** sshd's own log (it runs with -e). */
  log(): string;
  /** True while the listening sshd runs. */
  readonly running: boolean;
  /** SIGKILLs sshd and every process under it at once, like a machine dying; `stop()` still cleans up. */
  kill(): Promise<void>;
  /** Ends sshd and its sessions by pid, deletes the login user and the directory. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Starts a private OpenSSH sshd on a loopback address: its own config, host key,
 * authorized_keys, pid file and login user with a fresh home directory. Needs root.
 */
export async function startSshd(options: StartSshdOptions): Promise<SshdHandle> {
  if (typeof options?.address !== 'string' || !/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(options.address)) {
    throw new Error(
      `startSshd: address must be a 127.x.x.x loopback address, got ${JSON.stringify(options?.address)}`,
    );
  }
  if (process.getuid?.() !== 0) throw new Error('startSshd: must run as root (sshd and useradd need it)');
  await ensureSshdInstalled();
  const hostKey = options.hostKey ?? (await generateSshKey(options.hostKeyType ?? 'ed25519'));
  const dir = mkdtempSync(join(tmpdir(), 'workerkit-sshd-'));
  chmodSync(dir, 0o755);
  const homeDir = join(dir, 'home');
  mkdirSync(homeDir, { mode: 0o755 });
  const tmpDir = join(dir, 'tmp');
  mkdirSync(tmpDir);
  chmodSync(tmpDir, 0o1777);
  const paths = {
    config: join(dir, 'sshd_config'),
    hostKey: join(dir, 'host_key'),
    authorizedKeys: join(dir, 'authorized_keys'),
    pidFile: join(dir, 'sshd.pid'),
    log: join(dir, 'sshd.log'),
    tmpDir,
  };
  writeFileSync(paths.hostKey, hostKey.privateKey, { mode: 0o600 });
  writeFileSync(`${paths.hostKey}.pub`, `${hostKey.publicKey}\n`, { mode: 0o644 });
  writeFileSync(
    paths.authorizedKeys,
    (options.authorizedKeys ?? []).map((line) => `${line.trim()}\n`).join(''),
    { mode: 0o600 },
  );
  let user: string | undefined;
  try {
    user = await createLoginUser(homeDir, options.password, options.user);
    const deadline = Date.now() + (options.startTimeoutMs ?? 20_000);
    for (let attempt = 1; ; attempt++) {
      const port = options.port ?? (await freePort(options.address));
      writeFileSync(paths.config, sshdConfig({ ...options, port, user, paths }));
      const child = spawnSshd(paths.config, paths.log);
      const started = await waitListening(child, paths.pidFile, options.address, port, deadline);
      if (started === 'listening') {
        return makeHandle({ child, host: options.address, port, user, dir, homeDir, hostKey, paths });
      }
      const log = readLog(paths.log);
      // Another process took the port between picking and binding: pick again.
      if (options.port === undefined && attempt < 5 && /Address already in use/.test(log)) continue;
      throw new Error(`startSshd: sshd on ${options.address}:${port} ${started}; its log:\n${log}`);
    }
  } catch (error) {
    if (user) await deleteLoginUser(user).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

function sshdConfig({
  address,
  port,
  user,
  password,
  extraConfig,
  paths,
}: StartSshdOptions & {
  port: number;
  user: string;
  paths: { hostKey: string; pidFile: string; authorizedKeys: string; tmpDir: string };
}): string {
  const extra = [...(extraConfig ?? [])];
  const match = extra.findIndex((line) => /^\s*Match\s/i.test(line));
  const [overrides, matchBlocks] = match === -1 ? [extra, []] : [extra.slice(0, match), extra.slice(match)];
  return [
    ...overrides,
    `ListenAddress ${address}`,
    `Port ${port}`,
    `HostKey ${paths.hostKey}`,
    `PidFile ${paths.pidFile}`,
    `AuthorizedKeysFile ${paths.authorizedKeys}`,
    `AllowUsers ${user}`,
    `PasswordAuthentication ${password === undefined ? 'no' : 'yes'}`,
    // The login user is uid 0.
    'PermitRootLogin yes',
    'LogLevel VERBOSE',
    ...PRIVATE_SSHD_DEFAULTS,
    // Each instance has its own temp dir, removed with it, like a machine's /tmp.
    `SetEnv TMPDIR=${paths.tmpDir}`,
    'Subsystem sftp internal-sftp',
    ...matchBlocks,
    '',
  ].join('\n');
}

function spawnSshd(configPath: string, logPath: string): ChildProcess {
  const log = openSync(logPath, 'a');
  try {
    return spawn(SSHD_PATH, ['-D', '-e', '-f', configPath], { stdio: ['ignore', log, log] });
  } finally {
    closeSync(log);
  }
}

async function waitListening(
  child: ChildProcess,
  pidFile: string,
  address: string,
  port: number,
  deadline: number,
): Promise<'listening' | string> {
  let exited: string | undefined;
  child.once('exit', (code, signal) => {
    exited = `exited (${signal ?? `status ${code}`})`;
  });
  child.once('error', (error) => {
    exited = `failed to start: ${error.message}`;
  });
  while (Date.now() < deadline) {
    if (exited) return exited;
    // sshd writes its pid file once it listens: that tells our sshd from another one on the port.
    if (readPid(pidFile) === child.pid && (await canConnect(address, port))) return exited ?? 'listening';
    await delay(20);
  }
  child.kill('SIGKILL');
  return 'did not accept connections in time';
}

function readPid(path: string): number | undefined {
  try {
    return Number(readFileSync(path, 'utf8').trim());
  } catch {
    return undefined;
  }
}

function readLog(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '(no log)';
  }
}

function makeHandle({
  child,
  host,
  port,
  user,
  dir,
  homeDir,
  hostKey,
  paths,
}: {
  child: ChildProcess;
  host: string;
  port: number;
  user: string;
  dir: string;
  homeDir: string;
  hostKey: SshdHostKey;
  paths: { config: string; log: string; tmpDir: string };
}): SshdHandle {
  const pid = child.pid!;
  let running = true;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      running = false;
      resolve();
    });
  });
  let stopping: Promise<void> | undefined;

  const waitExit = async (ms: number) => {
    await Promise.race([exited, delay(ms)]);
  };

  const kill = async () => {
    if (!running) return;
    killSshdTree(pid);
    await waitExit(5000);
  };

  const stop = () => {
    stopping ??= (async () => {
      const tree = descendantsOf(pid).map((p) => p.pid);
      if (running) {
        signalPids([pid, ...tree], 'SIGTERM');
        await waitExit(2000);
      }
      const left = [pid, ...tree].filter((p) => (p === pid ? running : isProcessAlive(p)));
      if (left.length > 0) {
        signalPids(left, 'SIGKILL');
        await waitExit(2000);
      }
      await deleteLoginUser(user);
      rmSync(dir, { recursive: true, force: true });
    })();
    return stopping;
  };

  return {
    host,
    port,
    pid,
    user,
    homeDir,
    dir,
    tmpDir: paths.tmpDir,
    hostKeyFingerprint: hostKey.fingerprint,
    hostPublicKey: hostKey.publicKey,
    hostKeyType: hostKey.type,
    configPath: paths.config,
    get running() {
      return running;
    },
    processes: () => (running ? descendantsOf(pid) : []),
    log: () => readLog(paths.log),
    kill,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

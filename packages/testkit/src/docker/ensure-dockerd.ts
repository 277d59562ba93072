import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

/** A reachable Docker Engine: one that already ran, or a private one started for the tests. */
export interface DockerdHandle {
  /** The daemon's unix socket. */
  socketPath: string;
  /** `unix://<socketPath>`, for `docker -H` and the backend's `ENDPOINT`. */
  host: string;
  /** True when `ensureDockerd` started this daemon (and `stop` ends it). */
  private: boolean;
  /** The private daemon's pid (undefined for an existing daemon). */
  pid: number | undefined;
  /** Ends a private daemon (by its pid) and deletes its directory; does nothing for an existing one. */
  stop(): Promise<void>;
}

export interface EnsureDockerdOptions {
  /** Directory for a private daemon (socket, data root, exec root, pid file, log); default: a new temp dir. */
  dir?: string;
  /** How long a private daemon may take to answer (default 60 s). */
  startTimeoutMs?: number;
  /** Use only a private daemon, even if one answers at `DOCKER_HOST` or the default socket. */
  forcePrivate?: boolean;
  /** Install `docker.io` and `busybox-static` with apt-get when missing (default true; needs root). */
  install?: boolean;
  /** More dockerd arguments for a private daemon (say `-H tcp://127.0.0.1:<port>` with `--tlsverify …`). */
  extraArgs?: readonly string[];
}

const DEFAULT_SOCKET = '/var/run/docker.sock';

/** Answers whether a Docker Engine replies to `GET /_ping` on a unix socket. */
export function pingDocker(socketPath: string, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    if (!existsSync(socketPath)) return resolve(false);
    const req = request({ socketPath, path: '/_ping', method: 'GET', timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(false));
    req.end();
  });
}

function onPath(binary: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${binary}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function isStaticBusybox(): boolean {
  for (const candidate of ['/bin/busybox', '/usr/bin/busybox']) {
    if (!existsSync(candidate)) continue;
    const head = readFileSync(candidate).subarray(0, 4096);
    // A static binary has no program interpreter (PT_INTERP names ld-linux).
    if (!head.includes('ld-linux')) return true;
  }
  return false;
}

/** Installs what a private daemon and the test images need (Debian, as root). */
export function installDockerPackages(): void {
  const missing: string[] = [];
  if (!onPath('dockerd')) missing.push('docker.io');
  if (!isStaticBusybox()) missing.push('busybox-static');
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0 || !onPath('apt-get')) {
    throw new Error(
      `ensureDockerd: ${missing.join(' and ')} missing; install them (Debian: apt-get install ${missing.join(' ')})`,
    );
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { stdio: 'ignore', env });
}

function candidateSockets(): string[] {
  const host = process.env.DOCKER_HOST;
  if (host?.startsWith('unix://')) return [host.slice('unix://'.length)];
  if (host) return [];
  return [DEFAULT_SOCKET];
}

/**
 * A Docker Engine for tests: the one at `DOCKER_HOST` (unix sockets only) or the default socket
 * when it answers; otherwise a private `dockerd` with its own socket, data root, exec root and
 * pid file under a temp dir, with `--bridge=none --iptables=false` (containers then use network
 * `none` or `host`), installing `docker.io`/`busybox-static` first when missing.
 */
export async function ensureDockerd(options: EnsureDockerdOptions = {}): Promise<DockerdHandle> {
  if (!options.forcePrivate) {
    for (const socketPath of candidateSockets()) {
      if (await pingDocker(socketPath)) {
        return {
          socketPath,
          host: `unix://${socketPath}`,
          private: false,
          pid: undefined,
          stop: async () => {},
        };
      }
    }
  }
  if (options.install !== false) installDockerPackages();
  return startPrivateDockerd(options);
}

async function startPrivateDockerd(options: EnsureDockerdOptions): Promise<DockerdHandle> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'workerkit-dockerd-'));
  const ownDir = options.dir === undefined;
  const socketPath = join(dir, 'docker.sock');
  const pidFile = join(dir, 'docker.pid');
  const logFd = openSync(join(dir, 'dockerd.log'), 'a');
  let child: ChildProcess;
  try {
    child = spawn(
      'dockerd',
      [
        '--host',
        `unix://${socketPath}`,
        '--data-root',
        join(dir, 'data'),
        '--exec-root',
        join(dir, 'exec'),
        '--pidfile',
        pidFile,
        '--bridge=none',
        '--iptables=false',
        ...(options.extraArgs ?? []),
      ],
      { stdio: ['ignore', logFd, logFd] },
    );
  } finally {
    closeSync(logFd);
  }
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      resolve();
    });
    child.once('error', () => {
      exited = true;
      resolve();
    });
  });
  const pid = child.pid;
  const stop = async () => {
    if (!exited && pid !== undefined) {
      process.kill(pid, 'SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const ended = await Promise.race([
        exit.then(() => true),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(false), 20_000);
        }),
      ]);
      clearTimeout(timer);
      if (!ended) {
        process.kill(pid, 'SIGKILL');
        await exit;
      }
    }
    if (ownDir) rmWithRetry(dir);
  };
  const deadline = Date.now() + (options.startTimeoutMs ?? 60_000);
  while (!(await pingDocker(socketPath))) {
    if (exited || Date.now() > deadline) {
      const log = safeRead(join(dir, 'dockerd.log')).slice(-2000);
      await stop();
      throw new Error(
        `ensureDockerd: the private dockerd ${exited ? 'exited' : 'did not answer in time'}:\n${log}`,
      );
    }
    await delay(100);
  }
  return { socketPath, host: `unix://${socketPath}`, private: true, pid, stop };
}

function safeRead(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** Mount points under `dir` (dockerd leaves its `exec/netns/default` nsfs mount behind), deepest first. */
function mountsUnder(dir: string): string[] {
  const mounts = safeRead('/proc/self/mounts')
    .split('\n')
    .map((line) => line.split(' ')[1]?.replace(/\\040/g, ' '))
    .filter(
      (point): point is string => point !== undefined && (point === dir || point.startsWith(`${dir}/`)),
    );
  return mounts.sort((a, b) => b.length - a.length);
}

function rmWithRetry(dir: string): void {
  for (const point of mountsUnder(dir)) {
    try {
      execFileSync('umount', ['-l', point], { stdio: 'ignore' });
    } catch {
      // Not ours to unmount, or gone already: the removal below reports what is left.
    }
  }
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      rmSync(dir, { recursive: true, force: true });
      return;
    } catch {
      // A mount may still be going away after the daemon exited.
      execFileSync('sleep', ['0.2']);
    }
  }
}

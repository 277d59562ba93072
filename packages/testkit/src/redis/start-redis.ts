import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { freePort } from '../sshd/free-port.js';
import { isProcessAlive } from '../sshd/process-tree.js';
import { ensureRedisInstalled, REDIS_SERVER_PATH } from './ensure-redis-installed.js';

const run = promisify(execFile);

export interface StartRedisOptions {
  /** Clients must AUTH with this password (`requirepass`). */
  password?: string;
  /**
   * Serve TLS only (a self-signed certificate for 127.0.0.1 made with openssl); the handle's
   * `url` is then `rediss://…` and `caCertificate` is what a client must trust.
   */
  tls?: boolean;
  /** Give up waiting for the server to answer after this long (default 20 s). */
  readyTimeoutMs?: number;
}

/** A private redis-server on 127.0.0.1 and a free port, with its own directory; stopped by pid. */
export interface RedisHandle {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** `redis://127.0.0.1:<port>` (or `rediss://`, with the password when one is set). */
  readonly url: string;
  readonly dir: string;
  /** PEM of the self-signed certificate when started with `tls`. */
  readonly caCertificate: string | undefined;
  /** The running server's pid (changes on `restart`); undefined while it is down. */
  readonly pid: number | undefined;
  /** Sends `signal` (default SIGKILL: a crash) and waits until the process is gone. Data is lost. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts the server again on the same port and directory (after `kill`); it comes back empty. */
  restart(): Promise<void>;
  /** Freezes the server (SIGSTOP): connections stay open but nothing is answered — a hung Redis. */
  freeze(): void;
  /** Undoes `freeze` (SIGCONT). */
  thaw(): void;
  /** Stops the server for good and removes its directory. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Starts a private redis-server (`--save '' --appendonly no --daemonize yes --pidfile`). */
export async function startRedis(options: StartRedisOptions = {}): Promise<RedisHandle> {
  await ensureRedisInstalled();
  const dir = await mkdtemp(join(tmpdir(), 'workerkit-redis-'));
  const port = await freePort('127.0.0.1');
  const pidFile = join(dir, 'redis.pid');
  const readyTimeoutMs = options.readyTimeoutMs ?? 20_000;
  let caCertificate: string | undefined;
  if (options.tls) caCertificate = await makeCertificate(dir);

  const args = [
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--dir',
    dir,
    '--daemonize',
    'yes',
    '--pidfile',
    pidFile,
    '--logfile',
    join(dir, 'redis.log'),
    ...(options.password ? ['--requirepass', options.password] : []),
    ...(options.tls
      ? [
          '--port',
          '0',
          '--tls-port',
          String(port),
          '--tls-cert-file',
          join(dir, 'cert.pem'),
          '--tls-key-file',
          join(dir, 'key.pem'),
          '--tls-ca-cert-file',
          join(dir, 'cert.pem'),
          '--tls-auth-clients',
          'no',
        ]
      : ['--port', String(port)]),
  ];

  let pid: number | undefined;
  let stopped = false;

  const launch = async (): Promise<void> => {
    await rm(pidFile, { force: true });
    await run(REDIS_SERVER_PATH, args, { timeout: readyTimeoutMs });
    pid = await readPid(pidFile, readyTimeoutMs);
    await waitUntilServing(port, options.password, options.tls === true, readyTimeoutMs);
  };

  const kill = async (signal: NodeJS.Signals = 'SIGKILL'): Promise<void> => {
    const target = pid;
    if (target === undefined) return;
    try {
      process.kill(target, 'SIGCONT');
      process.kill(target, signal);
    } catch {
      // already gone
    }
    const deadline = Date.now() + 20_000;
    while (isProcessAlive(target)) {
      if (Date.now() > deadline) throw new Error(`redis harness: pid ${target} survived ${signal}`);
      await delay(20);
    }
    pid = undefined;
  };

  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  };

  try {
    await launch();
  } catch (error) {
    await stop();
    throw error;
  }

  const scheme = options.tls ? 'rediss' : 'redis';
  const auth = options.password ? `:${encodeURIComponent(options.password)}@` : '';
  return {
    host: '127.0.0.1',
    port,
    url: `${scheme}://${auth}127.0.0.1:${port}`,
    dir,
    caCertificate,
    get pid() {
      return pid;
    },
    kill,
    async restart() {
      if (stopped) throw new Error('redis harness: restart after stop');
      await kill('SIGKILL');
      await launch();
    },
    freeze() {
      if (pid !== undefined) process.kill(pid, 'SIGSTOP');
    },
    thaw() {
      if (pid !== undefined) process.kill(pid, 'SIGCONT');
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

async function makeCertificate(dir: string): Promise<string> {
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    join(dir, 'key.pem'),
    '-out',
    join(dir, 'cert.pem'),
    '-days',
    '2',
    '-subj',
    '/CN=127.0.0.1',
    '-addext',
    'subjectAltName=IP:127.0.0.1',
  ]);
  return readFile(join(dir, 'cert.pem'), 'utf8');
}

async function readPid(pidFile: string, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const pid = Number((await readFile(pidFile, 'utf8')).trim());
      if (Number.isInteger(pid) && pid > 0) return pid;
    } catch {
      // not written yet
    }
    if (Date.now() > deadline) throw new Error(`redis harness: no pid in ${pidFile} after ${timeoutMs} ms`);
    await delay(20);
  }
}

/** Waits until the server answers PING (over TLS when it serves TLS). */
async function waitUntilServing(
  port: number,
  password: string | undefined,
  useTls: boolean,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await answers(port, password, useTls))) {
    if (Date.now() > deadline)
      throw new Error(`redis harness: 127.0.0.1:${port} not serving after ${timeoutMs} ms`);
    await delay(25);
  }
}

function answers(port: number, password: string | undefined, useTls: boolean): Promise<boolean> {
  return new Promise((resolve) => {
    // The probe only asks whether the server answers; the certificate is the client's business.
    const socket = useTls
      ? tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false })
      : net.connect({ host: '127.0.0.1', port });
    let received = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once(useTls ? 'secureConnect' : 'connect', () => {
      socket.write(password ? `AUTH ${password}\r\nPING\r\n` : 'PING\r\n');
    });
    socket.on('data', (chunk) => {
      received += String(chunk);
      if (received.includes('+PONG')) done(true);
      else if (received.startsWith('-')) done(false);
    });
  });
}

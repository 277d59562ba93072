import type { Client, ConnectConfig } from 'ssh2';
import type { Ssh2Credentials } from './auth.js';
import type { HostKeyCheck } from './host-key.js';
import { HostKeyMismatchError, SshAuthenticationError, SshHandshakeError } from './ssh-errors.js';
import type { SshAlgorithms } from './ssh-types.js';
import { ssh2Module } from './ssh2-module.js';

/**
 * An attempt failed in a way that a later attempt may not: the port is closed, the handshake
 * timed out or was reset, the host key is not published yet. `cause` holds the underlying error.
 */
export class NotUpYetError extends Error {
  override readonly name = 'NotUpYetError';
}

export interface DialOptions {
  host: string;
  port: number;
  username: string;
  credentials: Ssh2Credentials;
  check: HostKeyCheck;
  timeoutMs: number;
  keepaliveIntervalMs: number;
  keepaliveCountMax: number;
  algorithms: SshAlgorithms | undefined;
  signal: AbortSignal | undefined;
}

/** Socket errors that mean "nobody is listening yet" or "the server went away mid-handshake". */
const TRANSIENT_SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'EAI_AGAIN',
]);

/** One TCP connect + SSH handshake + authentication, bounded by `timeoutMs`. */
export function dial(options: DialOptions): Promise<Client> {
  const { host, port, check, signal } = options;
  return new Promise<Client>((resolve, reject) => {
    signal?.throwIfAborted();
    const client = new (ssh2Module().Client)();
    let settled = false;
    const settle = (error: unknown) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      if (error === undefined) return resolve(client);
      client.removeListener('ready', onReady);
      client.destroy();
      reject(error);
    };
    const onReady = () => settle(undefined);
    const onAbort = () => settle(signal!.reason);
    client.once('ready', onReady);
    // Stays attached for the client's life: ssh2 emits 'error' on a dead socket, which must never be unhandled.
    client.on('error', (error: Error & { level?: string; code?: string }) =>
      settle(classify(error, options)),
    );
    client.once('close', () =>
      settle(
        check.rejected ? mismatch(options) : new NotUpYetError('connection closed during the handshake'),
      ),
    );
    signal?.addEventListener('abort', onAbort, { once: true });
    const config: ConnectConfig = {
      host,
      port,
      username: options.username,
      ...options.credentials,
      readyTimeout: options.timeoutMs,
      keepaliveInterval: options.keepaliveIntervalMs,
      keepaliveCountMax: options.keepaliveCountMax,
      hostVerifier: (key: Buffer) => check.verify(key),
      tryKeyboard: false,
      agent: undefined,
    };
    const algorithms = {
      ...options.algorithms,
      ...(check.serverHostKeyAlgorithms ? { serverHostKey: check.serverHostKeyAlgorithms } : {}),
    };
    if (Object.keys(algorithms).length > 0) config.algorithms = algorithms as ConnectConfig['algorithms'];
    try {
      client.connect(config);
      // SSH is many small request/reply exchanges (handshake, channel opens, SFTP calls): with
      // Nagle's algorithm each can wait ~40 ms for a delayed ACK.
      client.setNoDelay(true);
    } catch (error) {
      settle(error);
    }
  });
}

function classify(error: Error & { level?: string; code?: string }, options: DialOptions): Error {
  const { host, port } = options;
  if (options.check.rejected) return mismatch(options, error);
  if (error.level === 'client-authentication') {
    return new SshAuthenticationError({ host, port, username: options.username, cause: error });
  }
  if (error.level === 'client-timeout') {
    return new NotUpYetError(`no SSH handshake within ${options.timeoutMs} ms`, {
      cause: error,
    });
  }
  if (error.level === 'client-socket') {
    if (error.code === undefined || TRANSIENT_SOCKET_CODES.has(error.code)) {
      return new NotUpYetError(error.message, { cause: error });
    }
    return error;
  }
  if (/no matching host key format/i.test(error.message) && options.check.serverHostKeyAlgorithms) {
    return mismatch(options, error);
  }
  if (/^Handshake failed: no matching/i.test(error.message)) {
    return new SshHandshakeError({ host, port, cause: error });
  }
  // A protocol error while sshd is still starting (or being reset) is worth another attempt.
  return new NotUpYetError(error.message, { cause: error });
}

function mismatch(options: DialOptions, cause?: unknown): HostKeyMismatchError {
  return new HostKeyMismatchError({
    host: options.host,
    port: options.port,
    presented: options.check.presented,
    expected: options.check.expected,
    cause,
  });
}

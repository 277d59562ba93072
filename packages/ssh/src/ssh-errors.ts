import { hasMarker, markerSymbol, TraceNotFoundError, WorkerkitError } from '@workerkit/core';

const sshSymbol = markerSymbol('SshError');

/** The base of every error about one SSH server; `host` and `port` say which one. */
export class SshError extends WorkerkitError {
  // biome-ignore lint/correctness/noUnusedPrivateClassMembers: the marker is read by hasMarker() in isInstance
  private readonly [sshSymbol] = true;
  override readonly name: string = 'SshError';
  readonly host: string;
  readonly port: number;

  constructor({
    host,
    port,
    message,
    cause,
  }: { host: string; port: number; message: string; cause?: unknown }) {
    super({ message, cause });
    this.host = host;
    this.port = port;
  }

  static override isInstance(error: unknown): error is SshError {
    return hasMarker(error, sshSymbol);
  }
}

const authSymbol = markerSymbol('SshAuthenticationError');

/** The server rejected every credential offered. Retrying will not help: fails at once. */
export class SshAuthenticationError extends SshError {
  // biome-ignore lint/correctness/noUnusedPrivateClassMembers: the marker is read by hasMarker() in isInstance
  private readonly [authSymbol] = true;
  override readonly name = 'SshAuthenticationError';
  readonly username: string;

  constructor({
    host,
    port,
    username,
    cause,
  }: { host: string; port: number; username: string; cause?: unknown }) {
    super({
      host,
      port,
      message: `ssh ${username}@${host}:${port}: authentication rejected (the server did not accept the key or password given)`,
      cause,
    });
    this.username = username;
  }

  static override isInstance(error: unknown): error is SshAuthenticationError {
    return hasMarker(error, authSymbol);
  }
}

const mismatchSymbol = markerSymbol('HostKeyMismatchError');

/** The server presented a host key other than the expected one: possibly an impostor. Fails at once. */
export class HostKeyMismatchError extends SshError {
  // biome-ignore lint/correctness/noUnusedPrivateClassMembers: the marker is read by hasMarker() in isInstance
  private readonly [mismatchSymbol] = true;
  override readonly name = 'HostKeyMismatchError';
  /** `SHA256:…` of the key the server presented (undefined when no key type matched). */
  readonly presented: string | undefined;
  readonly expected: readonly string[];

  constructor({
    host,
    port,
    presented,
    expected,
    cause,
  }: {
    host: string;
    port: number;
    presented: string | undefined;
    expected: readonly string[];
    cause?: unknown;
  }) {
    const got = presented === undefined ? 'no host key of an expected type' : `host key ${presented}`;
    super({
      host,
      port,
      message: `ssh ${host}:${port}: host key verification failed: the server presented ${got}, expected ${expected.join(' or ')}`,
      cause,
    });
    this.presented = presented;
    this.expected = expected;
  }

  static override isInstance(error: unknown): error is HostKeyMismatchError {
    return hasMarker(error, mismatchSymbol);
  }
}

const notReadySymbol = markerSymbol('SshNotReadyError');

/**
 * The server did not accept SSH before the readiness deadline (connection refused, timed out,
 * reset during the handshake, host key not published yet). `cause` is the last attempt's error.
 */
export class SshNotReadyError extends SshError {
  // biome-ignore lint/correctness/noUnusedPrivateClassMembers: the marker is read by hasMarker() in isInstance
  private readonly [notReadySymbol] = true;
  override readonly name = 'SshNotReadyError';
  readonly attempts: number;
  readonly elapsedMs: number;

  constructor({
    host,
    port,
    attempts,
    elapsedMs,
    cause,
  }: {
    host: string;
    port: number;
    attempts: number;
    elapsedMs: number;
    cause?: unknown;
  }) {
    const last = cause instanceof Error ? `: ${cause.message}` : '';
    super({
      host,
      port,
      message: `ssh ${host}:${port}: not ready after ${(elapsedMs / 1000).toFixed(1)} s and ${attempts} attempt${attempts === 1 ? '' : 's'}${last}`,
      cause,
    });
    this.attempts = attempts;
    this.elapsedMs = elapsedMs;
  }

  static override isInstance(error: unknown): error is SshNotReadyError {
    return hasMarker(error, notReadySymbol);
  }
}

const handshakeSymbol = markerSymbol('SshHandshakeError');

/** Client and server share no key exchange, cipher, MAC or host key algorithm. Fails at once. */
export class SshHandshakeError extends SshError {
  // biome-ignore lint/correctness/noUnusedPrivateClassMembers: the marker is read by hasMarker() in isInstance
  private readonly [handshakeSymbol] = true;
  override readonly name = 'SshHandshakeError';

  constructor({ host, port, cause }: { host: string; port: number; cause?: unknown }) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    super({ host, port, message: `ssh ${host}:${port}: handshake failed: ${detail}`, cause });
  }

  static override isInstance(error: unknown): error is SshHandshakeError {
    return hasMarker(error, handshakeSymbol);
  }
}

const closedSymbol = markerSymbol('SshConnectionClosedError');

/** The connection was closed (by `close()`, the server, or a dropped network) before the call finished. */
export class SshConnectionClosedError extends SshError {
  // biome-ignore lint/correctness/noUnusedPrivateClassMembers: the marker is read by hasMarker() in isInstance
  private readonly [closedSymbol] = true;
  override readonly name = 'SshConnectionClosedError';

  constructor({
    host,
    port,
    operation,
    cause,
  }: { host: string; port: number; operation: string; cause?: unknown }) {
    const detail = cause instanceof Error ? `: ${cause.message}` : '';
    super({
      host,
      port,
      message: `ssh ${host}:${port}: connection closed during ${operation}${detail}`,
      cause,
    });
  }

  static override isInstance(error: unknown): error is SshConnectionClosedError {
    return hasMarker(error, closedSymbol);
  }
}

const sftpSymbol = markerSymbol('SshSftpError');

/** An SFTP operation failed on the server (permission denied, disk full, …). */
export class SshSftpError extends SshError {
  // biome-ignore lint/correctness/noUnusedPrivateClassMembers: the marker is read by hasMarker() in isInstance
  private readonly [sftpSymbol] = true;
  override readonly name = 'SshSftpError';
  readonly path: string;
  readonly operation: string;

  constructor({
    host,
    port,
    path,
    operation,
    cause,
  }: {
    host: string;
    port: number;
    path: string;
    operation: string;
    cause?: unknown;
  }) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    super({ host, port, message: `ssh ${host}:${port}: sftp ${operation} ${path} failed: ${detail}`, cause });
    this.path = path;
    this.operation = operation;
  }

  static override isInstance(error: unknown): error is SshSftpError {
    return hasMarker(error, sftpSymbol);
  }
}

const notFoundSymbol = markerSymbol('SshFileNotFoundError');

/**
 * `download` of a file that does not exist. It is a `TraceNotFoundError`, so a backend's
 * `downloadTrace` can let it through unchanged.
 */
export class SshFileNotFoundError extends TraceNotFoundError {
  // biome-ignore lint/correctness/noUnusedPrivateClassMembers: the marker is read by hasMarker() in isInstance
  private readonly [notFoundSymbol] = true;
  override readonly name = 'SshFileNotFoundError';
  readonly host: string;
  readonly port: number;
  readonly path: string;

  constructor({ host, port, path, cause }: { host: string; port: number; path: string; cause?: unknown }) {
    super({ path, cause });
    this.message = `ssh ${host}:${port}: no such file: ${path}`;
    this.host = host;
    this.port = port;
    this.path = path;
  }

  static override isInstance(error: unknown): error is SshFileNotFoundError {
    return hasMarker(error, notFoundSymbol);
  }
}

const optionsSymbol = markerSymbol('SshOptionsError');

/** An option passed to this package is malformed; the message names it, the value and what is expected. */
export class SshOptionsError extends WorkerkitError {
  // biome-ignore lint/correctness/noUnusedPrivateClassMembers: the marker is read by hasMarker() in isInstance
  private readonly [optionsSymbol] = true;
  override readonly name = 'SshOptionsError';
  readonly option: string;
  readonly expected: string;

  constructor({
    option,
    got,
    expected,
    cause,
  }: { option: string; got: string; expected: string; cause?: unknown }) {
    super({ message: `invalid ${option}: got ${got}, expected ${expected}`, cause });
    this.option = option;
    this.expected = expected;
  }

  static override isInstance(error: unknown): error is SshOptionsError {
    return hasMarker(error, optionsSymbol);
  }
}

import { type Logger, StaleVmError } from '@workerkit/core';
import type { Client, SFTPWrapper } from 'ssh2';
import { type RunHost, remoteTemp, runRemote } from './remote-run.js';
import { SFTP_NO_SUCH_FILE, SftpSession, sftpStatus } from './sftp-session.js';
import {
  SshConnectionClosedError,
  SshFileNotFoundError,
  SshOptionsError,
  SshSftpError,
} from './ssh-errors.js';
import type { SshConnection, SshRunOptions, UploadOptions } from './ssh-types.js';

const CLEANUP_TIMEOUT_MS = 2000;

/** An authenticated ssh2 connection: SFTP transfers and streaming runs. Made by `connect()`. */
export class Ssh2Connection implements SshConnection, RunHost {
  readonly client: Client;
  readonly host: string;
  readonly port: number;
  readonly hostKeyFingerprint: string;
  readonly logger: Logger;
  #closed = false;
  #closeCause: Error | undefined;
  #closedListeners = new Set<(cause: Error | undefined) => void>();
  #garbage: string[] = [];
  #closing: Promise<void> | undefined;

  constructor({
    client,
    host,
    port,
    hostKeyFingerprint,
    logger,
  }: {
    client: Client;
    host: string;
    port: number;
    hostKeyFingerprint: string;
    logger: Logger;
  }) {
    this.client = client;
    this.host = host;
    this.port = port;
    this.hostKeyFingerprint = hostKeyFingerprint;
    this.logger = logger;
    client.on('error', (error: Error) => {
      this.#closeCause ??= error;
      logger.debug('ssh: connection error', { host, port, error: error.message });
    });
    const onGone = () => this.#markClosed();
    client.on('end', onGone);
    client.on('close', onGone);
  }

  get closed(): boolean {
    return this.#closed;
  }

  onClosed(listener: (cause: Error | undefined) => void): () => void {
    if (this.#closed) {
      listener(this.#closeCause);
      return () => {};
    }
    this.#closedListeners.add(listener);
    return () => this.#closedListeners.delete(listener);
  }

  addRemoteGarbage(path: string): void {
    this.#garbage.push(path);
  }

  takeRemoteGarbage(): string[] {
    const taken = this.#garbage;
    this.#garbage = [];
    return taken;
  }

  run(command: string, options: SshRunOptions) {
    return runRemote(this, command, options);
  }

  async upload(path: string, content: string | Uint8Array, options: UploadOptions = {}): Promise<void> {
    checkPath(path);
    const mode = options.mode ?? 0o755;
    if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) {
      throw new SshOptionsError({
        option: 'mode',
        got: String(mode),
        expected: 'a file mode between 0 and 0o7777',
      });
    }
    if (typeof content !== 'string' && !(content instanceof Uint8Array)) {
      throw new SshOptionsError({ option: 'content', got: typeof content, expected: 'a string or bytes' });
    }
    const data =
      typeof content === 'string'
        ? Buffer.from(content)
        : Buffer.from(content.buffer, content.byteOffset, content.byteLength);
    const { signal } = options;
    // Graceful: on abort the body winds down itself (stops writing, removes the partial file)
    // within the same SFTP session, so no request of it can land after the cleanup.
    await this.#withSftp(
      'upload',
      path,
      signal,
      async (sftp) => {
        let handle: Buffer;
        try {
          // O_CREAT|O_EXCL ('wx'): fails if anything is at the path (even a dangling symlink), in
          // one round trip and without a race between checking and creating.
          handle = await sftp.open(path, options.overwrite ? 'w' : 'wx', mode);
        } catch (error) {
          if (!options.overwrite && (await sftp.lstat(path).catch(() => undefined)) !== undefined) {
            throw this.#stale(path);
          }
          throw this.#sftpError('open', path, error);
        }
        try {
          signal?.throwIfAborted();
          // Pipelined: the server handles requests in order, so the replies come back together.
          await Promise.all([
            data.length > 0
              ? this.#sftpCall('write', path, () => sftp.writeAll(handle, data, signal))
              : undefined,
            this.#sftpCall('chmod', path, () => sftp.fchmod(handle, mode)),
          ]);
        } catch (error) {
          // A half-written script must not be left behind: it would later look like a stale machine.
          await sftp.close(handle).catch(() => {});
          await sftp.unlink(path).catch((unlinkError: unknown) => {
            this.logger.warn('ssh: could not remove a partly uploaded file', {
              host: this.host,
              port: this.port,
              path,
              error: unlinkError instanceof Error ? unlinkError.message : String(unlinkError),
            });
          });
          throw signal?.aborted ? signal.reason : error;
        }
        await sftp.close(handle).catch(() => {});
      },
      { graceful: true },
    );
  }

  async download(path: string, options: { signal?: AbortSignal } = {}): Promise<Buffer> {
    checkPath(path);
    return this.#withSftp('download', path, options.signal, async (sftp) => {
      let handle: Buffer;
      try {
        handle = await sftp.open(path, 'r');
      } catch (error) {
        if (sftpStatus(error) === SFTP_NO_SUCH_FILE) {
          throw new SshFileNotFoundError({ host: this.host, port: this.port, path, cause: error });
        }
        throw this.#sftpError('open', path, error);
      }
      try {
        return await this.#sftpCall('read', path, () => sftp.readAll(handle));
      } finally {
        await sftp.close(handle).catch(() => {});
      }
    });
  }

  /** Deletes the run pid files left behind, then ends the connection. Safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #close(): Promise<void> {
    const garbage = this.takeRemoteGarbage();
    if (!this.#closed && garbage.length > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, CLEANUP_TIMEOUT_MS);
        const done = () => {
          clearTimeout(timer);
          resolve();
        };
        this.client.exec(`rm -f ${garbage.map(remoteTemp).join(' ')}`, (error, channel) => {
          if (error) return done();
          channel.resume();
          channel.stderr.resume();
          channel.once('close', done);
          channel.end();
        });
      });
    }
    if (this.#closed) return;
    await new Promise<void>((resolve) => {
      this.client.once('close', () => resolve());
      this.client.end();
      setTimeout(() => {
        this.client.destroy();
        resolve();
      }, CLEANUP_TIMEOUT_MS).unref();
    });
    this.#markClosed();
  }

  #markClosed(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const listener of this.#closedListeners) listener(this.#closeCause);
    this.#closedListeners.clear();
  }

  async #withSftp<T>(
    operation: string,
    path: string,
    signal: AbortSignal | undefined,
    body: (sftp: SftpSession) => Promise<T>,
    { graceful = false }: { graceful?: boolean } = {},
  ): Promise<T> {
    signal?.throwIfAborted();
    if (this.#closed) {
      throw new SshConnectionClosedError({
        host: this.host,
        port: this.port,
        operation: `${operation} of ${path}`,
        cause: this.#closeCause,
      });
    }
    let sftp: SftpSession | undefined;
    let unsubscribe = () => {};
    let onAbort = () => {};
    let forced: NodeJS.Timeout | undefined;
    try {
      return await new Promise<T>((resolve, reject) => {
        const fail = (error: unknown) => {
          sftp?.end();
          reject(error);
        };
        onAbort = graceful
          ? () => {
              forced = setTimeout(() => fail(signal!.reason), CLEANUP_TIMEOUT_MS);
            }
          : () => fail(signal!.reason);
        signal?.addEventListener('abort', onAbort, { once: true });
        unsubscribe = this.onClosed((cause) =>
          fail(
            new SshConnectionClosedError({
              host: this.host,
              port: this.port,
              operation: `${operation} of ${path}`,
              cause,
            }),
          ),
        );
        this.client.sftp((error: Error | undefined, wrapper: SFTPWrapper) => {
          if (error) return fail(this.#sftpError('session for', path, error));
          sftp = new SftpSession(wrapper);
          if (signal?.aborted) return fail(signal.reason);
          body(sftp).then(resolve, fail);
        });
      });
    } finally {
      clearTimeout(forced);
      signal?.removeEventListener('abort', onAbort);
      unsubscribe();
      sftp?.end();
    }
  }

  async #sftpCall<T>(operation: string, path: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw this.#sftpError(operation, path, error);
    }
  }

  #sftpError(operation: string, path: string, cause: unknown): Error {
    if (this.#closed) {
      return new SshConnectionClosedError({
        host: this.host,
        port: this.port,
        operation: `${operation} of ${path}`,
        cause,
      });
    }
    return new SshSftpError({ host: this.host, port: this.port, path, operation, cause });
  }

  #stale(path: string): StaleVmError {
    return new StaleVmError({
      message: `previous build artifacts found on stale vm: ${path} already exists on ${this.host}:${this.port}`,
    });
  }
}

function checkPath(path: unknown): asserts path is string {
  if (typeof path !== 'string' || path === '' || path.includes('\0')) {
    throw new SshOptionsError({
      option: 'path',
      got: JSON.stringify(path),
      expected: 'a non-empty remote path (relative paths start in the login directory)',
    });
  }
}

import {
  abortable,
  abortedByTimeout,
  type OutputSink,
  type RunResult,
  type SignalOptions,
  withHardTimeout,
} from '@workerkit/core';
import { checkConnectOptions, connect } from './connect.js';
import { shellQuote } from './shell-quote.js';
import { SshConnectionClosedError, SshOptionsError } from './ssh-errors.js';
import type { SshConnection, SshScriptRunOptions, SshScriptTargetOptions } from './ssh-types.js';

const DEFAULT_SCRIPT_PATH = 'build.sh';
const DEFAULT_TRACE_PATH = '/tmp/build.trace';

/**
 * One machine reached over SSH, seen as a place to upload, run and trace a build script: the
 * shared middle of the docker (ssh mode), GCE and EC2 instances. It connects on first use,
 * waiting up to `connect.readyTimeoutMs` for the machine to accept SSH, and reconnects if the
 * connection dropped between calls.
 */
export class SshScriptTarget implements AsyncDisposable {
  readonly scriptPath: string;
  readonly command: string;
  readonly tracePath: string;
  readonly #options: SshScriptTargetOptions;
  readonly #closer = new AbortController();
  #connection: SshConnection | undefined;
  #connecting: Promise<SshConnection> | undefined;
  #closed = false;
  /** Set once a connection was made: later connects are reconnects. */
  #connectedBefore = false;

  constructor(options: SshScriptTargetOptions) {
    if (
      typeof options !== 'object' ||
      options === null ||
      typeof options.connect !== 'object' ||
      options.connect === null
    ) {
      throw new SshOptionsError({
        option: 'connect',
        got: String(options?.connect),
        expected: 'the connect options',
      });
    }
    checkConnectOptions(options.connect);
    const reconnect = options.reconnectTimeoutMs;
    if (
      reconnect !== undefined &&
      (typeof reconnect !== 'number' || !Number.isFinite(reconnect) || reconnect < 0)
    ) {
      throw new SshOptionsError({
        option: 'reconnectTimeoutMs',
        got: String(reconnect),
        expected: 'a number of ms >= 0',
      });
    }
    this.#options = options;
    this.scriptPath = nonEmpty('scriptPath', options.scriptPath ?? DEFAULT_SCRIPT_PATH);
    this.tracePath = nonEmpty('tracePath', options.tracePath ?? DEFAULT_TRACE_PATH);
    this.command = nonEmpty('command', options.command ?? defaultCommand(this.scriptPath));
  }

  /** The live connection, if one is open. */
  get connection(): SshConnection | undefined {
    return this.#connection?.closed === false ? this.#connection : undefined;
  }

  /**
   * Connects now (or returns the open connection): lets a backend wait for SSH as part of
   * `start`. Malformed connect options were already rejected by the constructor.
   */
  async connected(options: SignalOptions = {}): Promise<SshConnection> {
    if (this.#closed) {
      throw new SshConnectionClosedError({
        host: this.#options.connect.host,
        port: this.#options.connect.port ?? 22,
        operation: 'connect (the target is closed)',
      });
    }
    const open = this.connection;
    if (open) return open;
    if (!this.#connecting) {
      const signals = [this.#closer.signal, options.signal, this.#options.connect.signal].filter(
        (signal): signal is AbortSignal => signal !== undefined,
      );
      const readyTimeoutMs = this.#connectedBefore
        ? (this.#options.reconnectTimeoutMs ?? 0)
        : this.#options.connect.readyTimeoutMs;
      const connecting = connect({
        ...this.#options.connect,
        readyTimeoutMs,
        signal: AbortSignal.any(signals),
      });
      this.#connecting = connecting;
      connecting
        .then(
          (connection) => {
            this.#connection = connection;
            this.#connectedBefore = true;
            if (this.#closed) void connection.close();
          },
          () => {},
        )
        .finally(() => {
          if (this.#connecting === connecting) this.#connecting = undefined;
        });
    }
    const pending = this.#connecting;
    return abortable(pending, options.signal);
  }

  /** Uploads the build script (mode 0755); `StaleVmError` if one is there already. */
  async upload(script: string | Uint8Array, options: SignalOptions = {}): Promise<void> {
    const connection = await this.connected(options);
    await connection.upload(this.scriptPath, script, { mode: 0o755, signal: options.signal });
  }

  /**
   * Runs the script, streaming its output. Never throws for an incomplete run: a connection
   * that cannot be (re)established or drops → `connection-lost`; abort → `cancelled`, or
   * `hard-timeout` when `hardTimeoutMs` passed.
   */
  async run(output: OutputSink, options: SshScriptRunOptions = {}): Promise<RunResult> {
    const limit = withHardTimeout(options.signal, options.hardTimeoutMs);
    const { signal } = limit;
    try {
      let connection: SshConnection;
      try {
        connection = await this.connected({ signal });
      } catch (error) {
        if (signal.aborted) {
          const timeout = abortedByTimeout(signal);
          return {
            completed: false,
            reason: timeout ? 'hard-timeout' : 'cancelled',
            message: `${timeout ? 'hard timeout reached' : 'run cancelled'} while connecting`,
            outputBytes: 0,
            cause: signal.reason,
          };
        }
        if (SshConnectionClosedError.isInstance(error)) throw error;
        return {
          completed: false,
          reason: 'connection-lost',
          message: `could not connect to run the script: ${error instanceof Error ? error.message : String(error)}`,
          outputBytes: 0,
          cause: error,
        };
      }
      return await connection.run(this.command, {
        output,
        signal,
        pty: this.#options.pty ?? false,
        ...(this.#options.killGraceMs === undefined ? {} : { killGraceMs: this.#options.killGraceMs }),
      });
    } finally {
      limit.dispose();
    }
  }

  /** The build trace; `SshFileNotFoundError` (a core `TraceNotFoundError`) when the job wrote none. */
  async downloadTrace(options: SignalOptions = {}): Promise<Uint8Array> {
    const connection = await this.connected(options);
    return connection.download(this.tracePath, { signal: options.signal });
  }

  /** Closes the connection (and aborts a connect in progress). Safe to call more than once. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#closer.abort(
      new SshConnectionClosedError({
        host: this.#options.connect.host,
        port: this.#options.connect.port ?? 22,
        operation: 'connect (target closed)',
      }),
    );
    const connection = this.#connection;
    this.#connection = undefined;
    await connection?.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

function defaultCommand(scriptPath: string): string {
  return scriptPath.startsWith('/') ? `bash ${shellQuote(scriptPath)}` : `bash ~/${shellQuote(scriptPath)}`;
}

function nonEmpty(option: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new SshOptionsError({ option, got: JSON.stringify(value), expected: 'a non-empty string' });
  }
  return value;
}

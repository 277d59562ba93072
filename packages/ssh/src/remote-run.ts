import { randomUUID } from 'node:crypto';
import {
  abortedByTimeout,
  exitedBySignal,
  type IncompleteReason,
  type IncompleteRun,
  type Logger,
  OutputMeter,
  OutputWriteError,
  type RunResult,
} from '@workerkit/core';
import type { Client, ClientChannel } from 'ssh2';
import { OutputPump } from './output-pump.js';
import { shellQuote } from './shell-quote.js';
import { SshOptionsError } from './ssh-errors.js';
import type { SshRunOptions } from './ssh-types.js';

/** What a run needs from its connection. */
export interface RunHost {
  readonly client: Client;
  readonly host: string;
  readonly port: number;
  readonly logger: Logger;
  /** True once the connection dropped or was closed. */
  readonly closed: boolean;
  /** Calls `listener` when the connection drops or closes; returns the unsubscribe function. */
  onClosed(listener: (cause: Error | undefined) => void): () => void;
  /** Remembers a remote temp file to delete later (on the next run or at close). */
  addRemoteGarbage(path: string): void;
  /** Returns and forgets the remembered temp files. */
  takeRemoteGarbage(): string[];
}

const DEFAULT_KILL_GRACE_MS = 2000;
/** The longest a run waits for its kill command to be carried out before returning. */
const KILL_REQUEST_TIMEOUT_MS = 3000;

/**
 * The remote command, wrapped: its login shell writes its pid (which sshd made a session and
 * process-group leader) to a temp file and then execs the caller's command through the same
 * login shell. An abort can then kill the whole process group even where sshd ignores the SSH
 * "signal" request (OpenSSH refuses it for root logins, older servers lack it).
 */
export function wrapCommand(command: string, pidFile: string, garbage: readonly string[]): string {
  const cleanup = garbage.length > 0 ? `rm -f ${garbage.map(remoteTemp).join(' ')}; ` : '';
  return `{ ${cleanup}printf '%s\\n' "$$" > ${remoteTemp(pidFile)}; } 2>/dev/null; exec "\${SHELL:-/bin/sh}" -c ${shellQuote(command)}`;
}

/** A file in the remote temp directory (`$TMPDIR`, else /tmp), as a shell word. `name` must be shell-safe. */
export function remoteTemp(name: string): string {
  return `"\${TMPDIR:-/tmp}"/${name}`;
}

/** Sends SIGTERM to the run's process group at once, and SIGKILL `graceMs` later (server-side). */
export function killCommand(pidFile: string, graceMs: number): string {
  const file = remoteTemp(pidFile);
  const graceSeconds = Math.max(0, Math.ceil(graceMs / 1000));
  return [
    'p=; i=0',
    // The wrapper may not have written the pid yet when the abort came very early.
    `while [ "$i" -lt 40 ]; do p=$(cat ${file} 2>/dev/null); [ -n "$p" ] && break; sleep 0.05 2>/dev/null || sleep 1; i=$((i+1)); done`,
    `rm -f ${file}`,
    '[ -n "$p" ] || exit 0',
    'kill -TERM -"$p" 2>/dev/null',
    `(sleep ${graceSeconds}; kill -KILL -"$p" 2>/dev/null) </dev/null >/dev/null 2>&1 &`,
  ].join('\n');
}

export async function runRemote(host: RunHost, command: string, options: SshRunOptions): Promise<RunResult> {
  if (typeof command !== 'string' || command.trim() === '') {
    throw new SshOptionsError({
      option: 'command',
      got: JSON.stringify(command),
      expected: 'a non-empty shell command',
    });
  }
  if (typeof options?.output?.write !== 'function') {
    throw new SshOptionsError({
      option: 'output',
      got: typeof options?.output,
      expected: 'a Writable or any object with write(chunk)',
    });
  }
  const killGraceMs = options.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
  if (!Number.isFinite(killGraceMs) || killGraceMs < 0) {
    throw new SshOptionsError({
      option: 'killGraceMs',
      got: String(killGraceMs),
      expected: 'a number of ms >= 0',
    });
  }
  const { signal } = options;
  const meter = new OutputMeter(options.output);
  if (signal?.aborted) return abortedResult(signal, meter.bytes, 'before the command started');
  if (host.closed) {
    return incomplete(
      'connection-lost',
      `ssh ${host.host}:${host.port}: connection closed before the run`,
      0,
    );
  }

  const pidFile = `.workerkit-run-${randomUUID()}.pid`;
  const garbage = host.takeRemoteGarbage();
  let lostCause: Error | undefined;
  let lost = false;
  const unsubscribe = host.onClosed((cause) => {
    lost = true;
    lostCause = cause;
  });
  try {
    let opened: OpenedChannel;
    try {
      opened = await openExec(host.client, wrapCommand(command, pidFile, garbage), options.pty === true);
    } catch (error) {
      for (const path of garbage) host.addRemoteGarbage(path); // not removed: try again later
      if (signal?.aborted) return abortedResult(signal, meter.bytes, 'while the command was starting');
      const reason: IncompleteReason = lost || host.closed ? 'connection-lost' : 'provider-error';
      return incomplete(
        reason,
        `ssh ${host.host}:${host.port}: could not start the command: ${message(error)}`,
        0,
        error,
      );
    }
    host.addRemoteGarbage(pidFile);
    const { channel, exit: exitStatus, closed: channelClosed } = opened;
    if (options.pty !== true) channel.end(); // stdin: EOF, as for `ssh host cmd < /dev/null`

    const pumps = [new OutputPump(channel, meter), new OutputPump(channel.stderr, meter)];
    const pumped = Promise.all(pumps.map((pump) => pump.done));
    const outcome = await new Promise<Outcome>((resolve) => {
      pumped.then(
        () => channelClosed.then(() => resolve({ kind: 'finished' })),
        (error: unknown) => resolve({ kind: 'pump-failed', error }),
      );
      if (!signal) return;
      if (signal.aborted) return resolve({ kind: 'aborted' });
      const onAbort = () => resolve({ kind: 'aborted' });
      signal.addEventListener('abort', onAbort, { once: true });
      void channelClosed.then(() => signal.removeEventListener('abort', onAbort));
    });

    if (outcome.kind === 'finished') {
      // The exit status counts only if the server closed the channel itself (it does so after
      // sending all output); a connection that dropped first may have lost output.
      const exit = exitStatus();
      if (lost || exit === undefined) {
        const why = lostCause
          ? `: ${lostCause.message}`
          : exit === undefined
            ? ' before the exit status arrived'
            : '';
        return incomplete(
          'connection-lost',
          `ssh ${host.host}:${host.port}: connection lost during the run${why}`,
          meter.bytes,
          lostCause,
        );
      }
      if (exit.code === null || exit.code === undefined) {
        return exitedBySignal(exit.signal ?? 'SIGKILL', meter.bytes);
      }
      return { completed: true, exitCode: exit.code, outputBytes: meter.bytes };
    }

    // Aborted, or the caller's output failed: nothing more reaches the output, and the remote
    // process must not keep running.
    for (const pump of pumps) pump.stop();
    await stopRemote(host, channel, pidFile, killGraceMs);
    if (outcome.kind === 'pump-failed') {
      if (lost) {
        return incomplete(
          'connection-lost',
          `ssh ${host.host}:${host.port}: connection lost during the run`,
          meter.bytes,
          lostCause,
        );
      }
      const isOutput = outcome.error instanceof OutputWriteError;
      return incomplete(
        isOutput ? 'output-failed' : 'connection-lost',
        `${isOutput ? 'output failed' : 'reading output failed'}, remote command stopped: ${message(outcome.error)}`,
        meter.bytes,
        outcome.error,
      );
    }
    return abortedResult(signal!, meter.bytes, 'the remote process group was sent SIGTERM');
  } finally {
    unsubscribe();
  }
}

interface OpenedChannel {
  channel: ClientChannel;
  /** The exit status or signal, once the server sent it. */
  exit(): { code: number | null; signal: string | undefined } | undefined;
  closed: Promise<void>;
}

/**
 * Opens an exec channel. The listeners go on inside ssh2's callback, synchronously: a quick
 * command's data, exit status and close can arrive in the same TCP read as the exec reply, and
 * ssh2 emits 'exit' while parsing it, before any promise continuation could attach a listener.
 */
function openExec(client: Client, command: string, pty: boolean): Promise<OpenedChannel> {
  return new Promise((resolve, reject) => {
    client.exec(command, { pty: pty ? { term: 'xterm', rows: 40, cols: 80 } : false }, (error, channel) => {
      if (error) return reject(error);
      let exit: { code: number | null; signal: string | undefined } | undefined;
      channel.on('exit', (code: number | null, exitSignal?: string) => {
        exit = { code, signal: exitSignal };
      });
      const closed = new Promise<void>((done) => channel.once('close', () => done()));
      resolve({ channel, exit: () => exit, closed });
    });
  });
}

async function stopRemote(
  host: RunHost,
  channel: ClientChannel,
  pidFile: string,
  graceMs: number,
): Promise<void> {
  try {
    // Honoured by OpenSSH >= 7.9 for non-root logins; harmless where it is not.
    channel.signal('TERM');
  } catch {
    // the channel is already gone
  }
  if (!host.closed) {
    try {
      await execAndWait(host.client, killCommand(pidFile, graceMs), KILL_REQUEST_TIMEOUT_MS);
    } catch (error) {
      host.logger.warn('ssh: could not kill the aborted remote command', {
        host: host.host,
        port: host.port,
        error: message(error),
      });
    }
  }
  try {
    channel.close();
  } catch {
    // already closed
  }
}

/** Runs a short command and waits for its channel to close (or the timeout). */
function execAndWait(client: Client, command: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    client.exec(command, (error, channel) => {
      if (error) {
        clearTimeout(timer);
        return reject(error);
      }
      channel.resume();
      channel.stderr.resume();
      channel.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      channel.end();
    });
  });
}

type Outcome = { kind: 'finished' } | { kind: 'aborted' } | { kind: 'pump-failed'; error: unknown };

function abortedResult(signal: AbortSignal, outputBytes: number, detail: string): IncompleteRun {
  const timeout = abortedByTimeout(signal);
  return incomplete(
    timeout ? 'hard-timeout' : 'cancelled',
    `${timeout ? 'hard timeout reached' : 'run cancelled'}: ${detail}`,
    outputBytes,
    signal.reason,
  );
}

function incomplete(
  reason: IncompleteReason,
  text: string,
  outputBytes: number,
  cause?: unknown,
): IncompleteRun {
  return cause === undefined
    ? { completed: false, reason, message: text, outputBytes }
    : { completed: false, reason, message: text, outputBytes, cause };
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

import { randomUUID } from 'node:crypto';
import type { Duplex, Readable } from 'node:stream';
import {
  abortedByTimeout,
  type IncompleteReason,
  type Logger,
  OutputMeter,
  type OutputSink,
  OutputWriteError,
  type RunResult,
  StaleVmError,
  sleep,
  TraceNotFoundError,
  whenAborted,
} from '@workerkit/core';
import type Docker from 'dockerode';
import { abortOption } from './docker-abort-option.js';
import { engineMessage, isNotFound, toDockerApiError } from './docker-errors.js';
import { createTar, firstFileInTar } from './docker-tar.js';
import { type PlainEngineTarget, startExecRaw } from './exec-attach.js';
import { type ExecOutputSource, pumpExecOutput, readableExecOutput } from './exec-output.js';
import type { HostOutputDirs, HostOutputFifo } from './host-output.js';

/** Where the native mode puts the script (the Go worker's path). */
export const NATIVE_SCRIPT_PATH = '/home/travis/build.sh';
export const TRACE_PATH = '/tmp/build.trace';

/** The user the script runs as in native mode (Go: `travis`). */
export const NATIVE_EXEC_USER = 'travis';

/** How the script is uploaded, run and traced: natively through the Engine API, or over ssh. */
export interface ScriptChannel {
  upload(script: Uint8Array, signal?: AbortSignal): Promise<void>;
  /** Streams output into `output`; resolves incomplete (never rejects) when `signal` aborts. */
  run(output: OutputSink, signal: AbortSignal): Promise<RunResult>;
  downloadTrace(signal?: AbortSignal): Promise<Uint8Array>;
  close(): Promise<void>;
}

export interface NativeChannelOptions {
  docker: Docker;
  containerId: string;
  execCommand: readonly string[];
  tty: boolean;
  /** Extra environment for the script (the proxy variables). */
  env: Readonly<Record<string, string>>;
  inspectIntervalMs: number;
  logger: Logger;
  /** HOST_OUTPUT_DIR: the container's own host directory, for output FIFOs. */
  hostOutput: { dirs: HostOutputDirs; dir: string } | undefined;
  /** Where exec output can be read on a connection of our own (undefined with TLS). */
  plainTarget: PlainEngineTarget | undefined;
}

/**
 * Ends every process of one run. Docker makes each exec'd process a session leader; the
 * wrapper shell below stays the leader (it does not `exec` the command) and carries the run's
 * token in its argv, so the kill exec (as root) finds it through /proc/<pid>/cmdline and kills
 * its whole session: the script, its pipelines and background jobs, sudo'd children included.
 * Processes that left the session (setsid daemons) are caught by the token in their
 * environment where /proc lets us read it. Three passes catch forks made meanwhile. The token
 * arrives as "x<token>" so the kill exec's own argv never matches.
 */
const KILL_SCRIPT = `t="\${1#x}"
leader=
for d in /proc/[0-9]*; do
  if tr '\\0' '\\n' < "$d/cmdline" 2>/dev/null | grep -qxF "$t"; then leader="\${d#/proc/}"; fi
done
for pass in 1 2 3; do
  for d in /proc/[0-9]*; do
    p="\${d#/proc/}"
    [ "$p" = "$$" ] && continue
    hit=
    if [ -n "$leader" ] && read -r line < "$d/stat" 2>/dev/null; then
      set -- \${line##*) }
      [ "$4" = "$leader" ] && hit=1
    fi
    if [ -z "$hit" ] && tr '\\0' '\\n' < "$d/environ" 2>/dev/null | grep -qxF "WORKERKIT_EXEC_ID=$t"; then hit=1; fi
    [ -n "$hit" ] && kill -KILL "$p" 2>/dev/null
  done
done
exit 0`;

/**
 * `sh -c` wrapper exporting the run's variables (exec has no Env before API 1.25) and then
 * running EXEC_CMD as its child, passing its exit status on; the shell stays alive as the
 * run's session leader, named by the token in its argv. With `outputPath` (HOST_OUTPUT_DIR) the
 * shell first moves stdout and stderr into that FIFO; if it cannot, it exits with sh's message
 * on the exec's own stream. With `scriptPath` it first writes its stdin there (mode 0755): the
 * script arrives with the run instead of in an archive upload, which costs the daemon a process
 * of its own. A script it cannot write ends the run with sh's message and status 126.
 */
export function wrapExecCommand(
  command: readonly string[],
  env: Readonly<Record<string, string>>,
  { outputPath, scriptPath }: { outputPath?: string | undefined; scriptPath?: string | undefined } = {},
): string[] {
  const names = Object.keys(env);
  const assignments = names.map((name, i) => `${name}="\${${i + 1}}"`).join(' ');
  const redirect = outputPath ? `exec >'${outputPath}' 2>&1; ` : '';
  const writeScript = scriptPath
    ? `umask 022; cat >'${scriptPath}' && chmod 0755 '${scriptPath}' || exit 126; `
    : '';
  // The command's stdin is /dev/null, as an exec without stdin has; the script came on ours.
  const stdin = scriptPath ? ' </dev/null' : '';
  const script = `${redirect}${writeScript}${assignments}; export ${names.join(' ')}; shift ${names.length}; "$@"${stdin}; status=$?; exit "$status"`;
  return ['/bin/sh', '-c', script, 'workerkit-exec', ...names.map((name) => env[name]!), ...command];
}

/**
 * Starts an exec through dockerode's hijacked stream, writing `stdin` (if any) and closing our
 * side; `signal` may end the start, but not the stream once it is there (the run ends that
 * itself, and a late abort must not destroy a stream nobody listens to any more).
 */
async function startExecHijacked(
  exec: Docker.Exec,
  tty: boolean,
  stdin: Uint8Array | undefined,
  signal: AbortSignal,
): Promise<Readable> {
  const starting = new AbortController();
  const forward = () => starting.abort(signal.reason);
  signal.addEventListener('abort', forward, { once: true });
  try {
    const stream = (await exec.start({
      hijack: true,
      stdin: stdin !== undefined,
      Tty: tty,
      Detach: false,
      abortSignal: starting.signal,
    })) as Duplex;
    if (stdin) stream.end(stdin);
    return stream;
  } finally {
    signal.removeEventListener('abort', forward);
  }
}

/**
 * HOST_OUTPUT_DIR runs: the script writes into the FIFO; the exec's own stream carries only what
 * came before the shell moved its output (sh's message if it could not). That stream ends once
 * the shell holds the FIFO, so the provider's write end can go: the FIFO then ends when the
 * script and everything it started closed it.
 */
function pumpBoth(stream: ExecOutputSource, fifo: HostOutputFifo, meter: OutputMeter): Promise<void> {
  const own = pumpExecOutput(stream, meter, { multiplexed: true }).finally(() => fifo.releaseWriter());
  const piped = pumpExecOutput(fifo.source, meter, { multiplexed: false });
  return Promise.all([own, piped]).then(() => {});
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream)
    chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
  return Buffer.concat(chunks);
}

function incomplete(
  reason: IncompleteReason,
  message: string,
  outputBytes: number,
  cause?: unknown,
): RunResult {
  return { completed: false, reason, message, outputBytes, ...(cause === undefined ? {} : { cause }) };
}

/** Native mode: upload with `putArchive`, run with exec, trace with `getArchive`. */
export class NativeChannel implements ScriptChannel {
  readonly #options: NativeChannelOptions;
  readonly #container: Docker.Container;
  #uploaded = false;
  /** An uploaded script not in the container yet: the next run writes it from its stdin. */
  #pendingScript: Uint8Array | undefined;

  constructor(options: NativeChannelOptions) {
    this.#options = options;
    this.#container = options.docker.getContainer(options.containerId);
  }

  async upload(script: Uint8Array, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    if (this.#uploaded) throw new StaleVmError();
    // Native stale-VM check (the Go worker had none): a script already in place means reuse.
    // A GET, not a HEAD: only a body tells a missing file from a missing container.
    const exists = await this.#container
      .getArchive({ path: NATIVE_SCRIPT_PATH, ...abortOption(signal) })
      .then(
        (stream: NodeJS.ReadableStream) => {
          (stream as Readable).destroy();
          return true;
        },
        (error: unknown) => {
          signal?.throwIfAborted();
          if (isNotFound(error) && !/^No such container/.test(engineMessage(error))) return false;
          throw toDockerApiError('script upload (stat)', error);
        },
      );
    if (exists) throw new StaleVmError();
    if (!this.#options.tty) {
      // The run brings it (see wrapExecCommand): no archive upload, no process on the daemon.
      this.#pendingScript = script;
      this.#uploaded = true;
      return;
    }
    // A TTY would echo and translate stdin: the script goes as an archive.
    const archive = createTar([{ path: NATIVE_SCRIPT_PATH.slice(1), content: script, mode: 0o755 }]);
    try {
      await this.#container.putArchive(archive, { path: '/', ...abortOption(signal) });
    } catch (error) {
      signal?.throwIfAborted();
      throw toDockerApiError('script upload', error);
    }
    this.#uploaded = true;
  }

  async run(output: OutputSink, signal: AbortSignal): Promise<RunResult> {
    const meter = new OutputMeter(output);
    const reasonOf = (): IncompleteReason => (abortedByTimeout(signal) ? 'hard-timeout' : 'cancelled');
    const abortedResult = () =>
      incomplete(
        reasonOf(),
        `run ${reasonOf() === 'hard-timeout' ? 'cut off at its hard timeout' : 'cancelled'}`,
        meter.bytes,
      );
    if (signal.aborted) return abortedResult();
    const token = randomUUID();
    const { tty, hostOutput } = this.#options;
    let fifo: HostOutputFifo | undefined;
    try {
      if (hostOutput && !tty) fifo = await hostOutput.dirs.openFifo(hostOutput.dir, `run-${token}`);
    } catch (error) {
      return incomplete(
        'provider-error',
        `making the output FIFO failed: ${engineMessage(error)}`,
        meter.bytes,
        error,
      );
    }
    try {
      return await this.#runExec(token, meter, signal, abortedResult, fifo);
    } finally {
      fifo?.dispose();
    }
  }

  /** Runs the exec, its output from the exec's stream (and the FIFO, if any) into `meter`. */
  async #runExec(
    token: string,
    meter: OutputMeter,
    signal: AbortSignal,
    abortedResult: () => RunResult,
    fifo: HostOutputFifo | undefined,
  ): Promise<RunResult> {
    const { tty, execCommand, env } = this.#options;
    const script = this.#pendingScript;
    let exec: Docker.Exec;
    let stream: ExecOutputSource;
    try {
      // Every daemon call takes the run's signal: a daemon that stops answering cannot hold a
      // run past its hard timeout.
      exec = await this.#container.exec({
        Cmd: wrapExecCommand(
          execCommand,
          { WORKERKIT_EXEC_ID: token, ...env },
          { outputPath: fifo?.containerPath, scriptPath: script && NATIVE_SCRIPT_PATH },
        ),
        User: NATIVE_EXEC_USER,
        AttachStdin: script !== undefined,
        AttachStdout: true,
        AttachStderr: true,
        Tty: tty,
        ...abortOption(signal),
      });
      // A sink that keeps no chunk is lent one reused read buffer (half the CPU at hundreds of
      // MiB/s); one that may keep chunks gets the fresh memory of dockerode's stream, cheaper
      // than copying out of a reused buffer.
      const { plainTarget } = this.#options;
      stream =
        plainTarget && !meter.sinkRetainsChunks
          ? await startExecRaw(plainTarget, exec.id, { tty, signal, stdin: script })
          : readableExecOutput(await startExecHijacked(exec, tty, script, signal));
      this.#pendingScript = undefined;
    } catch (error) {
      return this.#stepFailed('starting the script', error, token, signal, abortedResult, meter);
    }
    const aborted = whenAborted(signal);
    const destroy = () => {
      stream.destroy();
      fifo?.source.destroy();
    };
    const pumping = fifo
      ? pumpBoth(stream, fifo, meter)
      : pumpExecOutput(stream, meter, { multiplexed: !tty });
    pumping.catch(() => {});
    try {
      const outcome = await Promise.race([
        pumping.then(() => 'drained' as const),
        aborted.promise.then(() => 'aborted' as const),
      ]);
      if (outcome === 'aborted') {
        destroy();
        await this.#kill(token);
        return abortedResult();
      }
    } catch (error) {
      destroy();
      await this.#kill(token);
      if (signal.aborted) return abortedResult();
      if (error instanceof OutputWriteError)
        return incomplete('output-failed', error.message, meter.bytes, error);
      return incomplete(
        'connection-lost',
        `the output stream broke: ${engineMessage(error)}`,
        meter.bytes,
        error,
      );
    } finally {
      aborted.cancel();
    }
    // The exit code is read only now, after the output stream drained.
    try {
      for (let wait = 5; ; wait = Math.min(wait * 2, this.#options.inspectIntervalMs)) {
        const state = await exec.inspect(abortOption(signal));
        if (!state.Running && state.ExitCode !== null && state.ExitCode !== undefined) {
          return { completed: true, exitCode: state.ExitCode, outputBytes: meter.bytes };
        }
        await sleep(wait, signal);
      }
    } catch (error) {
      return this.#stepFailed('reading the exit code', error, token, signal, abortedResult, meter);
    }
  }

  /**
   * A daemon call of the run failed: aborted (the signal), the script's processes are killed and
   * the run ends cancelled or at its hard timeout; otherwise it is a provider error.
   */
  async #stepFailed(
    step: string,
    error: unknown,
    token: string,
    signal: AbortSignal,
    abortedResult: () => RunResult,
    meter: OutputMeter,
  ): Promise<RunResult> {
    if (signal.aborted) {
      await this.#kill(token);
      return abortedResult();
    }
    return incomplete('provider-error', `${step} failed: ${engineMessage(error)}`, meter.bytes, error);
  }

  /** Kills every process of a run (bounded: the container is stopped soon anyway). */
  async #kill(token: string): Promise<void> {
    const timeout = AbortSignal.timeout(10_000);
    try {
      const exec = await this.#container.exec({
        Cmd: ['/bin/sh', '-c', KILL_SCRIPT, 'workerkit-kill', `x${token}`],
        User: '0',
        AttachStdout: true,
        AttachStderr: true,
        abortSignal: timeout,
      });
      const stream = (await exec.start({ hijack: true, stdin: false, abortSignal: timeout })) as Readable;
      await readAll(stream);
    } catch (error) {
      this.#options.logger.warn(
        'docker: killing the script processes failed; they end when the container stops',
        {
          container: this.#options.containerId.slice(0, 12),
          error: engineMessage(error),
        },
      );
    }
  }

  async downloadTrace(signal?: AbortSignal): Promise<Uint8Array> {
    signal?.throwIfAborted();
    let archive: Buffer;
    try {
      const stream = (await this.#container.getArchive({
        path: TRACE_PATH,
        ...abortOption(signal),
      })) as Readable;
      archive = await readAll(stream);
    } catch (error) {
      signal?.throwIfAborted();
      if (isNotFound(error)) throw new TraceNotFoundError({ path: TRACE_PATH, cause: error });
      throw toDockerApiError('trace download', error);
    }
    const file = firstFileInTar(archive);
    if (!file) throw new TraceNotFoundError({ path: TRACE_PATH });
    return new Uint8Array(file.content.buffer, file.content.byteOffset, file.content.byteLength);
  }

  async close(): Promise<void> {}
}

import { type ChildProcess, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import {
  abortedByTimeout,
  exitedBySignal,
  type IncompleteReason,
  type Instance,
  OutputMeter,
  type OutputSink,
  OutputWriteError,
  type RunOptions,
  type RunResult,
  type SignalOptions,
  StaleVmError,
  TraceNotImplementedError,
  WorkerkitError,
  withHardTimeout,
} from '@workerkit/core';
import { findExecutable } from './find-executable.js';
import { forgetPid, killGroup, markedLaunch, removeWorkdir, SCRIPT_NAME } from './local-workdir.js';

export interface LocalInstanceSettings {
  dir: string;
  shell: string;
  killGraceMs: number;
  hardTimeoutMs: number | undefined;
  startupDuration: number;
}

type Exit = { code: number | null; signal: NodeJS.Signals | null } | { error: Error };

/** One job's private directory; its script runs as its own process group so all of it can be killed. */
export class LocalInstance implements Instance {
  readonly id: string;
  readonly imageName = '';
  readonly startupDuration: number;
  readonly supportsProgress = false;
  readonly #settings: LocalInstanceSettings;
  #scriptPath: string | undefined;
  #running: { child: ChildProcess; done: Promise<RunResult> } | undefined;
  #stopping: Promise<void> | undefined;

  constructor(settings: LocalInstanceSettings) {
    this.#settings = settings;
    this.id = `local:${basename(settings.dir)}`;
    this.startupDuration = settings.startupDuration;
  }

  async uploadScript(script: string | Uint8Array, { signal }: SignalOptions = {}): Promise<void> {
    signal?.throwIfAborted();
    this.#assertNotStopped();
    const path = join(this.#settings.dir, SCRIPT_NAME);
    try {
      // 'wx' fails if the file exists: a second upload means this directory was used before.
      await writeFile(path, script, { flag: 'wx', mode: 0o755, ...(signal ? { signal } : {}) });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new StaleVmError();
      throw error;
    }
    this.#scriptPath = path;
  }

  async runScript(output: OutputSink, options: RunOptions = {}): Promise<RunResult> {
    this.#assertRunnable();
    // Checked here because the launcher's `exec` would turn a missing shell into exit 127 of
    // the "script".
    const shell = await findExecutable(this.#settings.shell);
    if (shell === undefined) {
      return {
        completed: false,
        reason: 'provider-error',
        message: `local: could not start ${this.#settings.shell}: not found or not executable`,
        outputBytes: 0,
      };
    }
    // Again after the await, so that nothing can come between the checks and the spawn.
    const scriptPath = this.#assertRunnable();
    const [command, args] = markedLaunch(shell, scriptPath);
    const child = spawn(command, args, {
      cwd: this.#settings.dir,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const done = this.#supervise(child, new OutputMeter(output), options);
    this.#running = { child, done };
    try {
      return await done;
    } finally {
      this.#running = undefined;
    }
  }

  async #supervise(child: ChildProcess, meter: OutputMeter, options: RunOptions): Promise<RunResult> {
    const exited = new Promise<Exit>((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
      child.once('error', (error) => resolve({ error }));
    });
    const pid = child.pid;
    let stopReason: IncompleteReason | undefined;
    let killTimer: NodeJS.Timeout | undefined;
    const terminate = (reason: IncompleteReason) => {
      stopReason ??= reason;
      if (pid === undefined) return;
      killGroup(pid, 'SIGTERM');
      killTimer ??= setTimeout(() => killGroup(pid, 'SIGKILL'), this.#settings.killGraceMs);
    };

    // Consume the pipes before anything awaits: Node discards the output of a child that exits
    // while its stdout is still unused.
    let outputError: unknown;
    const pumping = Promise.all([meter.pump(child.stdout!), meter.pump(child.stderr!)]).catch(
      (error: unknown) => {
        outputError = error;
        child.stdout!.destroy();
        child.stderr!.destroy();
        terminate('output-failed');
      },
    );

    const deadline = withHardTimeout(options.signal, options.hardTimeoutMs ?? this.#settings.hardTimeoutMs);
    const onAbort = () => terminate(abortedByTimeout(deadline.signal) ? 'hard-timeout' : 'cancelled');
    if (deadline.signal.aborted) onAbort();
    else deadline.signal.addEventListener('abort', onAbort, { once: true });

    const exit = await exited;
    // The job is over once its script exits: background processes it left would hold the
    // output pipes open forever, so the whole group goes.
    if (pid !== undefined) killGroup(pid, 'SIGKILL');
    await pumping;
    clearTimeout(killTimer);
    deadline.signal.removeEventListener('abort', onAbort);
    deadline.dispose();
    if (pid !== undefined) await forgetPid(this.#settings.dir, pid);

    const outputBytes = meter.bytes;
    if ('error' in exit) {
      return {
        completed: false,
        reason: 'provider-error',
        message: `local: could not start ${this.#settings.shell}: ${exit.error.message}`,
        outputBytes,
        cause: exit.error,
      };
    }
    if (stopReason) {
      return {
        completed: false,
        reason: stopReason,
        message: describeStop(stopReason, outputError),
        outputBytes,
        cause: outputError,
      };
    }
    if (exit.signal) return exitedBySignal(exit.signal, outputBytes);
    return { completed: true, exitCode: exit.code ?? 0, outputBytes };
  }

  async downloadTrace(): Promise<Uint8Array> {
    throw new TraceNotImplementedError({ provider: 'local' });
  }

  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    const running = this.#running;
    if (running?.child.pid !== undefined) {
      killGroup(running.child.pid, 'SIGKILL');
      await running.done.catch(() => undefined);
    }
    await removeWorkdir(this.#settings.dir);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  #assertRunnable(): string {
    this.#assertNotStopped();
    if (this.#scriptPath === undefined) {
      throw new WorkerkitError({ message: 'local: no script uploaded; call uploadScript before runScript' });
    }
    if (this.#running) throw new WorkerkitError({ message: 'local: the script is already running' });
    return this.#scriptPath;
  }

  #assertNotStopped(): void {
    if (this.#stopping) throw new WorkerkitError({ message: `local: instance ${this.id} was stopped` });
  }
}

function describeStop(reason: IncompleteReason, outputError: unknown): string {
  if (reason === 'output-failed') {
    // An OutputWriteError already says so ("writing output failed: write EPIPE").
    if (outputError instanceof OutputWriteError) return outputError.message;
    return `writing the output failed: ${String((outputError as Error)?.message ?? outputError)}`;
  }
  if (reason === 'hard-timeout') return 'the hard timeout passed; the script was killed';
  return 'the run was cancelled; the script was killed';
}

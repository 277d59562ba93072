import { randomUUID } from 'node:crypto';
import {
  abortedByTimeout,
  type Instance,
  type Logger,
  type OutputSink,
  type Progresser,
  type RunOptions,
  type RunResult,
  type SignalOptions,
  StaleVmError,
  sleep,
  withHardTimeout,
} from '@workerkit/core';
import type { SshConnection } from '@workerkit/ssh';
import type { GceApi } from './gce-client.js';
import { isNotFound } from './gce-errors.js';
import { waitForOperation } from './gce-operations.js';
import type { GceOptions } from './gce-options.js';

/** Where the build script goes and how it runs (as the Go worker). */
export const SCRIPT_PATH = 'build.sh';
export const SCRIPT_COMMAND = 'bash ~/build.sh';
export const TRACE_PATH = '/tmp/build.trace';

export interface GceInstanceInit {
  api: GceApi;
  options: GceOptions;
  logger: Logger;
  name: string;
  zone: string;
  id: string;
  imageName: string;
  startupDuration: number;
  hardTimeoutMs: number | undefined;
  connection: SshConnection;
  progress: Progresser;
}

/**
 * Deletes an instance and, unless SKIP_STOP_POLL, waits for the deletion to finish (bounded by
 * STOP_TIMEOUT). An instance that is already gone counts as deleted.
 */
export async function deleteInstance(
  api: GceApi,
  options: GceOptions,
  zone: string,
  name: string,
  { signal }: SignalOptions = {},
): Promise<void> {
  const deadline = AbortSignal.timeout(options.STOP_TIMEOUT);
  const bounded = signal ? AbortSignal.any([signal, deadline]) : deadline;
  let operation: Awaited<ReturnType<GceApi['deleteInstance']>>;
  try {
    // A delete already sent is waited for: whether it happened must be known.
    operation = await api.deleteInstance(zone, name, randomUUID(), { signal: bounded, abortInFlight: false });
  } catch (error) {
    if (isNotFound(error)) return;
    throw error;
  }
  if (options.SKIP_STOP_POLL) return;
  if (options.STOP_PRE_POLL_SLEEP > 0) await sleep(options.STOP_PRE_POLL_SLEEP, bounded);
  try {
    await waitForOperation(api, zone, operation, { signal: bounded, pollSleepMs: options.STOP_POLL_SLEEP });
  } catch (error) {
    if (isNotFound(error)) return;
    throw error;
  }
}

/** One GCE VM: runs one script over SSH, then is deleted. */
export class GceInstance implements Instance {
  readonly id: string;
  readonly imageName: string;
  readonly startupDuration: number;
  readonly supportsProgress = true;
  /** The zone it runs in. */
  readonly zone: string;
  /** GCE's numeric id (for preemption events). */
  readonly instanceId: string;
  readonly #api: GceApi;
  readonly #options: GceOptions;
  readonly #logger: Logger;
  readonly #connection: SshConnection;
  readonly #hardTimeoutMs: number | undefined;
  readonly #progress: Progresser;
  #stopping: Promise<void> | undefined;

  constructor(init: GceInstanceInit) {
    this.id = init.name;
    this.zone = init.zone;
    this.instanceId = init.id;
    this.imageName = init.imageName;
    this.startupDuration = init.startupDuration;
    this.#api = init.api;
    this.#options = init.options;
    this.#logger = init.logger;
    this.#connection = init.connection;
    this.#hardTimeoutMs = init.hardTimeoutMs;
    this.#progress = init.progress;
  }

  async uploadScript(script: string | Uint8Array, { signal }: SignalOptions = {}): Promise<void> {
    signal?.throwIfAborted();
    try {
      await this.#connection.upload(SCRIPT_PATH, script, { mode: 0o755, ...(signal ? { signal } : {}) });
    } catch (error) {
      if (StaleVmError.isInstance(error)) {
        this.#progress.progress({ message: 'existing script detected', state: 'failure', interrupts: true });
      }
      throw error;
    }
    this.#progress.progress({ message: 'uploaded script', state: 'success' });
  }

  async runScript(output: OutputSink, options: RunOptions = {}): Promise<RunResult> {
    const limit = withHardTimeout(options.signal, options.hardTimeoutMs ?? this.#hardTimeoutMs);
    let result: RunResult;
    try {
      result = await this.#connection.run(SCRIPT_COMMAND, { output, signal: limit.signal });
    } finally {
      limit.dispose();
    }
    if (result.completed === false && (result.reason === 'cancelled' || result.reason === 'hard-timeout')) {
      if (abortedByTimeout(limit.signal) && result.reason !== 'hard-timeout')
        return { ...result, reason: 'hard-timeout' };
      return result;
    }
    // A preempted VM may still hand back an exit status (its processes got SIGTERM): never trust it.
    const mayBePreempted =
      this.#options.PREEMPTIBLE ||
      this.#options.SPOT ||
      (!result.completed && result.reason === 'connection-lost');
    if (!mayBePreempted) return result;
    try {
      if (await this.#wasPreempted(!result.completed, options.signal)) {
        this.#logger.warn('gce: instance was preempted during the run', {
          instance: this.id,
          zone: this.zone,
        });
        return {
          completed: false,
          reason: 'preempted',
          message: `instance ${this.id} in ${this.zone} was preempted during the run`,
          outputBytes: result.outputBytes,
        };
      }
    } catch (error) {
      // Unknown: the job must be requeued rather than trusted (the Go worker did the same).
      return {
        completed: false,
        reason: 'provider-error',
        message: `could not check whether instance ${this.id} was preempted: ${String(error)}`,
        outputBytes: result.outputBytes,
        cause: error,
      };
    }
    return result;
  }

  /**
   * A `compute.instances.preempted` operation for this instance means GCE reclaimed it. When the
   * run broke off and no such operation is listed yet, a preemptible/Spot VM that is no longer
   * RUNNING counts as preempted too (the event can trail the shutdown).
   */
  async #wasPreempted(runBrokeOff: boolean, signal: AbortSignal | undefined): Promise<boolean> {
    const events = await this.#api.listZoneOperations(
      this.zone,
      `(targetId = "${this.instanceId}") (operationType = "compute.instances.preempted")`,
      { signal },
    );
    if (events.length > 0) return true;
    if (!runBrokeOff || !(this.#options.PREEMPTIBLE || this.#options.SPOT)) return false;
    const instance = await this.#api.getInstance(this.zone, this.id, { signal });
    return instance.status !== 'RUNNING';
  }

  async downloadTrace({ signal }: SignalOptions = {}): Promise<Uint8Array> {
    return this.#connection.download(TRACE_PATH, signal ? { signal } : {});
  }

  /** Closes SSH, deletes the VM and waits for the deletion (unless SKIP_STOP_POLL); safe to call again. */
  stop(options: SignalOptions = {}): Promise<void> {
    this.#stopping ??= (async () => {
      await this.#connection.close().catch(() => {});
      await deleteInstance(this.#api, this.#options, this.zone, this.id, options);
    })();
    this.#stopping.catch(() => {
      // A failed stop may be retried by the caller.
      this.#stopping = undefined;
    });
    return this.#stopping;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

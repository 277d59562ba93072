import {
  type Instance,
  type Logger,
  type OutputSink,
  type Progresser,
  type RunOptions,
  type RunResult,
  type SignalOptions,
  StaleVmError,
} from '@workerkit/core';
import type { SshScriptTarget } from '@workerkit/ssh';
import type { GceApi } from './gce-client.js';
import { deleteInstance } from './gce-delete.js';
import { isNotFound } from './gce-errors.js';
import type { GceOptions } from './gce-options.js';

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
  target: SshScriptTarget;
  progress: Progresser;
}

/** One GCE VM: runs one script over SSH (`SshScriptTarget`), then is deleted. */
export class GceInstance implements Instance {
  readonly id: string;
  readonly imageName: string;
  readonly startupDuration: number;
  readonly supportsProgress = true;
  /** The zone it runs in. */
  readonly zone: string;
  /** GCE's numeric id (for preemption events). */
  readonly instanceId: string;
  readonly #init: GceInstanceInit;
  #stopping: Promise<void> | undefined;

  constructor(init: GceInstanceInit) {
    this.#init = init;
    this.id = init.name;
    this.zone = init.zone;
    this.instanceId = init.id;
    this.imageName = init.imageName;
    this.startupDuration = init.startupDuration;
  }

  async uploadScript(script: string | Uint8Array, options: SignalOptions = {}): Promise<void> {
    options.signal?.throwIfAborted();
    try {
      await this.#init.target.upload(script, options);
    } catch (error) {
      if (StaleVmError.isInstance(error)) {
        this.#init.progress.progress({
          message: 'existing script detected',
          state: 'failure',
          interrupts: true,
        });
      }
      throw error;
    }
    this.#init.progress.progress({ message: 'uploaded script', state: 'success' });
  }

  async runScript(output: OutputSink, options: RunOptions = {}): Promise<RunResult> {
    const hardTimeoutMs = options.hardTimeoutMs ?? this.#init.hardTimeoutMs;
    const result = await this.#init.target.run(output, {
      ...(options.signal ? { signal: options.signal } : {}),
      ...(hardTimeoutMs ? { hardTimeoutMs } : {}),
    });
    if (!result.completed && (result.reason === 'cancelled' || result.reason === 'hard-timeout'))
      return result;
    const { PREEMPTIBLE, SPOT } = this.#init.options;
    // A preempted VM may still hand back an exit status (its processes got SIGTERM): never trust it.
    const mayBePreempted = PREEMPTIBLE || SPOT || (!result.completed && result.reason === 'connection-lost');
    if (!mayBePreempted) return result;
    try {
      if (await this.#wasPreempted(!result.completed, options.signal)) {
        this.#init.logger.warn('gce: instance was preempted during the run', {
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
   * A `compute.instances.preempted` operation for this instance means GCE reclaimed it. GCE may
   * list that operation late, so when the run broke off on a preemptible/Spot VM, a VM that is
   * no longer RUNNING — or gone (a Spot VM with `instanceTerminationAction: DELETE` is deleted
   * on preemption) — counts as preempted too.
   */
  async #wasPreempted(runBrokeOff: boolean, signal: AbortSignal | undefined): Promise<boolean> {
    const events = await this.#init.api.listZoneOperations(
      this.zone,
      `(targetId = "${this.instanceId}") (operationType = "compute.instances.preempted")`,
      { signal },
    );
    if (events.length > 0) return true;
    const { PREEMPTIBLE, SPOT } = this.#init.options;
    if (!runBrokeOff || !(PREEMPTIBLE || SPOT)) return false;
    try {
      const instance = await this.#init.api.getInstance(this.zone, this.id, { signal });
      return instance.status !== 'RUNNING';
    } catch (error) {
      if (isNotFound(error)) return true;
      throw error;
    }
  }

  async downloadTrace(options: SignalOptions = {}): Promise<Uint8Array> {
    return this.#init.target.downloadTrace(options);
  }

  /** Closes SSH, deletes the VM and waits for the deletion (unless SKIP_STOP_POLL); safe to call again. */
  stop(options: SignalOptions = {}): Promise<void> {
    this.#stopping ??= (async () => {
      await this.#init.target.close().catch(() => {});
      const { api, options: o, zone } = this.#init;
      await deleteInstance(api, o, zone, this.id, options);
    })();
    const stopping = this.#stopping;
    // A failed stop may be retried by the caller.
    stopping.catch(() => {
      if (this.#stopping === stopping) this.#stopping = undefined;
    });
    return stopping;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

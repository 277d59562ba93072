import type { ManagedResource } from './lifecycle/managed-resource.js';
import type { OutputSink } from './output.js';
import type { Progresser } from './progress/progress-entry.js';
import type { RunResult } from './run-result.js';
import type { StartAttributes } from './start-attributes.js';

export interface SignalOptions {
  /** Aborting stops the work promptly and leaves nothing behind. */
  signal?: AbortSignal;
}

export interface StartOptions extends SignalOptions {
  /** Receives start-up progress when the provider reports any (`supportsProgress`). */
  progress?: Progresser;
}

export interface RunOptions extends SignalOptions {
  /** Cut the run off after this many ms (default: the job's `hardTimeoutMs`). */
  hardTimeoutMs?: number;
}

/**
 * Starts instances of one kind (containers, VMs). Disposable: `await using provider = …`
 * closes it when the block ends (`[Symbol.asyncDispose]` calls `close`).
 */
export interface Provider extends AsyncDisposable {
  readonly alias: string;
  /** Whether `start` reports progress entries. */
  readonly supportsProgress: boolean;
  /** Checks configuration against the real service; call once before starting instances. */
  setup(options?: SignalOptions): Promise<void>;
  /**
   * Starts an instance and resolves once it is ready for `uploadScript`. If it fails or is
   * aborted, whatever it created is deleted before it rejects.
   */
  start(attributes: StartAttributes, options?: StartOptions): Promise<Instance>;
  /** Every resource this provider's kind created that still exists (for `reap` and leak checks). */
  listManagedResources(options?: SignalOptions): Promise<ManagedResource[]>;
  /** Deletes one resource found by `listManagedResources`. */
  deleteManagedResource(resource: ManagedResource, options?: SignalOptions): Promise<void>;
  /** Releases clients and connections; started instances are not stopped by it. */
  close(): Promise<void>;
}

/** One started instance: takes one script, runs it, and is then stopped and deleted. */
export interface Instance extends AsyncDisposable {
  readonly id: string;
  readonly imageName: string;
  /** Time from the start request to ready, in ms. */
  readonly startupDuration: number;
  readonly supportsProgress: boolean;
  /** Uploads the build script; a second upload (or a reused machine) throws `StaleVmError`. */
  uploadScript(script: string | Uint8Array, options?: SignalOptions): Promise<void>;
  /**
   * Runs the uploaded script, streaming its stdout and stderr into `output`. Never throws for an
   * incomplete run: it resolves `{ completed: false, reason }` instead.
   */
  runScript(output: OutputSink, options?: RunOptions): Promise<RunResult>;
  /** The build trace (`/tmp/build.trace`); `TraceNotImplementedError` where unsupported. */
  downloadTrace(options?: SignalOptions): Promise<Uint8Array>;
  /** Stops and deletes the instance; safe to call more than once. */
  stop(options?: SignalOptions): Promise<void>;
}

import type { IncompleteReason, ProgressEntry, StartAttributes } from '@workerkit/core';

/**
 * What the next started instance does, for tests of code that drives a provider: queue one
 * per expected start with `FakeProvider.enqueue`. Anything left out falls back to the options.
 */
export interface FakeJob {
  /** `start` waits this long (abortably) before the instance exists. */
  startDelayMs?: number;
  /** `start` rejects with this after the delay; nothing is created. */
  startError?: Error;
  /** Progress entries `start` reports, in order, before its own "started" entry. */
  progress?: ProgressEntry[];
  /** `uploadScript` rejects with this. */
  uploadError?: Error;
  /** `runScript` waits this long (abortably) before writing output. */
  runSleepMs?: number;
  /** Output written by `runScript`, chunk by chunk, with backpressure. */
  output?: string | Uint8Array | (() => Iterable<Uint8Array>);
  /** After its output the run blocks until it is aborted (a hung build). */
  hangs?: boolean;
  /** The run's exit code (default: the EXIT_CODE option). */
  exitCode?: number;
  /** End the run incomplete with this reason instead of an exit code. */
  incomplete?: { reason: IncompleteReason; message?: string };
  /** What `downloadTrace` returns; without it, `TraceNotImplementedError` as in Go. */
  trace?: string | Uint8Array;
}

export type FakeCall =
  | { method: 'setup' | 'close' }
  | { method: 'start'; attributes: StartAttributes; instanceId?: string; error?: string }
  | { method: 'uploadScript'; instanceId: string; script: string }
  | { method: 'runScript' | 'downloadTrace' | 'stop'; instanceId: string };

import { AsyncLocalStorage } from 'node:async_hooks';
import type { Context } from '@opentelemetry/api';

/** What the telemetry wrapper knows about the job whose code is running now. */
export interface JobTelemetryState {
  backend: string;
  /** The job span's context: API-call spans become its children. */
  context: Context;
  apiCalls: number;
  apiCallMs: number;
  /** Phase boundaries a backend marked during start (`markStartPhase`), in order. */
  marks: { phase: StartPhase; at: number }[];
}

/** Phases a backend may mark inside `start`: the time up to the mark is that phase. */
export type StartPhase = 'boot';

const storage = new AsyncLocalStorage<JobTelemetryState>();

/** Runs `fn` with `state` as the current job (for the calls it makes, however deep). */
export function runInJob<T>(state: JobTelemetryState, fn: () => T): T {
  return storage.run(state, fn);
}

/** The job whose code is running now, if it runs under the telemetry wrapper. */
export function currentJob(): JobTelemetryState | undefined {
  return storage.getStore();
}

/**
 * Called by a backend inside `start` when a phase ends: `markStartPhase('boot')` once the
 * instance is running. The wrapper then reports boot (start → mark) and ssh-ready (mark → ready)
 * instead of one start phase. Without the wrapper it does nothing.
 */
export function markStartPhase(phase: StartPhase): void {
  storage.getStore()?.marks.push({ phase, at: performance.now() });
}

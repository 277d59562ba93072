import { randomBytes } from 'node:crypto';
import type { Instance, RunResult } from '@workerkit/core';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CollectingSink,
  expectNoContainerLeft,
  jobAttributes,
  nativeProvider,
  scopedContainers,
  TERM_IGNORING_IMAGE,
} from '../test/docker-test-env.js';
import type { DockerProvider } from './index.js';

/**
 * Aborts at random moments, on the real daemon: whatever moment the abort hits (image choice,
 * create, start, readiness, upload, the run, the stop), no container is left. Several lanes run
 * at once; each draws a fresh job name or reuses its own (a requeued job's name), as a worker
 * does.
 */
const SCOPE = 'abort-soak';
const LANES = 3;
const START_ROUNDS_PER_LANE = 6;
const RUN_ROUNDS_PER_LANE = 4;
/** A few seconds on a quiet machine; a loaded one (other suites on the same two cores) takes far longer. */
const SOAK_TIMEOUT_MS = 300_000;

afterEach(() => expectNoContainerLeft(SCOPE));

function jobId(lane: number): string {
  return Math.random() < 0.5 ? `reused-${lane}` : `fresh-${randomBytes(4).toString('hex')}`;
}

/** An AbortController that aborts after a random delay in [0, spanMs). */
function abortAtRandom(spanMs: number, reason: Error): { signal: AbortSignal; cancel(): void } {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(reason), Math.random() * spanMs);
  return { signal: controller.signal, cancel: () => clearTimeout(timer) };
}

/**
 * Where an abort can land in a start and upload, each timed from the event that begins it: the
 * whole of it (from the start call), the create (from the "creating container" progress entry;
 * the Engine finishes a create whose request was cut), the container's start and readiness
 * (from "created container"), and the upload.
 */
type Phase = 'whole' | 'create' | 'start' | 'upload';
const PHASES: readonly Phase[] = ['whole', 'create', 'create', 'start', 'upload'];
const PHASE_BEGINS: Partial<Record<Phase, string>> = {
  create: 'creating container',
  start: 'created container',
};

/** How long each phase takes here and now (the machine may be loaded): the spans aborts are drawn from. */
async function phaseSpans(provider: DockerProvider): Promise<Record<Phase, number>> {
  const began = performance.now();
  let creating = began;
  let created = began;
  const instance = await provider.start(jobAttributes(SCOPE), {
    progress: {
      progress: (entry) => {
        if (entry.message.startsWith(PHASE_BEGINS.create!)) creating = performance.now();
        if (entry.message.startsWith(PHASE_BEGINS.start!)) created = performance.now();
      },
    },
  });
  const started = performance.now();
  await instance.uploadScript('true\n');
  const uploaded = performance.now();
  await instance.stop();
  return {
    whole: uploaded - began,
    create: created - creating,
    start: started - created,
    upload: uploaded - started,
  };
}

/** Aborts at a random moment of one phase, timed from the event that begins it. */
class PhaseAbort {
  readonly reason = new Error('soak: aborted');
  readonly #controller = new AbortController();
  readonly #phase: Phase;
  readonly #spanMs: number;
  #timer: NodeJS.Timeout | undefined;

  constructor(spans: Record<Phase, number>) {
    this.#phase = PHASES[Math.floor(Math.random() * PHASES.length)]!;
    this.#spanMs = spans[this.#phase] * 1.2;
    if (this.#phase === 'whole') this.#arm();
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** The start's progress entries begin the create and start phases. */
  progress = (entry: { message: string }) => {
    const begins = PHASE_BEGINS[this.#phase];
    if (begins && entry.message.startsWith(begins)) this.#arm();
  };

  beforeUpload(): void {
    if (this.#phase === 'upload') this.#arm();
  }

  cancel(): void {
    clearTimeout(this.#timer);
  }

  #arm(): void {
    this.#timer = setTimeout(() => this.#controller.abort(this.reason), Math.random() * this.#spanMs);
  }
}

/**
 * The Engine finishes a create whose request was cut after the client looked: wait until every
 * request the soak made has had time to land before the final look.
 */
async function expectNothingLeft(provider: DockerProvider): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  expect(await provider.listManagedResources()).toEqual([]);
  expect(await scopedContainers(SCOPE)).toEqual([]);
}

async function lanes(rounds: number, round: (lane: number) => Promise<void>): Promise<void> {
  await Promise.all(
    Array.from({ length: LANES }, async (_, lane) => {
      for (let i = 0; i < rounds; i++) await round(lane);
    }),
  );
}

describe('docker provider: aborts at random moments leave nothing behind', {
  timeout: SOAK_TIMEOUT_MS,
}, () => {
  it('starts and uploads aborted anywhere, with fresh and reused job names', async () => {
    const provider = nativeProvider(SCOPE);
    const spans = await phaseSpans(provider);
    const outcomes = { aborted: 0, finished: 0 };
    await lanes(START_ROUNDS_PER_LANE, async (lane) => {
      const abort = new PhaseAbort(spans);
      let instance: Instance | undefined;
      try {
        instance = await provider.start(jobAttributes(SCOPE, { jobId: jobId(lane) }), {
          signal: abort.signal,
          progress: { progress: abort.progress },
        });
        abort.beforeUpload();
        await instance.uploadScript('echo soak\n', { signal: abort.signal });
        outcomes.finished++;
      } catch (error) {
        // An aborted start or upload rejects with the abort's own reason, nothing else.
        expect(error).toBe(abort.reason);
        outcomes.aborted++;
      } finally {
        abort.cancel();
        await instance?.stop();
      }
    });
    await expectNothingLeft(provider);
    await provider.close();
    expect(outcomes.aborted + outcomes.finished).toBe(LANES * START_ROUNDS_PER_LANE);
    expect(outcomes.aborted).toBeGreaterThan(0);
  });

  it('runs and stops aborted anywhere', async () => {
    // A grace period that PID 1 sits out (it ignores SIGTERM): every stop's abort must cut it.
    const provider = nativeProvider(SCOPE, { STOP_TIMEOUT: '30s' });
    const outcomes = { completed: 0, cancelled: 0 };
    await lanes(RUN_ROUNDS_PER_LANE, async (lane) => {
      const instance = await provider.start(
        jobAttributes(SCOPE, { jobId: jobId(lane), imageName: TERM_IGNORING_IMAGE }),
      );
      const runAbort = abortAtRandom(600, new Error('soak: run aborted'));
      const stopAbort = abortAtRandom(100, new Error('soak: stop aborted'));
      let result: RunResult | undefined;
      try {
        await instance.uploadScript('echo started; sleep 0.3; echo done\n');
        result = await instance.runScript(new CollectingSink(), { signal: runAbort.signal });
      } finally {
        runAbort.cancel();
        // A stop whose signal aborts still removes the container: the signal only cuts the grace period.
        await instance.stop({ signal: stopAbort.signal });
        stopAbort.cancel();
      }
      if (result.completed) {
        expect(result.exitCode).toBe(0);
        outcomes.completed++;
      } else {
        expect(result.reason).toBe('cancelled');
        outcomes.cancelled++;
      }
    });
    await expectNothingLeft(provider);
    await provider.close();
    expect(outcomes.cancelled).toBeGreaterThan(0);
  });
});

import { randomInt } from 'node:crypto';

/** A duration drawn uniformly from `[min, max]` ms each time it is used. */
export type MsRange = readonly [min: number, max: number];

/** Every clock of the emulator, in ms of real time. */
export interface GceEmulatorTimings {
  /** PROVISIONING → STAGING. */
  provisioningMs: MsRange;
  /** STAGING → RUNNING (the insert operation is DONE then). */
  stagingMs: MsRange;
  /** RUNNING → the guest's sshd answers (and its startup script starts). */
  sshdUpMs: MsRange;
  /** A delete, or a preemption, from STOPPING until the instance is gone or TERMINATED. */
  stoppingMs: MsRange;
  /** How long `operations.wait` holds a request before answering with the unfinished operation. */
  operationWaitMs: number;
  /** The chance that one `operations.wait` answers at once, before DONE ("might return after zero seconds"). */
  earlyWaitChance: number;
  /** How long a `compute.instances.preempted` operation stays out of the lists after it happened. */
  preemptedListingMs: MsRange;
  /**
   * How long one second of `scheduling.maxRunDuration` (and of the guest's `at now + N minutes`)
   * lasts. 1000 in both profiles: these are the user's own durations (a job's hard timeout runs
   * in real time), not Google's delays; a test shortens them to watch the guard act.
   */
  runDurationSecondMs: number;
}

/**
 * `realistic`: Compute Engine's documented ranges, multiplied by `timeFactor` — insert operations
 * of 5–30 s, sshd answering 10–40 s after RUNNING, operations.wait holding up to 2 min and
 * sometimes returning at once, a preemption listed up to 30 s late.
 * `instant`: everything at once (only on request: tests of one feature, instant-boot benches).
 */
export type GceTimingProfile = 'realistic' | 'instant';

const REALISTIC_SECONDS = {
  provisioning: [2, 10],
  staging: [3, 20],
  sshdUp: [10, 40],
  stopping: [10, 30],
  operationWait: 120,
  preemptedListing: [0, 30],
} as const;

/** The default `timeFactor` of the realistic profile: one Google second lasts 10 ms. */
export const DEFAULT_TIME_FACTOR = 0.01;

export function resolveTimings(
  profile: GceTimingProfile,
  timeFactor: number,
  overrides: Partial<GceEmulatorTimings> = {},
): GceEmulatorTimings {
  if (!(timeFactor > 0) || !Number.isFinite(timeFactor))
    throw new Error(`gce emulator: timeFactor must be a positive number, got ${timeFactor}`);
  const scaled = (seconds: readonly [number, number]): MsRange => [
    Math.round(seconds[0] * 1000 * timeFactor),
    Math.round(seconds[1] * 1000 * timeFactor),
  ];
  const base: GceEmulatorTimings =
    profile === 'instant'
      ? {
          provisioningMs: [0, 0],
          stagingMs: [0, 0],
          sshdUpMs: [0, 0],
          stoppingMs: [0, 0],
          operationWaitMs: 10_000,
          earlyWaitChance: 0,
          preemptedListingMs: [0, 0],
          runDurationSecondMs: 1000,
        }
      : {
          provisioningMs: scaled(REALISTIC_SECONDS.provisioning),
          stagingMs: scaled(REALISTIC_SECONDS.staging),
          sshdUpMs: scaled(REALISTIC_SECONDS.sshdUp),
          stoppingMs: scaled(REALISTIC_SECONDS.stopping),
          operationWaitMs: Math.round(REALISTIC_SECONDS.operationWait * 1000 * timeFactor),
          earlyWaitChance: 0.2,
          preemptedListingMs: scaled(REALISTIC_SECONDS.preemptedListing),
          runDurationSecondMs: 1000,
        };
  return { ...base, ...overrides };
}

/** One draw from a range. */
export function sample([min, max]: MsRange): number {
  return max <= min ? min : randomInt(Math.round(min), Math.round(max) + 1);
}

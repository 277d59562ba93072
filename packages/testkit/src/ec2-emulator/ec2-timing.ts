/**
 * How long the emulated cloud takes. `realistic` (the default) uses AWS's documented ranges,
 * multiplied by `timeFactor` so a suite runs in seconds while events keep their order and
 * relative length; `instant` boots at once (for tests that ask for it by name).
 *
 * Only the control plane is scaled: what runs inside a guest (a script's `sleep 60`, a
 * `shutdown +25` in user data) runs on the real clock, as it would on the instance.
 */
export type Ec2TimingProfile = 'realistic' | 'instant';

/** A duration range in ms; each event draws its own length uniformly from it. */
export type DurationRange = readonly [min: number, max: number];

export interface Ec2Timings {
  /** RunInstances → `running`. */
  pending: DurationRange;
  /** `running` → the guest boots (user data, then sshd). */
  sshUp: DurationRange;
  /** The guest finished booting → its console output is posted (what a non-`Latest` read sees). */
  consolePost: DurationRange;
  /** `shutting-down` → `terminated` (and `stopping` → `stopped`). */
  shutdown: DurationRange;
  /** After RunInstances, how long the new id is unknown to other calls (`InvalidInstanceID.NotFound`). */
  consistency: DurationRange;
  /** Spot interruption notice → reclaim (EC2: two minutes). */
  spotNotice: DurationRange;
  /** How long a terminated instance still counts toward the account's limits. */
  quotaLinger: DurationRange;
}

/** AWS's ranges, unscaled (EC2 user guide: instance lifecycle, console output, spot interruptions). */
export const REALISTIC_TIMINGS: Readonly<Ec2Timings> = Object.freeze<Ec2Timings>({
  pending: [10_000, 60_000],
  sshUp: [10_000, 60_000],
  consolePost: [60_000, 120_000],
  shutdown: [10_000, 60_000],
  consistency: [1_000, 5_000],
  spotNotice: [120_000, 120_000],
  quotaLinger: [60_000, 60_000],
});

const INSTANT_TIMINGS: Readonly<Ec2Timings> = Object.freeze<Ec2Timings>({
  pending: [0, 0],
  sshUp: [0, 0],
  consolePost: [0, 0],
  shutdown: [0, 0],
  consistency: [0, 0],
  spotNotice: [0, 0],
  quotaLinger: [0, 0],
});

/** The default scale of the realistic profile: a 60 s boot takes 0.6 s. */
export const DEFAULT_TIME_FACTOR = 0.01;

/** The timings of a profile, scaled, with explicit overrides (already in ms, not scaled). */
export function resolveTimings(
  profile: Ec2TimingProfile,
  timeFactor: number,
  overrides: Partial<Ec2Timings>,
): Ec2Timings {
  if (!(timeFactor > 0) || !Number.isFinite(timeFactor))
    throw new Error(`ec2 emulator: timeFactor must be a positive number, got ${timeFactor}`);
  const base = profile === 'instant' ? INSTANT_TIMINGS : REALISTIC_TIMINGS;
  const scaled = Object.fromEntries(
    Object.entries(base).map(([key, [min, max]]) => [key, [min * timeFactor, max * timeFactor]]),
  ) as unknown as Ec2Timings;
  for (const [key, range] of Object.entries(overrides) as [keyof Ec2Timings, DurationRange][]) {
    if (range === undefined) continue;
    if (!(range[0] >= 0 && range[1] >= range[0]))
      throw new Error(`ec2 emulator: timings.${key} must be [min, max] with 0 <= min <= max`);
    scaled[key] = range;
  }
  return scaled;
}

/** One draw from a range. */
export function draw([min, max]: DurationRange): number {
  return min + Math.random() * (max - min);
}

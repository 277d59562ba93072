import { ProviderApiError } from '@workerkit/core';

/** CPUs held by one container; `release` gives them back once (later calls do nothing). */
export interface CpuSetLease {
  readonly cpus: readonly number[];
  /** The `HostConfig.CpusetCpus` value ("0,1"). */
  readonly cpusetCpus: string;
  release(): void;
}

/**
 * Hands out disjoint sets of CPU indices from `0..size-1`, the lowest free ones first (the Go
 * worker's rule). Taking and giving back are synchronous, so concurrent starts in one process
 * can never get the same CPU; a lease releases at most once, so a double stop cannot free a
 * CPU another container holds.
 */
export class CpuSetAllocator {
  readonly size: number;
  readonly #used: boolean[];

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 1)
      throw new RangeError(`cpu set size must be a positive integer, got ${size}`);
    this.size = size;
    this.#used = new Array<boolean>(size).fill(false);
  }

  /** How many CPUs are free now. */
  get free(): number {
    return this.#used.filter((used) => !used).length;
  }

  /**
   * Takes `count` free CPUs, or throws a retryable `ProviderApiError` ("not enough free CPU
   * sets") when fewer are free: the job should be requeued, not failed.
   */
  acquire(count: number): CpuSetLease {
    if (!Number.isInteger(count) || count < 1)
      throw new RangeError(`cpu count must be a positive integer, got ${count}`);
    const cpus: number[] = [];
    for (let i = 0; i < this.size && cpus.length < count; i++) if (!this.#used[i]) cpus.push(i);
    if (cpus.length < count) {
      throw new ProviderApiError({
        provider: 'docker',
        operation: 'cpu set allocation',
        message: `not enough free CPU sets: ${count} CPUs wanted, ${cpus.length} of ${this.size} free`,
        retryable: true,
        code: 'cpu-sets-exhausted',
      });
    }
    for (const cpu of cpus) this.#used[cpu] = true;
    let released = false;
    return {
      cpus,
      cpusetCpus: cpus.join(','),
      release: () => {
        if (released) return;
        released = true;
        for (const cpu of cpus) this.#used[cpu] = false;
      },
    };
  }
}

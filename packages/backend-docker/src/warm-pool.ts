import type { Logger } from '@workerkit/core';

/** A started container waiting for a job. */
export interface WarmContainer {
  id: string;
  imageId: string;
  /** What its expiry label says: gc may remove it after this, claimed or not. */
  expiresAt: Date;
  /** Its HOST_OUTPUT_DIR directory, if any. */
  outputDir?: string;
}

export interface WarmPoolOptions {
  /** How many containers to keep ready or starting, across all images. */
  size: number;
  /** Creates and starts a container for the image (labelled, so gc finds it if we die). */
  launch(imageId: string): Promise<WarmContainer>;
  /** Removes a container without a grace period (it never ran a job), and what it holds. */
  remove(warm: WarmContainer): Promise<void>;
  logger: Logger;
}

interface Waiter {
  imageId: string;
  neededUntil: Date;
  resolve(container: WarmContainer | undefined): void;
}

/**
 * WARM_CONTAINERS: started containers kept ready so a job skips create and start, the two
 * slowest steps (the start alone is 70–170 ms of daemon work). The pool learns the images from
 * the jobs: `topUp` is called after a job's container is gone, so refills do not compete with a
 * running job for the CPU. A claim takes a ready container, or waits for one being started for
 * the same image, or gets nothing and the caller starts cold.
 */
export class WarmPool {
  readonly #options: WarmPoolOptions;
  readonly #ready: WarmContainer[] = [];
  readonly #launching = new Map<Promise<void>, string>();
  readonly #waiters: Waiter[] = [];
  readonly #removing = new Set<Promise<void>>();
  #closed = false;

  constructor(options: WarmPoolOptions) {
    this.#options = options;
  }

  /** Ready containers (for tests and metrics). */
  get readyCount(): number {
    return this.#ready.length;
  }

  /**
   * A container of `imageId` whose expiry label lasts until `neededUntil` (a job longer than
   * that gets none, or gc could remove it mid-job), or undefined: start one cold.
   */
  async claim(imageId: string, neededUntil: Date, signal?: AbortSignal): Promise<WarmContainer | undefined> {
    signal?.throwIfAborted();
    if (this.#closed) return undefined;
    const index = this.#ready.findIndex((warm) => warm.imageId === imageId && lasts(warm, neededUntil));
    if (index !== -1) return this.#ready.splice(index, 1)[0];
    const launching = [...this.#launching.values()].filter((id) => id === imageId).length;
    const waiting = this.#waiters.filter((waiter) => waiter.imageId === imageId).length;
    if (launching <= waiting) return undefined;
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        const index = this.#waiters.indexOf(waiter);
        if (index !== -1) this.#waiters.splice(index, 1);
        reject(signal!.reason);
      };
      const waiter: Waiter = {
        imageId,
        neededUntil,
        resolve: (warm) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(warm);
        },
      };
      this.#waiters.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * Starts containers of `imageId` in the background until the pool holds `size`; ready ones of
   * other images make room (the newest job's image is the likeliest next one). Failures are
   * logged: the next job then starts cold and reports the daemon's error itself.
   */
  topUp(imageId: string): void {
    if (this.#closed) return;
    while (this.#ready.length + this.#launching.size > this.#options.size - 1) {
      const evictable = this.#ready.findIndex((warm) => warm.imageId !== imageId);
      if (evictable === -1) return;
      const [evicted] = this.#ready.splice(evictable, 1);
      this.#discard(evicted!);
    }
    const launch: Promise<void> = this.#options
      .launch(imageId)
      .then(
        (warm) => this.#arrived(warm),
        (error: unknown) => {
          this.#options.logger.warn('docker: starting a warm container failed; jobs start cold', {
            image: imageId,
            error: error instanceof Error ? error.message : String(error),
          });
          this.#failed(imageId);
        },
      )
      .finally(() => this.#launching.delete(launch));
    this.#launching.set(launch, imageId);
    this.topUp(imageId);
  }

  /** Resolves once no container is being started (the pool is as full as it gets). */
  async idle(): Promise<void> {
    while (this.#launching.size > 0) await Promise.all(this.#launching.keys());
  }

  /** Stops refilling and removes every ready container, waiting for those being started. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const waiter of this.#waiters.splice(0)) waiter.resolve(undefined);
    await this.idle();
    for (const warm of this.#ready.splice(0)) this.#discard(warm);
    await Promise.all(this.#removing);
  }

  #arrived(warm: WarmContainer): void {
    if (this.#closed) {
      this.#discard(warm);
      return;
    }
    const index = this.#waiters.findIndex(
      (waiter) => waiter.imageId === warm.imageId && lasts(warm, waiter.neededUntil),
    );
    if (index !== -1) this.#waiters.splice(index, 1)[0]!.resolve(warm);
    else this.#ready.push(warm);
  }

  /** A launch failed: one waiter for that image gets nothing and starts cold. */
  #failed(imageId: string): void {
    const index = this.#waiters.findIndex((waiter) => waiter.imageId === imageId);
    if (index !== -1) this.#waiters.splice(index, 1)[0]!.resolve(undefined);
  }

  /** Removes a container nobody will claim; `close` waits for these. */
  #discard(warm: WarmContainer): void {
    const removal: Promise<void> = this.#options
      .remove(warm)
      .catch((error: unknown) => {
        this.#options.logger.error('docker: removing a warm container failed; gc will remove it', {
          container: warm.id.slice(0, 12),
          error: error instanceof Error ? error.message : String(error),
        });
      })
      .finally(() => this.#removing.delete(removal));
    this.#removing.add(removal);
  }
}

function lasts(warm: WarmContainer, neededUntil: Date): boolean {
  return warm.expiresAt.getTime() >= neededUntil.getTime();
}

import { RecordingLogger } from '@workerkit/testkit';
import { describe, expect, it } from 'vitest';
import { type WarmContainer, WarmPool } from './warm-pool.js';

const LATER = new Date(Date.now() + 60 * 60_000);
const MUCH_LATER = new Date(Date.now() + 48 * 60 * 60_000);

/** A pool whose launches the test finishes by hand, recording what it launched and removed. */
function pool(size: number) {
  const launches: { imageId: string; finish(ok?: boolean): void }[] = [];
  const removed: string[] = [];
  const logger = new RecordingLogger();
  let next = 0;
  const warm = new WarmPool({
    size,
    launch: (imageId) =>
      new Promise<WarmContainer>((resolve, reject) => {
        const id = `c${next++}`;
        launches.push({
          imageId,
          finish: (ok = true) =>
            ok
              ? resolve({ id, imageId, expiresAt: new Date(Date.now() + 24 * 60 * 60_000) })
              : reject(new Error('boom')),
        });
      }),
    remove: async (warm) => {
      removed.push(warm.id);
    },
    logger,
  });
  return { warm, launches, removed, logger };
}

describe('WarmPool', () => {
  it('tops up to its size for an image and hands ready containers out', async () => {
    const { warm, launches } = pool(2);
    warm.topUp('img-a');
    expect(launches.map((l) => l.imageId)).toEqual(['img-a', 'img-a']);
    warm.topUp('img-a');
    expect(launches).toHaveLength(2);
    for (const launch of launches) launch.finish();
    await warm.idle();
    expect(warm.readyCount).toBe(2);
    expect((await warm.claim('img-a', LATER))?.id).toBe('c0');
    expect(await warm.claim('img-b', LATER)).toBeUndefined();
    expect(warm.readyCount).toBe(1);
  });

  it('a claim waits for a container being started for its image instead of starting cold', async () => {
    const { warm, launches } = pool(1);
    warm.topUp('img-a');
    const claimed = warm.claim('img-a', LATER);
    // Only one is being started: a second claim gets nothing rather than waiting in line.
    expect(await warm.claim('img-a', LATER)).toBeUndefined();
    launches[0]!.finish();
    expect((await claimed)?.id).toBe('c0');
    expect(warm.readyCount).toBe(0);
  });

  it('a failed launch is logged and its waiter starts cold', async () => {
    const { warm, launches, logger } = pool(1);
    warm.topUp('img-a');
    const claimed = warm.claim('img-a', LATER);
    launches[0]!.finish(false);
    expect(await claimed).toBeUndefined();
    expect(logger.lines.map((line) => line.message)).toContain(
      'docker: starting a warm container failed; jobs start cold',
    );
  });

  it('an aborted waiting claim rejects with the reason and leaves the container in the pool', async () => {
    const { warm, launches } = pool(1);
    warm.topUp('img-a');
    const controller = new AbortController();
    const claimed = warm.claim('img-a', LATER, controller.signal);
    const reason = new Error('stop');
    controller.abort(reason);
    await expect(claimed).rejects.toBe(reason);
    launches[0]!.finish();
    await warm.idle();
    expect(warm.readyCount).toBe(1);
  });

  it('gives no container whose expiry label ends before the job would', async () => {
    const { warm, launches } = pool(1);
    warm.topUp('img-a');
    launches[0]!.finish();
    await warm.idle();
    expect(await warm.claim('img-a', MUCH_LATER)).toBeUndefined();
    expect(warm.readyCount).toBe(1);
  });

  it("a new image's top-up evicts ready containers of other images", async () => {
    const { warm, launches, removed } = pool(1);
    warm.topUp('img-a');
    launches[0]!.finish();
    await warm.idle();
    warm.topUp('img-b');
    expect(removed).toEqual(['c0']);
    expect(launches.map((l) => l.imageId)).toEqual(['img-a', 'img-b']);
  });

  it('close waits for launches, removes every ready container, and stops refilling', async () => {
    const { warm, launches, removed } = pool(2);
    warm.topUp('img-a');
    const waiting = warm.claim('img-a', LATER);
    const closing = warm.close();
    expect(await waiting).toBeUndefined();
    for (const launch of launches) launch.finish();
    await closing;
    expect(removed.sort()).toEqual(['c0', 'c1']);
    warm.topUp('img-a');
    expect(launches).toHaveLength(2);
    expect(await warm.claim('img-a', LATER)).toBeUndefined();
  });
});

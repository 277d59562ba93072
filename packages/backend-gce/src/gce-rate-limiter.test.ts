import { AsyncLocalStorage } from 'node:async_hooks';
import { settlesBeforeTimer } from '@workerkit/testkit';
import { describe, expect, it } from 'vitest';
import { GceRateLimiter } from './gce-rate-limiter.js';

describe('GceRateLimiter', () => {
  it('lets at most maxCalls start in any window, first come first served', async () => {
    // Each caller's grant time on the limiter's own clock: the last time it read while working
    // for that caller (the read that let it through). Times taken when callers resume would
    // include however late a loaded machine runs them, and shrink the gaps measured here.
    const caller = new AsyncLocalStorage<number>();
    const granted: number[] = [];
    const now = () => {
      const at = performance.now();
      const i = caller.getStore();
      if (i !== undefined) granted[i] = at;
      return at;
    };
    const limiter = new GceRateLimiter({ maxCalls: 3, durationMs: 200, now });
    const started = performance.now();
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 9 }, (_, i) =>
        caller.run(i, async () => {
          await limiter.acquire();
          order.push(i);
        }),
      ),
    );
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    // 9 calls at 3 per 200 ms: the last three wait for two full windows.
    expect(granted[8]! - started).toBeGreaterThanOrEqual(400);
    // In any 200 ms, at most 3 grants: each grant is a full window after the one 3 before it.
    for (let i = 3; i < 9; i++) expect(granted[i]! - granted[i - 3]!).toBeGreaterThanOrEqual(200);
  });

  it('holds every caller back while paused (throttling seen)', async () => {
    const limiter = new GceRateLimiter({ maxCalls: 100, durationMs: 1000 });
    limiter.pause(300);
    const started = performance.now();
    await Promise.all([limiter.acquire(), limiter.acquire()]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
  });

  it('rejects a waiting caller on abort without blocking the queue', async () => {
    const limiter = new GceRateLimiter({ maxCalls: 1, durationMs: 300 });
    await limiter.acquire();
    const controller = new AbortController();
    const waiting = limiter.acquire(controller.signal);
    controller.abort(new Error('gone'));
    await expect(waiting).rejects.toThrow('gone');
    expect(limiter.queueLength).toBe(0);
    // The queue goes on: the next caller gets the slot when the first one's window ends (300 ms),
    // not a window later as it would had the aborted caller kept its turn.
    expect(await settlesBeforeTimer(limiter.acquire(), 450)).toBe(true);
  });
});

import { describe, expect, it } from 'vitest';
import { GceRateLimiter } from './gce-rate-limiter.js';

describe('GceRateLimiter', () => {
  it('lets at most maxCalls start in any window, first come first served', async () => {
    const limiter = new GceRateLimiter({ maxCalls: 3, durationMs: 200 });
    const started = performance.now();
    const times: number[] = [];
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 9 }, async (_, i) => {
        await limiter.acquire();
        order.push(i);
        times.push(performance.now() - started);
      }),
    );
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    // 9 calls at 3 per 200 ms: the last three wait for two full windows.
    expect(times[8]!).toBeGreaterThanOrEqual(390);
    // Each time is taken when its caller resumes, which a loaded machine can delay after the
    // grant (CI saw 8 ms): a late first side shortens a gap by that much. No limit at all, or a
    // window half as long, still fails.
    const schedulingSlackMs = 30;
    for (let i = 3; i < 9; i++)
      expect(times[i]! - times[i - 3]!).toBeGreaterThanOrEqual(200 - schedulingSlackMs);
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
    const started = performance.now();
    await limiter.acquire();
    expect(performance.now() - started).toBeLessThan(400);
  });
});

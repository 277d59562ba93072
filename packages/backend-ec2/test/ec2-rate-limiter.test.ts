import { settlesBeforeTimer } from '@workerkit/testkit';
import { describe, expect, it } from 'vitest';
import { Ec2RateLimiter } from '../src/index.js';

describe('adaptive rate limiter', () => {
  it('lets a burst of `rate` calls through at once, then paces the rest', async () => {
    const limiter = new Ec2RateLimiter(20);
    const started = performance.now();
    // At once: no caller waits for a timer, so all 20 are through before an immediate runs.
    let immediateRan = false;
    setImmediate(() => {
      immediateRan = true;
    });
    for (let i = 0; i < 20; i++) await limiter.acquire();
    expect(immediateRan).toBe(false);
    await Promise.all(Array.from({ length: 4 }, () => limiter.acquire()));
    // Four more tokens at 20/s take about 200 ms.
    expect(performance.now() - started).toBeGreaterThanOrEqual(180);
  });

  it('halves its rate on throttling, once per burst, and recovers on success', () => {
    const limiter = new Ec2RateLimiter(10);
    limiter.onThrottled();
    limiter.onThrottled();
    expect(limiter.rate).toBe(5);
    for (let i = 0; i < 200; i++) limiter.onSuccess();
    expect(limiter.rate).toBe(10);
  });

  it('never drops below its floor', () => {
    const limiter = new Ec2RateLimiter(1, { minRate: 0.5 });
    limiter.onThrottled();
    expect(limiter.rate).toBe(0.5);
  });

  it('gives a waiting caller up on abort and returns its reservation', async () => {
    const limiter = new Ec2RateLimiter(2);
    await limiter.acquire();
    await limiter.acquire();
    const controller = new AbortController();
    const waiting = limiter.acquire(controller.signal);
    controller.abort(new Error('cancelled'));
    await expect(waiting).rejects.toThrow('cancelled');
    // One token away (500 ms at 2/s). Had the aborted reservation been kept, it would be two (1 s).
    expect(await settlesBeforeTimer(limiter.acquire(), 750)).toBe(true);
  });
});

// One process of the shared-limiter bench: takes `calls` slots from the shared limiter with
// `concurrency` callers at once and reports when it finished (ms since the epoch).
import { openFleetSession } from '@workerkit/redis';

const orders = JSON.parse(process.env.LIMITER_WORKER ?? '{}');
const silent = { debug() {}, info() {}, warn: (m) => process.stderr.write(`warn: ${m}\n`), error() {} };
const session = openFleetSession({
  url: orders.url,
  prefix: orders.prefix,
  ownerId: `limiter-bench_${process.pid}`,
  ownerLeaseTtlMs: 60_000,
  backend: 'bench',
  logger: silent,
});
const limiter = session.rateLimiter({
  name: 'api',
  maxCalls: orders.maxCalls,
  durationMs: orders.durationMs,
  fallback: async () => {},
});
// Connected before the start signal, so connection time is not counted.
await limiter.acquire();
process.stdout.write('ready\n');
await new Promise((resolve) => process.stdin.once('data', resolve));
let remaining = orders.calls;
let viaRedis = 0;
await Promise.all(
  Array.from({ length: orders.concurrency }, async () => {
    while (remaining > 0) {
      remaining -= 1;
      if ((await limiter.acquire()) === 'redis') viaRedis += 1;
    }
  }),
);
process.stdout.write(`${JSON.stringify({ finishedAt: Date.now(), viaRedis })}\n`);
await session.close();

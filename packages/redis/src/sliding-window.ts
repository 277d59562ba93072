import type { Redis } from 'ioredis';

/**
 * One atomic step of the shared limiter, on the Redis server's clock (workers' clocks may
 * differ): forget calls older than the window, then either record this call and answer 0, or
 * answer how many ms until the oldest call leaves the window. A sliding log (sorted set of call
 * times) rather than Go's fixed window, whose counter lets up to twice the limit through around
 * a window boundary.
 */
const SLIDING_WINDOW_SCRIPT = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local max_calls = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < max_calls then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, tonumber(oldest[2]) + window - now)
`;

/** Takes a slot for one call: 0 when taken, else the ms to wait before trying again. */
export async function takeSlot(
  client: Redis,
  key: string,
  maxCalls: number,
  windowMs: number,
  callId: string,
): Promise<number> {
  const answer = await client.eval(SLIDING_WINDOW_SCRIPT, 1, key, maxCalls, Math.ceil(windowMs), callId);
  return Number(answer);
}

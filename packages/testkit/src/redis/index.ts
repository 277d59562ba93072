export { ensureRedisInstalled, REDIS_SERVER_PATH } from './ensure-redis-installed.js';
export type { RedisHandle, StartRedisOptions } from './start-redis.js';
export { startRedis } from './start-redis.js';

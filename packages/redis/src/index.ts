import { registerFleetModule } from '@workerkit/core';
import { openFleetSession } from './fleet-session.js';

export type { Limits } from './dynamic-limits.js';
export { DynamicLimits } from './dynamic-limits.js';
export type { OpenFleetSessionOptions } from './fleet-session.js';
export { openFleetSession, RedisFleetSession } from './fleet-session.js';
export { OWNER_SEEN_TTL_MS, OwnerLeaseKeeper, RedisOwnerLeases } from './owner-leases.js';
export type { RedisConnectionOptions } from './redis-connection.js';
export { connectRedis } from './redis-connection.js';
export type { SharedRateLimiterOptions } from './shared-rate-limiter.js';
export { SharedRateLimiter } from './shared-rate-limiter.js';
export { takeSlot } from './sliding-window.js';

// Backends load this package lazily and find it here, wherever it was installed from.
registerFleetModule({ openFleetSession });

import { option } from '../config/define-options.js';
import { optionTypes } from '../config/option-types.js';
import { parseRedisUrl, REDIS_URL_EXPECTED } from './redis-url.js';

const redisUrl = optionTypes.custom(REDIS_URL_EXPECTED, (raw) =>
  parseRedisUrl(raw) === undefined ? undefined : raw.trim(),
);

const positiveDuration = optionTypes.custom<number>('a positive duration such as "10s" or "1m"', (raw) => {
  const ms = optionTypes.duration().parse(raw);
  return ms !== undefined && ms > 0 ? ms : undefined;
});

/**
 * The fleet options a cloud backend adds next to its RATE_LIMIT_MAX_CALLS and
 * RATE_LIMIT_DURATION: the Go worker's Redis rate-limit options, plus the owner-lease TTL that
 * lets `workerkit gc` on any machine tell a dead worker's resources. `api` names the API in
 * the help ("GCE API"); `limiterName` is the Redis key part (Go: "gce-api").
 */
export function fleetOptions({ api, limiterName }: { api: string; limiterName: string }) {
  return {
    RATE_LIMIT_REDIS_URL: option(redisUrl, {
      description: `URL to Redis instance to use for rate limiting: the RATE_LIMIT_MAX_CALLS per RATE_LIMIT_DURATION to the ${api} are then shared by every worker using it (needs the @workerkit/redis package); the same Redis holds the owner leases for gc. Unset: each worker process limits itself`,
      secret: true,
    }),
    RATE_LIMIT_PREFIX: option(optionTypes.string(), {
      description: `prefix for the rate limit key in Redis (keys: {prefix}:${limiterName}:…)`,
      default: 'workerkit',
    }),
    RATE_LIMIT_DYNAMIC_CONFIG: option(optionTypes.bool(), {
      description: `get max-calls and duration dynamically through redis (keys {prefix}:${limiterName}:max_calls and {prefix}:${limiterName}:duration override RATE_LIMIT_MAX_CALLS and RATE_LIMIT_DURATION)`,
      default: 'false',
    }),
    RATE_LIMIT_DYNAMIC_CONFIG_TTL: option(positiveDuration, {
      description: 'time to cache dynamic config for (the Go worker documented 1m and used 10s)',
      default: '10s',
    }),
    OWNER_LEASE_TTL: option(positiveDuration, {
      description:
        "with RATE_LIMIT_REDIS_URL: how long this worker's owner lease lives without renewal (renewed every third of it); gc on any machine deletes resources of an owner whose lease has expired",
      default: '2m',
    }),
  };
}

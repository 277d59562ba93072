import { WorkerkitError } from '../errors/workerkit-error.js';
import type { Logger } from '../logger.js';
import type { RateLimiterKind } from '../telemetry/api-telemetry.js';
import type { OwnerLeaseStore } from './owner-leases.js';

/**
 * The contract between a cloud backend and `@workerkit/redis`, so a backend can load that
 * package lazily (only when RATE_LIMIT_REDIS_URL is set) without a build-time dependency on it.
 */
export interface FleetSessionOptions {
  /** RATE_LIMIT_REDIS_URL (already validated). */
  url: string;
  /** RATE_LIMIT_PREFIX: every key starts with `<prefix>:`. */
  prefix: string;
  /** The owner id this worker labels its resources with; its lease is renewed while the session is open. */
  ownerId: string;
  /** OWNER_LEASE_TTL in ms. */
  ownerLeaseTtlMs: number;
  /** Backend alias, for logs and telemetry. */
  backend: string;
  logger: Logger;
}

export interface FleetRateLimiterOptions {
  /** Key part naming the limit (Go: "gce-api"); workers sharing prefix and name share the limit. */
  name: string;
  maxCalls: number;
  durationMs: number;
  /** RATE_LIMIT_DYNAMIC_CONFIG: read max_calls and duration from Redis, cached this long (undefined: off). */
  dynamicConfigTtlMs?: number | undefined;
  /** The per-process limiter used while Redis cannot be reached. */
  fallback: (signal?: AbortSignal) => Promise<void>;
}

export interface FleetRateLimiter {
  /** Resolves when one call may go; says which limiter let it through. Never fails because of Redis. */
  acquire(signal?: AbortSignal): Promise<RateLimiterKind>;
}

export interface FleetSession {
  readonly ownerLeases: OwnerLeaseStore;
  rateLimiter(options: FleetRateLimiterOptions): FleetRateLimiter;
  /** Stops renewing the owner lease (it then expires) and closes the connection. */
  close(): Promise<void>;
}

/** What `@workerkit/redis` exports for backends. */
export interface FleetModule {
  openFleetSession(options: FleetSessionOptions): FleetSession;
}

export const FLEET_PACKAGE = '@workerkit/redis';

const GLOBAL_KEY = Symbol.for('workerkit.fleet-module.v1');
type GlobalWithFleet = typeof globalThis & { [GLOBAL_KEY]?: FleetModule };

/** `@workerkit/redis` registers itself here when imported, so a backend finds it wherever it was installed. */
export function registerFleetModule(module: FleetModule): void {
  (globalThis as GlobalWithFleet)[GLOBAL_KEY] ??= module;
}

/**
 * The fleet module: the registered one, or `importFromBackend()` (an `import('@workerkit/redis')`
 * resolved from the backend's own package). A missing package is an error naming it.
 */
export async function loadFleetModule(
  backendPackage: string,
  importFromBackend: () => Promise<unknown>,
): Promise<FleetModule> {
  const registered = (globalThis as GlobalWithFleet)[GLOBAL_KEY];
  if (registered) return registered;
  try {
    await importFromBackend();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException | undefined)?.code;
    if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') throw error;
    throw new WorkerkitError({
      message: `RATE_LIMIT_REDIS_URL is set but ${FLEET_PACKAGE} is not installed: install it next to ${backendPackage} (npm install ${FLEET_PACKAGE})`,
      cause: error,
    });
  }
  const loaded = (globalThis as GlobalWithFleet)[GLOBAL_KEY];
  if (!loaded)
    throw new WorkerkitError({ message: `${FLEET_PACKAGE} was imported but did not register itself` });
  return loaded;
}

import type { RateLimiterKind } from '../telemetry/api-telemetry.js';
import type { FleetRateLimiterOptions, FleetSession, FleetSessionOptions } from './fleet-session.js';
import { loadFleetModule } from './fleet-session.js';
import type { OwnerLeaseStore } from './owner-leases.js';

export interface FleetLinkOptions {
  /** The backend's package, named when `@workerkit/redis` is missing. */
  backendPackage: string;
  /** `() => import('@workerkit/redis')`, written in the backend so it resolves from there. */
  importFleet: () => Promise<unknown>;
  session: FleetSessionOptions;
}

/**
 * A backend's lazy link to the fleet: `@workerkit/redis` is imported and the Redis session
 * opened on first use (the first rate-limited API call, or a lease lookup), so a backend with
 * RATE_LIMIT_REDIS_URL still imports nothing heavy and connects nowhere until it works.
 */
export class FleetLink {
  readonly #options: FleetLinkOptions;
  #session: Promise<FleetSession> | undefined;
  #closed = false;

  constructor(options: FleetLinkOptions) {
    this.#options = options;
  }

  /** The fleet session, opened once (a failed import is retried on the next use). */
  session(): Promise<FleetSession> {
    if (this.#closed) return Promise.reject(new Error('the fleet link is closed'));
    this.#session ??= loadFleetModule(this.#options.backendPackage, this.#options.importFleet).then(
      (module) => module.openFleetSession(this.#options.session),
      (error: unknown) => {
        this.#session = undefined;
        throw error;
      },
    );
    return this.#session;
  }

  /** Owner leases in the fleet's Redis (for `reap`). */
  readonly ownerLeases: OwnerLeaseStore = {
    leaseStates: async (ownerIds, options) =>
      (await this.session()).ownerLeases.leaseStates(ownerIds, options),
  };

  /** A shared rate limiter, created with the session. */
  rateLimiter(options: FleetRateLimiterOptions): { acquire(signal?: AbortSignal): Promise<RateLimiterKind> } {
    let limiter: Promise<{ acquire(signal?: AbortSignal): Promise<RateLimiterKind> }> | undefined;
    return {
      acquire: async (signal) => {
        limiter ??= this.session().then(
          (session) => session.rateLimiter(options),
          (error: unknown) => {
            limiter = undefined;
            throw error;
          },
        );
        return (await limiter).acquire(signal);
      },
    };
  }

  /** Closes the session if one was opened: the owner lease stops being renewed. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const session = await this.#session?.catch(() => undefined);
    await session?.close();
  }
}

/** The parsed values of `fleetOptions(...)`. */
export interface FleetOptionValues {
  RATE_LIMIT_REDIS_URL?: string | undefined;
  RATE_LIMIT_PREFIX: string;
  RATE_LIMIT_DYNAMIC_CONFIG: boolean;
  RATE_LIMIT_DYNAMIC_CONFIG_TTL: number;
  OWNER_LEASE_TTL: number;
}

/** The backend's fleet link when RATE_LIMIT_REDIS_URL is set; undefined (no Redis) otherwise. */
export function fleetLinkFor(
  values: FleetOptionValues,
  link: Omit<FleetLinkOptions, 'session'> & Pick<FleetSessionOptions, 'backend' | 'ownerId' | 'logger'>,
): FleetLink | undefined {
  if (!values.RATE_LIMIT_REDIS_URL) return undefined;
  return new FleetLink({
    backendPackage: link.backendPackage,
    importFleet: link.importFleet,
    session: {
      url: values.RATE_LIMIT_REDIS_URL,
      prefix: values.RATE_LIMIT_PREFIX,
      ownerId: link.ownerId,
      ownerLeaseTtlMs: values.OWNER_LEASE_TTL,
      backend: link.backend,
      logger: link.logger,
    },
  });
}

/** RATE_LIMIT_DYNAMIC_CONFIG_TTL when RATE_LIMIT_DYNAMIC_CONFIG is on, else undefined. */
export function dynamicConfigTtl(values: FleetOptionValues): number | undefined {
  return values.RATE_LIMIT_DYNAMIC_CONFIG ? values.RATE_LIMIT_DYNAMIC_CONFIG_TTL : undefined;
}

import { LIFECYCLE_LABELS, lifecycleLabels } from '../lifecycle/labels.js';
import type { OwnerLiveness } from '../lifecycle/reap.js';
import type { SignalOptions } from '../provider.js';

/**
 * What a fleet-wide store (Redis) knows about an owner: `live` while its worker renews its
 * lease, `expired` once a worker that held one stopped renewing, `unknown` when no worker with
 * that id ever held one there (a worker without the store, or a store that lost its data).
 */
export type OwnerLeaseState = 'live' | 'expired' | 'unknown';

/** Owner leases shared by a fleet; `@workerkit/redis` implements it. */
export interface OwnerLeaseStore {
  /** The lease state of each owner id; throws when the store cannot be read. */
  leaseStates(ownerIds: readonly string[], options?: SignalOptions): Promise<Map<string, OwnerLeaseState>>;
}

/** A provider whose resources' owners can be checked in a fleet-wide lease store. */
export interface WithOwnerLeases {
  /** Set when the provider is configured with a shared store (RATE_LIMIT_REDIS_URL). */
  readonly ownerLeases?: OwnerLeaseStore | undefined;
}

/**
 * Combines a local rule with lease states: the local answer wins when it has one (a pid on
 * this host tells for sure), else a live lease means alive, an expired one gone, and an owner
 * the store never saw stays "cannot tell" — so a worker that never used the store is never
 * reaped for lacking a lease.
 */
export function withLeaseStates(
  local: OwnerLiveness,
  states: ReadonlyMap<string, OwnerLeaseState>,
): OwnerLiveness {
  return (ownerId) => {
    const known = local(ownerId);
    if (known !== undefined) return known;
    const state = states.get(ownerId);
    if (state === 'live') return true;
    if (state === 'expired') return false;
    return undefined;
  };
}

/**
 * The owner id as resource labels carry it (lower-case, `[a-z0-9_-]`, at most 63 characters):
 * leases are stored under this form so gc finds them from a resource's labels.
 */
export function leaseOwnerId(ownerId: string): string {
  return lifecycleLabels({ ownerId, expiresAt: new Date(0) })[LIFECYCLE_LABELS.owner]!;
}

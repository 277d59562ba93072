import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { type OwnerLeaseStore, type WithOwnerLeases, withLeaseStates } from '../fleet/owner-leases.js';
import type { Provider, SignalOptions } from '../provider.js';
import { defaultOwnerId } from './labels.js';
import type { ManagedResource } from './managed-resource.js';

export type OwnerLiveness = (ownerId: string) => boolean | undefined;

export interface ReapOptions extends SignalOptions {
  now?: Date;
  /**
   * Says whether an owner is alive: true, false, or undefined for "cannot tell" (then only the
   * expiry decides). Default: `localOwnerLiveness`.
   */
  isOwnerAlive?: OwnerLiveness;
  /** Report what would be deleted without deleting it. */
  dryRun?: boolean;
  /**
   * Fleet-wide owner leases consulted when `isOwnerAlive` cannot tell (default: the provider's
   * own `ownerLeases`, set when it is configured with Redis). An owner whose lease expired is gone.
   */
  ownerLeases?: OwnerLeaseStore | undefined;
  /** Told when the lease store cannot be read; reaping then goes on with `isOwnerAlive` alone. */
  onLeaseStoreError?: (error: unknown) => void;
}

export interface ReapDecision {
  resource: ManagedResource;
  why: 'expired' | 'owner-gone';
  deleted: boolean;
  error?: unknown;
}

/**
 * Deletes every resource of `provider` whose expiry has passed or whose owner is gone. Each
 * deletion is independent: one failure is reported and the rest go on.
 */
export async function reap(
  provider: Pick<Provider, 'listManagedResources' | 'deleteManagedResource'> & WithOwnerLeases,
  options: ReapOptions = {},
): Promise<ReapDecision[]> {
  const now = options.now ?? new Date();
  const resources = await provider.listManagedResources(options);
  const isOwnerAlive = await ownerLiveness(resources, options, options.ownerLeases ?? provider.ownerLeases);
  const decisions: ReapDecision[] = [];
  for (const resource of resources) {
    const why = reapReason(resource, now, isOwnerAlive);
    if (!why) continue;
    const decision: ReapDecision = { resource, why, deleted: false };
    if (!options.dryRun) {
      try {
        await provider.deleteManagedResource(resource, options);
        decision.deleted = true;
      } catch (error) {
        options.signal?.throwIfAborted();
        decision.error = error;
      }
    }
    decisions.push(decision);
  }
  return decisions;
}

async function ownerLiveness(
  resources: readonly ManagedResource[],
  options: ReapOptions,
  leases: OwnerLeaseStore | undefined,
): Promise<OwnerLiveness> {
  const local = options.isOwnerAlive ?? localOwnerLiveness;
  const owners = [
    ...new Set(resources.flatMap((r) => (r.ownerId && local(r.ownerId) === undefined ? [r.ownerId] : []))),
  ];
  if (!leases || owners.length === 0) return local;
  try {
    return withLeaseStates(local, await leases.leaseStates(owners, options));
  } catch (error) {
    options.signal?.throwIfAborted();
    options.onLeaseStoreError?.(error);
    return local;
  }
}

export function reapReason(
  resource: ManagedResource,
  now: Date,
  isOwnerAlive: OwnerLiveness,
): ReapDecision['why'] | undefined {
  if (resource.expiresAt && resource.expiresAt.getTime() <= now.getTime()) return 'expired';
  if (resource.ownerId && isOwnerAlive(resource.ownerId) === false) return 'owner-gone';
  return undefined;
}

/**
 * Knows about owners on this host only: an owner id made by `defaultOwnerId` on this host whose
 * pid no longer runs is gone. Owners elsewhere are "cannot tell".
 */
export function localOwnerLiveness(ownerId: string): boolean | undefined {
  const separator = ownerId.lastIndexOf('_');
  const pid = Number(ownerId.slice(separator + 1));
  if (separator === -1 || !Number.isInteger(pid) || pid <= 0) return undefined;
  if (defaultOwnerId(pid, hostname()) !== ownerId) return undefined;
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  return !isZombie(pid);
}

/**
 * A worker that died but was not reaped (its parent does not wait, or an init that does not
 * reap orphans) is still found by `kill(pid, 0)`; Linux's /proc says it is a zombie. Elsewhere
 * (no /proc) the answer is "not a zombie".
 */
function isZombie(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return false;
  }
  // "pid (comm) state …": comm may hold spaces and parentheses, the state follows the last ")".
  const state = stat.charAt(stat.lastIndexOf(')') + 2);
  return state === 'Z' || state === 'X';
}

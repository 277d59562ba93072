import { hostname } from 'node:os';
import type { ManagedResource } from './managed-resource.js';

/**
 * Label keys on everything a provider creates. Lower-case with dashes only, so the same keys
 * are valid as Docker labels, GCE labels and EC2 tags.
 */
export const LIFECYCLE_LABELS = Object.freeze({
  managed: 'workerkit',
  owner: 'workerkit-owner',
  job: 'workerkit-job',
  expiresAt: 'workerkit-expires-at',
});

/** Slack added to the hard timeout before a resource counts as expired. */
export const DEFAULT_EXPIRY_GRACE_MS = 15 * 60_000;

/** A job without a hard timeout still expires: the Go worker's default hard timeout is 50 min. */
export const DEFAULT_HARD_TIMEOUT_MS = 50 * 60_000;

export interface LifecycleInfo {
  ownerId: string;
  jobId?: string;
  expiresAt: Date;
}

/** The labels to put on a new resource. Values fit GCE's rules (`[a-z0-9_-]`, ≤ 63 chars). */
export function lifecycleLabels(info: LifecycleInfo): Record<string, string> {
  return {
    [LIFECYCLE_LABELS.managed]: 'true',
    [LIFECYCLE_LABELS.owner]: labelValue(info.ownerId),
    [LIFECYCLE_LABELS.job]: labelValue(info.jobId ?? 'none'),
    [LIFECYCLE_LABELS.expiresAt]: String(Math.floor(info.expiresAt.getTime() / 1000)),
  };
}

/** When a resource for a job with this hard timeout expires. */
export function expiryFor(hardTimeoutMs: number | undefined, now = Date.now()): Date {
  return new Date(now + (hardTimeoutMs || DEFAULT_HARD_TIMEOUT_MS) + DEFAULT_EXPIRY_GRACE_MS);
}

/** Reads lifecycle labels back; undefined when the resource is not workerkit's. */
export function readLifecycleLabels(
  labels: Readonly<Record<string, string | undefined>> | undefined,
): Omit<ManagedResource, 'kind' | 'id'> | undefined {
  if (labels?.[LIFECYCLE_LABELS.managed] !== 'true') return undefined;
  const expires = Number(labels[LIFECYCLE_LABELS.expiresAt]);
  const job = labels[LIFECYCLE_LABELS.job];
  return {
    ...(labels[LIFECYCLE_LABELS.owner] ? { ownerId: labels[LIFECYCLE_LABELS.owner] } : {}),
    ...(job && job !== 'none' ? { jobId: job } : {}),
    ...(Number.isFinite(expires) && expires > 0 ? { expiresAt: new Date(expires * 1000) } : {}),
  };
}

function labelValue(value: string): string {
  return value
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .slice(0, 63);
}

/**
 * This process's owner id: `<host>_<pid>`. `reap` can tell from it that an owner on this host
 * is gone (its pid no longer runs).
 */
export function defaultOwnerId(pid = process.pid, host = hostname()): string {
  return `${labelValue(host).slice(0, 48)}_${pid}`;
}

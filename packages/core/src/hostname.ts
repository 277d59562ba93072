import { randomUUID } from 'node:crypto';

const SLUG_PART_MAX = 14;

/**
 * A hostname for a job's instance: `<prefix>-<owner>-<repo>-<jobId>` with each slug part made of
 * `[a-z0-9-]`, cut to 14 characters, dashes collapsed — the Go worker's rules, so names stay
 * recognisable to existing cleanup tools. Without a job id or repository:
 * `<prefix>-unk-unk-<uuid>`.
 */
export function hostnameFromJob(
  job: { jobId?: string | number; repository?: string },
  prefix = 'travis-job',
): string {
  const [owner, repo] = (job.repository ?? '').split('/', 2);
  if (job.jobId === undefined || job.jobId === '' || !owner || !repo) {
    return `${prefix}-unk-unk-${randomUUID()}`;
  }
  const part = (s: string) => s.replace(/[^a-zA-Z0-9-]+/g, '-').slice(0, SLUG_PART_MAX);
  return `${prefix}-${part(owner)}-${part(repo)}-${job.jobId}`.replace(/-+/g, '-').toLowerCase();
}

import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rm, rmdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { LifecycleInfo, ManagedResource } from '@workerkit/core';
import { LIFECYCLE_LABELS, lifecycleLabels, readLifecycleLabels } from '@workerkit/core';

/**
 * An instance is a directory whose *name* carries its lifecycle labels:
 * `workerkit-local.<expires-at>.<owner>.<job>.<random>`. Creating it is one atomic mkdir, so a
 * worker killed at any moment never leaves a directory that `gc` cannot recognise.
 */
export const WORKDIR_PREFIX = 'workerkit-local.';
/** The build script's file name inside an instance directory. */
export const SCRIPT_NAME = 'build.sh';
/** A running script's process group is recorded as an empty marker file named after its pid. */
const PID_MARKER = '.pid-';

export async function createWorkdir(baseDir: string, lifecycle: LifecycleInfo): Promise<string> {
  const labels = lifecycleLabels(lifecycle);
  const stem = [
    labels[LIFECYCLE_LABELS.expiresAt],
    labels[LIFECYCLE_LABELS.owner],
    labels[LIFECYCLE_LABELS.job],
  ].join('.');
  for (;;) {
    const dir = join(baseDir, `${WORKDIR_PREFIX}${stem}.${randomBytes(4).toString('hex')}`);
    try {
      await mkdir(dir, { mode: 0o700 });
      return dir;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // The base directory is created on demand, not checked before every start.
      if (code === 'ENOENT') await mkdir(baseDir, { recursive: true });
      else if (code !== 'EEXIST') throw error;
    }
  }
}

/**
 * The command that runs `script` with `shell` in the instance directory after recording its own
 * pid there: `sh` writes the marker, then `exec`s the shell under the same pid (the process group
 * leader). The script cannot start before its marker exists, so a worker killed at any moment
 * (even between spawn and its next line) leaves what `gc` needs to kill the group.
 */
export function markedLaunch(shell: string, script: string): [command: string, args: string[]] {
  return ['/bin/sh', ['-c', `: > "${PID_MARKER}$$" && exec "$0" "$1"`, shell, script]];
}

export async function forgetPid(dir: string, pid: number): Promise<void> {
  await unlink(join(dir, `${PID_MARKER}${pid}`)).catch(() => undefined);
}

/** Removes an instance directory whose script is known not to run. */
export async function removeWorkdir(dir: string): Promise<void> {
  // Most jobs leave only build.sh: two syscalls instead of a recursive walk.
  await unlink(join(dir, SCRIPT_NAME)).catch(() => undefined);
  try {
    await rmdir(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
    await rm(dir, { recursive: true, force: true });
  }
}

/** Kills the directory's recorded process groups, if any, and removes the directory (for gc). */
export async function deleteWorkdir(dir: string): Promise<void> {
  const entries = await readdir(dir).catch(() => [] as string[]);
  for (const entry of entries) {
    const pid = Number(entry.slice(PID_MARKER.length));
    if (entry.startsWith(PID_MARKER) && Number.isInteger(pid) && pid > 0) killGroup(pid, 'SIGKILL');
  }
  await rm(dir, { recursive: true, force: true });
}

export async function listWorkdirs(baseDir: string): Promise<ManagedResource[]> {
  let entries: string[];
  try {
    entries = await readdir(baseDir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const resources: ManagedResource[] = [];
  for (const entry of entries.sort()) {
    const lifecycle = parseWorkdirName(entry);
    if (lifecycle) resources.push({ kind: 'directory', id: join(baseDir, entry), ...lifecycle });
  }
  return resources;
}

function parseWorkdirName(name: string): Omit<ManagedResource, 'kind' | 'id'> | undefined {
  if (!name.startsWith(WORKDIR_PREFIX)) return undefined;
  const parts = name.slice(WORKDIR_PREFIX.length).split('.');
  if (parts.length !== 4) return undefined;
  const [expiresAt, owner, job] = parts as [string, string, string, string];
  return readLifecycleLabels({
    [LIFECYCLE_LABELS.managed]: 'true',
    [LIFECYCLE_LABELS.expiresAt]: expiresAt,
    [LIFECYCLE_LABELS.owner]: owner,
    [LIFECYCLE_LABELS.job]: job,
  });
}

/** Signals a whole process group; a group that is already gone is not an error. */
export function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

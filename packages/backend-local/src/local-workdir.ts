import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LifecycleInfo, ManagedResource } from '@workerkit/core';
import { lifecycleLabels, readLifecycleLabels } from '@workerkit/core';

/** Every instance directory starts with this, so `gc` can tell ours from anything else. */
export const WORKDIR_PREFIX = 'workerkit-local-';
const METADATA_FILE = '.workerkit.json';

interface WorkdirMetadata {
  labels: Record<string, string>;
  /** The process group of a running script, so a later `gc` can kill what a crash left. */
  pid?: number;
}

/** Creates an instance directory labelled with its owner, job and expiry. */
export async function createWorkdir(baseDir: string, lifecycle: LifecycleInfo): Promise<string> {
  await mkdir(baseDir, { recursive: true });
  const dir = await mkdtemp(join(baseDir, WORKDIR_PREFIX));
  await writeMetadata(dir, { labels: lifecycleLabels(lifecycle) });
  return dir;
}

export async function recordPid(dir: string, pid: number | undefined): Promise<void> {
  const metadata = await readMetadata(dir);
  if (metadata)
    await writeMetadata(dir, pid === undefined ? { labels: metadata.labels } : { ...metadata, pid });
}

/** Kills the directory's recorded process group, if any, and removes the directory. */
export async function deleteWorkdir(dir: string): Promise<void> {
  const metadata = await readMetadata(dir);
  if (metadata?.pid !== undefined) killGroup(metadata.pid, 'SIGKILL');
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
  for (const entry of entries.filter((name) => name.startsWith(WORKDIR_PREFIX)).sort()) {
    const dir = join(baseDir, entry);
    const lifecycle = readLifecycleLabels((await readMetadata(dir))?.labels);
    if (lifecycle) resources.push({ kind: 'directory', id: dir, ...lifecycle });
  }
  return resources;
}

/** Signals a whole process group; a group that is already gone is not an error. */
export function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

async function readMetadata(dir: string): Promise<WorkdirMetadata | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, METADATA_FILE), 'utf8')) as WorkdirMetadata;
  } catch {
    return undefined;
  }
}

async function writeMetadata(dir: string, metadata: WorkdirMetadata): Promise<void> {
  await writeFile(join(dir, METADATA_FILE), `${JSON.stringify(metadata)}\n`);
}

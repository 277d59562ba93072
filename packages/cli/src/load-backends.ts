import { readdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { eachBackend, getBackend, UnknownBackendError } from '@workerkit/core';

/**
 * The backends workerkit publishes. Each is imported from the current project when installed
 * there (`pnpm add @workerkit/backend-docker`; in this repository the root package.json
 * depends on every workspace backend), else from the CLI's own dependencies (only
 * backend-local). Third-party ones come in with `--load <module>`.
 */
export const KNOWN_BACKENDS = ['docker', 'ec2', 'fake', 'gce', 'local'] as const;

function isNotFound(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND';
}

/**
 * Imports a module that registers backends: resolved from the current project first (where a
 * user installs `@workerkit/backend-docker`), then from the CLI's own dependencies.
 */
export async function importModule(specifier: string, cwd = process.cwd()): Promise<void> {
  try {
    const resolved = createRequire(join(cwd, 'package.json')).resolve(specifier);
    await import(pathToFileURL(resolved).href);
    return;
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  await import(specifier);
}

/** Imports `@workerkit/backend-<alias>` unless `alias` is registered; true when it is then. */
async function tryLoadBackend(alias: string, cwd: string): Promise<boolean> {
  if (getBackend(alias)) return true;
  try {
    await importModule(`@workerkit/backend-${alias}`, cwd);
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  return getBackend(alias) !== undefined;
}

/** Makes sure `alias` is registered, importing `@workerkit/backend-<alias>` when it is not. */
export async function loadBackend(alias: string, cwd = process.cwd()): Promise<void> {
  if (await tryLoadBackend(alias, cwd)) return;
  // The error lists every backend this project could use, not only the ones imported so far.
  await loadInstalledBackends(cwd);
  const known: string[] = [];
  eachBackend((backend) => known.push(backend.alias));
  throw new UnknownBackendError({ alias, known });
}

/** Imports every workerkit backend that is installed, for `backends` and `gc`. */
export async function loadInstalledBackends(cwd = process.cwd()): Promise<void> {
  const candidates = new Set<string>(KNOWN_BACKENDS);
  for (const dir of ancestorsOf(cwd)) {
    try {
      for (const entry of await readdir(join(dir, 'node_modules', '@workerkit'))) {
        if (entry.startsWith('backend-')) candidates.add(entry.slice('backend-'.length));
      }
    } catch {
      // no node_modules/@workerkit here
    }
  }
  for (const alias of candidates) await tryLoadBackend(alias, cwd);
}

function ancestorsOf(start: string): string[] {
  const dirs = [start];
  while (dirname(dirs.at(-1)!) !== dirs.at(-1)) dirs.push(dirname(dirs.at(-1)!));
  return dirs;
}

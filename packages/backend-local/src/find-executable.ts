import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { delimiter, isAbsolute, join, resolve } from 'node:path';

/** Resolves a program as `execvp` would (a path, or a name on PATH); undefined when none runs. */
export async function findExecutable(
  program: string,
  path = process.env.PATH ?? '',
): Promise<string | undefined> {
  const candidates = program.includes('/')
    ? [isAbsolute(program) ? program : resolve(program)]
    : path
        .split(delimiter)
        .filter(Boolean)
        .map((dir) => join(dir, program));
  for (const candidate of candidates) {
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

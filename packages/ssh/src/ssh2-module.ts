import { createRequire } from 'node:module';

type Ssh2 = typeof import('ssh2');

let ssh2: Ssh2 | undefined;

/**
 * The `ssh2` library, loaded on the first connection or key check rather than with this
 * package: it costs ~80 ms, which every import of a cloud backend (and so `workerkit
 * backends`) would otherwise pay. `require`, because ssh2 is CommonJS and the key check is
 * synchronous.
 */
export function ssh2Module(): Ssh2 {
  ssh2 ??= createRequire(import.meta.url)('ssh2') as Ssh2;
  return ssh2;
}

import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Where Debian's redis-server package puts the server. */
export const REDIS_SERVER_PATH = '/usr/bin/redis-server';

function present(): boolean {
  try {
    accessSync(REDIS_SERVER_PATH, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

let installing: Promise<void> | undefined;

/**
 * Makes sure `redis-server` can run here: installs Debian `redis-server` with apt-get when it is
 * missing (needs root). The test provisioning script normally did it already.
 */
export function ensureRedisInstalled(): Promise<void> {
  installing ??= install().catch((error: unknown) => {
    installing = undefined;
    throw error;
  });
  return installing;
}

async function install(): Promise<void> {
  if (present()) return;
  if (process.getuid?.() !== 0) {
    throw new Error(
      `redis harness: ${REDIS_SERVER_PATH} not found and not running as root: install redis-server (apt-get install -y redis-server)`,
    );
  }
  await run(
    'apt-get',
    ['-o', 'DPkg::Lock::Timeout=300', 'install', '-y', '--no-install-recommends', 'redis-server'],
    { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, timeout: 600_000 },
  );
  if (!present()) throw new Error(`redis harness: apt-get ran but ${REDIS_SERVER_PATH} is still missing`);
}

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import { isProcessAlive } from './process-tree.js';

const run = promisify(execFile);
const GECOS_PREFIX = 'workerkit-testkit sshd owner=';
/** useradd/userdel exit status when /etc/passwd is locked by another writer. */
const LOCKED = 10;

/** useradd/userdel say so with their status; chpasswd exits 1 and says so on stderr. */
function lockedByAnotherWriter(error: unknown): boolean {
  const { code, stderr } = error as { code?: unknown; stderr?: unknown };
  return code === LOCKED || (typeof stderr === 'string' && stderr.includes('cannot lock'));
}

/**
 * Each sshd instance logs in as its own user, an alias of root (uid 0, as the tests run as
 * root) whose home is the instance's fresh directory: sshd then starts sessions and SFTP there,
 * so `~/build.sh` of one instance never sees another's. The GECOS field names the creating
 * process, so users left by a crashed run are removed by the next one.
 */
export async function createLoginUser(
  homeDir: string,
  password: string | undefined,
  wanted?: string,
): Promise<string> {
  await removeStaleLoginUsers();
  if (wanted !== undefined && !/^[a-z_][a-z0-9_-]{0,31}$/.test(wanted)) {
    throw new Error(
      `startSshd: user must be a valid new user name ([a-z_][a-z0-9_-]*, at most 32), got ${JSON.stringify(wanted)}`,
    );
  }
  const name = wanted ?? `wk-${randomBytes(5).toString('hex')}`;
  await withPasswdLock(() =>
    run('useradd', [
      '-o',
      '-u',
      '0',
      '-g',
      '0',
      '-M',
      '-d',
      homeDir,
      '-s',
      '/bin/bash',
      '-p',
      '*',
      '-c',
      `${GECOS_PREFIX}${process.pid}`,
      name,
    ]),
  );
  if (password !== undefined) {
    await withPasswdLock(async () => {
      const child = run('chpasswd', []);
      // A chpasswd that fails at once (passwd locked) closes its stdin before we write: the
      // EPIPE would be an unhandled stream error; its exit status already reports the failure.
      child.child.stdin?.on('error', () => {});
      child.child.stdin?.end(`${name}:${password}\n`);
      await child;
    });
  }
  return name;
}

export async function deleteLoginUser(name: string): Promise<void> {
  // -f: the user is uid 0, so userdel otherwise refuses ("currently used by process 1").
  await withPasswdLock(() => run('userdel', ['-f', name])).catch((error: unknown) => {
    if (!/does not exist/.test(String((error as { stderr?: string }).stderr))) throw error;
  });
}

let sweptStale = false;

async function removeStaleLoginUsers(): Promise<void> {
  if (sweptStale) return;
  sweptStale = true;
  let passwd: string;
  try {
    passwd = readFileSync('/etc/passwd', 'utf8');
  } catch {
    return;
  }
  for (const line of passwd.split('\n')) {
    const [name, , , , gecos = ''] = line.split(':');
    if (!name?.startsWith('wk-') || !gecos.startsWith(GECOS_PREFIX)) continue;
    const owner = Number(gecos.slice(GECOS_PREFIX.length));
    if (Number.isInteger(owner) && owner > 0 && !isProcessAlive(owner))
      await deleteLoginUser(name).catch(() => {});
  }
}

async function withPasswdLock<T>(action: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await action();
    } catch (error) {
      if (!lockedByAnotherWriter(error) || attempt >= 20) throw error;
      await delay(50 * attempt);
    }
  }
}

import { execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** Where the daemon listens: a `DockerdHandle` or anything with its socket path. */
export interface DockerTarget {
  socketPath: string;
}

/** The uid/gid of the `travis` user in the test images (as in Travis CI's images). */
export const TRAVIS_UID = 2000;

/**
 * An init for the test images: PID 1 must end on SIGTERM, or `docker stop` waits its whole
 * grace period. It sleeps in the background so the trap runs at once.
 */
const INIT_SCRIPT = `#!/bin/sh
trap 'exit 0' TERM INT
while :; do sleep 3600 & wait $!; done
`;

/**
 * An init like many CI images' (a shell loop, `sleep infinity`, `tail -f /dev/null`): it
 * ignores SIGTERM, so only SIGKILL ends it and `docker stop` waits out its whole grace period.
 */
const TERM_IGNORING_INIT_SCRIPT = `#!/bin/sh
trap '' TERM
while :; do sleep 3600; done
`;

const SSHD_CONFIG = `Port 22
HostKey /etc/ssh/ssh_host_ed25519_key
PidFile none
AuthorizedKeysFile .ssh/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin no
UsePAM no
StrictModes no
UseDNS no
PrintMotd no
PrintLastLog no
Subsystem sftp internal-sftp
`;

/**
 * The sshd image's entry point: a tmpfs on /run (the docker backend's default TMPFS_MAP) hides
 * sshd's privilege separation directory, so it is made at start.
 */
const START_SSHD = `#!/bin/sh
mkdir -p -m 0755 /run/sshd
exec /usr/sbin/sshd -D -e "$@"
`;

function apiRequest(
  target: DockerTarget,
  method: string,
  path: string,
  body?: NodeJS.ReadableStream,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        socketPath: target.socketPath,
        method,
        path,
        headers: body ? { 'Content-Type': 'application/x-tar' } : {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (body) body.pipe(req);
    else req.end();
  });
}

/** Whether the daemon has an image of this name. */
export async function hasImage(target: DockerTarget, name: string): Promise<boolean> {
  const { status } = await apiRequest(target, 'GET', `/images/${encodeURIComponent(name)}/json`);
  return status === 200;
}

/** `docker import`: makes an image from a rootfs directory. */
export async function importRootfs(target: DockerTarget, rootfs: string, name: string): Promise<void> {
  const [repo, tag = 'latest'] = splitName(name);
  const tar = spawn('tar', ['-C', rootfs, '--numeric-owner', '-c', '.'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const query = new URLSearchParams({ fromSrc: '-', repo, tag });
  const { status, text } = await apiRequest(target, 'POST', `/images/create?${query}`, tar.stdout);
  if (status !== 200 || text.includes('"error"'))
    throw new Error(`importing ${name} failed (HTTP ${status}): ${text}`);
}

function splitName(name: string): [string, string | undefined] {
  const slash = name.lastIndexOf('/');
  const colon = name.lastIndexOf(':');
  return colon > slash ? [name.slice(0, colon), name.slice(colon + 1)] : [name, undefined];
}

function findStaticBusybox(): string {
  for (const candidate of ['/bin/busybox', '/usr/bin/busybox']) {
    if (existsSync(candidate) && !readFileSync(candidate).subarray(0, 4096).includes('ld-linux'))
      return candidate;
  }
  throw new Error('a static busybox is needed for the test image (Debian: apt-get install busybox-static)');
}

/** A busybox rootfs with a `travis` user, `/home/travis`, `/tmp` and `init` as `/sbin/init`. */
function busyboxRootfs(dir: string, extraPasswd = '', extraGroup = '', init = INIT_SCRIPT): void {
  const busybox = findStaticBusybox();
  for (const sub of [
    'bin',
    'sbin',
    'usr/bin',
    'usr/sbin',
    'etc',
    'root',
    'proc',
    'sys',
    'dev',
    'run',
    'var/empty',
  ]) {
    mkdirSync(join(dir, sub), { recursive: true });
  }
  copyFileSync(busybox, join(dir, 'bin/busybox'));
  chmodSync(join(dir, 'bin/busybox'), 0o755);
  const applets = execFileSync(busybox, ['--list-full'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  for (const applet of applets) {
    if (applet === 'bin/busybox' || applet === 'sbin/init') continue;
    const path = join(dir, applet);
    mkdirSync(dirname(path), { recursive: true });
    if (!existsSync(path)) symlinkSync('/bin/busybox', path);
  }
  writeFileSync(join(dir, 'sbin/init'), init, { mode: 0o755 });
  writeFileSync(
    join(dir, 'etc/passwd'),
    `root:x:0:0:root:/root:/bin/sh\ntravis:x:${TRAVIS_UID}:${TRAVIS_UID}:travis:/home/travis:/bin/sh\n${extraPasswd}`,
  );
  writeFileSync(join(dir, 'etc/group'), `root:x:0:\ntravis:x:${TRAVIS_UID}:\n${extraGroup}`);
  writeFileSync(join(dir, 'etc/shadow'), 'root:*:19000:0:99999:7:::\ntravis:*:19000:0:99999:7:::\n', {
    mode: 0o600,
  });
  writeFileSync(join(dir, 'etc/nsswitch.conf'), 'passwd: files\ngroup: files\nshadow: files\nhosts: files\n');
  mkdirSync(join(dir, 'home/travis'), { recursive: true });
  chownSync(join(dir, 'home/travis'), TRAVIS_UID, TRAVIS_UID);
  mkdirSync(join(dir, 'tmp'), { recursive: true });
  chmodSync(join(dir, 'tmp'), 0o1777);
}

async function buildImage(
  target: DockerTarget,
  name: string,
  fill: (rootfs: string) => void,
): Promise<{ name: string; built: boolean }> {
  if (await hasImage(target, name)) return { name, built: false };
  const dir = mkdtempSync(join(tmpdir(), 'workerkit-rootfs-'));
  try {
    fill(dir);
    await importRootfs(target, dir, name);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { name, built: true };
}

/**
 * Builds (once: skipped when an image of that name exists) a ~2 MB image from Debian's static
 * busybox, with a `travis` user (uid 2000) owning `/home/travis`, and `/sbin/init` that waits
 * and ends on SIGTERM — so the docker backend's defaults (`CMD=/sbin/init`, exec as `travis`)
 * work with it.
 */
export function buildBusyboxImage(target: DockerTarget, name = 'workerkit-test/busybox:latest') {
  return buildImage(target, name, (rootfs) => busyboxRootfs(rootfs));
}

/**
 * Builds (once) the busybox image with a `/sbin/init` that ignores SIGTERM (`trap '' TERM` in a
 * shell loop), as many CI images' PID 1 does: for tests that a job's end does not wait on it.
 */
export function buildTermIgnoringImage(target: DockerTarget, name = 'workerkit-test/ignores-term:latest') {
  return buildImage(target, name, (rootfs) => busyboxRootfs(rootfs, '', '', TERM_IGNORING_INIT_SCRIPT));
}

function librariesOf(binary: string): string[] {
  const out = execFileSync('ldd', [binary], { encoding: 'utf8' });
  const libraries = new Set<string>();
  for (const line of out.split('\n')) {
    const match = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (match?.[1]) libraries.add(match[1]);
  }
  return [...libraries];
}

/**
 * Builds (once) the busybox image plus the host's OpenSSH `sshd` and the libraries `ldd` lists
 * for it. sshd reads `/etc/ssh/sshd_config` (key login only, `AuthorizedKeysFile
 * .ssh/authorized_keys`, host key `/etc/ssh/ssh_host_ed25519_key`, internal sftp); run it with
 * `/usr/sbin/start-sshd -p <port> -o ListenAddress=<address>`, which makes `/run/sshd` (a tmpfs
 * on /run hides the image's) and then runs `sshd -D -e` with those arguments. A host key is
 * baked in so the image works alone; the docker backend's ssh mode replaces it per container.
 */
export function buildSshdImage(target: DockerTarget, name = 'workerkit-test/sshd:latest') {
  const sshd = '/usr/sbin/sshd';
  if (!existsSync(sshd))
    throw new Error('the sshd test image needs OpenSSH (Debian: apt-get install openssh-server)');
  return buildImage(target, name, (rootfs) => {
    busyboxRootfs(rootfs, 'sshd:x:101:65534::/run/sshd:/usr/sbin/nologin\n', 'nogroup:x:65534:\n');
    for (const file of [sshd, ...librariesOf(sshd)]) {
      const destination = join(rootfs, file);
      mkdirSync(dirname(destination), { recursive: true });
      copyFileSync(file, destination);
      chmodSync(destination, 0o755);
    }
    mkdirSync(join(rootfs, 'etc/ssh'), { recursive: true });
    mkdirSync(join(rootfs, 'run/sshd'), { recursive: true, mode: 0o755 });
    writeFileSync(join(rootfs, 'etc/ssh/sshd_config'), SSHD_CONFIG);
    writeFileSync(join(rootfs, 'usr/sbin/start-sshd'), START_SSHD, { mode: 0o755 });
    execFileSync('ssh-keygen', [
      '-q',
      '-t',
      'ed25519',
      '-N',
      '',
      '-f',
      join(rootfs, 'etc/ssh/ssh_host_ed25519_key'),
    ]);
    mkdirSync(join(rootfs, 'home/travis/.ssh'), { recursive: true });
    chownSync(join(rootfs, 'home/travis/.ssh'), TRAVIS_UID, TRAVIS_UID);
  });
}

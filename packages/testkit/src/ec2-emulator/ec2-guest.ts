import { existsSync, mkdirSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { descendantsOf } from '../sshd/process-tree.js';
import { bootSshdGuest } from '../sshd/sshd-guest.js';

/** A booted emulated instance: what its console prints and how to end it. */
export interface Ec2Guest {
  /** `ssh-ed25519 AAAA… root@host` lines, as cloud-init prints them. */
  readonly hostPublicKeys: readonly string[];
  /** The directory holding the guest's users' homes (`<homes>/<user>`). */
  readonly homes: string;
  /** What the first boot printed (the user data's output, as cloud-init logs it to the console). */
  firstBootOutput(): string;
  /** The user data's exit status; undefined when there was none to run. */
  userDataExitCode(): number | undefined;
  /** Power requests the guest made since the last call (`shutdown -P +25`, `poweroff`, …). */
  takePowerRequests(): string[];
  /** SIGTERMs every process of every session, as an OS shutdown does first; sshd stays. */
  terminateSessions(): void;
  /** Kills the guest's sshd and every session it started, then removes its files. */
  stop(): Promise<void>;
}

export interface Ec2GuestSpec {
  /** Loopback addresses to listen on (private and public IP). */
  addresses: readonly string[];
  port: number;
  /** The image's default user (cloud-init gives it the key pair's key). */
  defaultUser: string;
  /** The key pair's public key, when the instance was launched with one. */
  keyPairPublicKey: string | undefined;
  /** Users the image already has, without keys. */
  imageUsers: readonly string[];
  /** The decoded user data; run as root at first boot, before sshd starts, when it is a `#!` script. */
  userData: string | undefined;
  /** Environment of the first boot and of every session (the instance metadata endpoint). */
  environment: Readonly<Record<string, string>>;
  /** The instance id (for names). */
  name: string;
}

export type Ec2GuestBooter = (spec: Ec2GuestSpec) => Promise<Ec2Guest>;

const LINUX_USER = /^[a-z_][a-z0-9_-]{0,31}$/;
/** Commands that power a Linux machine off; in the guest they only tell the emulator. */
const POWER_COMMANDS = ['shutdown', 'poweroff', 'halt', 'reboot'];

/**
 * Boots a guest the way an EC2 Linux image with cloud-init does, as far as a CI job can tell:
 * the image's users exist (uid 0 aliases, as the tests run as root, each with its own home),
 * the key pair's key goes to the image's default user, the user data runs once as root before
 * sshd accepts logins, and sshd accepts exactly what those made (`~user/.ssh/authorized_keys`).
 *
 * The guest is testkit's sshd guest (a private OpenSSH sshd in its own mount namespace with its
 * own `/etc` and `/tmp`). Inside it, `shutdown`, `poweroff`, `halt` and `reboot` (and the
 * systemctl they link to) only record the request, which the emulator turns into an
 * instance-initiated shutdown: the host machine is never powered off.
 */
export const ec2SshdGuestBooter: Ec2GuestBooter = async (spec) => {
  if (process.getuid?.() !== 0)
    throw new Error('ec2 emulator guest: must run as root (sshd, mount namespaces and user data need it)');
  const users = [...new Set(['root', spec.defaultUser, ...spec.imageUsers])];
  const bad = users.find((user) => !LINUX_USER.test(user));
  if (bad) throw new Error(`ec2 emulator guest: "${bad}" is not a valid user name`);
  let homes = '';
  let guestDir = '';
  const guest = await bootSshdGuest({
    label: 'ec2-emulator-guest',
    name: spec.name,
    addresses: spec.addresses,
    port: spec.port,
    keepFiles: Boolean(process.env.WORKERKIT_EC2_GUEST_KEEP),
    setup: ({ dir }) => {
      guestDir = dir;
      homes = join(dir, 'homes');
      mkdirSync(homes, { mode: 0o755 });
      for (const user of users) mkdirSync(join(homes, user), { mode: 0o755 });
      if (spec.keyPairPublicKey) {
        // cloud-init's first act: the key pair's key for the image's default user.
        mkdirSync(join(homes, spec.defaultUser, '.ssh'), { mode: 0o700 });
        writeFileSync(
          join(homes, spec.defaultUser, '.ssh', 'authorized_keys'),
          `${spec.keyPairPublicKey}\n`,
          {
            mode: 0o600,
          },
        );
      }
      const bin = writePowerStubs(dir);
      const path = `${bin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`;
      const environment = { ...spec.environment, PATH: path };
      return {
        config: [
          'AuthorizedKeysFile .ssh/authorized_keys',
          // The users are uid 0 aliases (the tests run as root), which sshd treats as root: allow
          // that by key, and refuse the login name root, as an EC2 image does.
          'PermitRootLogin prohibit-password',
          'DenyUsers root',
          'MaxSessions 16',
          `LogLevel ${process.env.WORKERKIT_EC2_GUEST_LOGLEVEL ?? 'ERROR'}`,
          ...Object.entries(environment).map(([key, value]) => `SetEnv ${key}=${value}`),
          'Subsystem sftp internal-sftp',
        ],
        etc: guestEtc(users, homes),
        firstBoot: writeFirstBoot(dir, bin, spec.userData, environment),
      };
    },
  });
  const read = (name: string) => {
    try {
      return readFileSync(join(guestDir, name), 'utf8');
    } catch {
      return '';
    }
  };
  let powerRequestsSeen = 0;
  return {
    hostPublicKeys: [guest.hostPublicKey],
    homes,
    firstBootOutput: () => read('console.log'),
    userDataExitCode: () => {
      const status = read('user-data.exit').trim();
      return status === '' ? undefined : Number(status);
    },
    takePowerRequests: () => {
      const lines = read('power-requests')
        .split('\n')
        .filter((line) => line !== '');
      const fresh = lines.slice(powerRequestsSeen);
      powerRequestsSeen = lines.length;
      return fresh;
    },
    terminateSessions: () => {
      const sshdPid = Number(read('sshd.pid').trim());
      if (!(sshdPid > 0)) return;
      for (const { pid, comm } of descendantsOf(sshdPid)) {
        if (comm === 'sshd' || comm.startsWith('sshd-')) continue;
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          // Already gone.
        }
      }
    },
    stop: guest.stop,
  };
};

/**
 * The guest's passwd, group and shadow: the host's system accounts (sshd's privilege
 * separation user among them) and, replacing any of the same name, root and the image's users,
 * all uid 0, each with its own home in the guest.
 */
function guestEtc(users: readonly string[], homes: string): Record<string, string> {
  const hostLines = (file: string) =>
    readFileSync(`/etc/${file}`, 'utf8')
      .split('\n')
      .filter((line) => line !== '' && !users.includes(line.split(':')[0]!));
  const lines = (file: string, own: (user: string) => string) =>
    `${[...hostLines(file), ...users.map(own)].join('\n')}\n`;
  return {
    passwd: lines('passwd', (user) => `${user}:x:0:0:${user}:${join(homes, user)}:/bin/bash`),
    group: lines('group', (user) => `${user}:x:0:`),
    shadow: lines('shadow', (user) => `${user}:*:19000:0:99999:7:::`),
  };
}

/**
 * `<dir>/bin/power`, which appends its name and arguments to `<dir>/power-requests`, linked as
 * each power command (first on the guest's PATH) and bind-mounted at first boot over the
 * host's own (see `writeFirstBoot`).
 */
function writePowerStubs(dir: string): string {
  const bin = join(dir, 'bin');
  mkdirSync(bin, { mode: 0o755 });
  const stub = join(bin, 'power');
  writeFileSync(stub, `#!/bin/sh\necho "$(basename "$0") $*" >> '${join(dir, 'power-requests')}'\n`, {
    mode: 0o755,
  });
  for (const command of [...POWER_COMMANDS, 'systemctl']) symlinkSync(stub, join(bin, command));
  return bin;
}

/** The host's power commands, resolved (on Debian they all link to systemctl). */
function hostPowerBinaries(): string[] {
  const found = new Set<string>();
  for (const dir of ['/usr/sbin', '/sbin', '/usr/bin', '/bin']) {
    for (const command of POWER_COMMANDS) {
      const path = join(dir, command);
      if (existsSync(path)) found.add(realpathSync(path));
    }
  }
  return [...found];
}

/**
 * The first-boot script: replaces the power commands inside the guest's mount namespace, then
 * runs the user data (when it is a `#!` script, as cloud-init does) as root with its output on
 * the console and its exit status kept.
 */
function writeFirstBoot(
  dir: string,
  bin: string,
  userData: string | undefined,
  environment: Readonly<Record<string, string>>,
): string {
  const quote = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;
  const lines = [
    '#!/bin/sh',
    ...hostPowerBinaries().map((path) => `mount --bind ${quote(join(bin, 'power'))} ${quote(path)}`),
  ];
  if (userData?.startsWith('#!')) {
    const script = join(dir, 'user-data');
    writeFileSync(script, userData, { mode: 0o700 });
    const env = Object.entries(environment).map(([key, value]) => `${key}=${quote(value)}`);
    lines.push(
      `cd ${quote(join(dir, 'homes', 'root'))}`,
      `env -i HOME=${quote(join(dir, 'homes', 'root'))} ${env.join(' ')} ${quote(script)} >> ${quote(join(dir, 'console.log'))} 2>&1`,
      `echo $? > ${quote(join(dir, 'user-data.exit'))}`,
    );
  }
  const path = join(dir, 'first-boot');
  writeFileSync(path, `${lines.join('\n')}\n`, { mode: 0o700 });
  return path;
}

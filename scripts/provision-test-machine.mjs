#!/usr/bin/env node
// Installs the system programs the integration tests drive (OpenSSH, Docker Engine, busybox,
// openssl for the TLS daemon test, unshare for the emulators' guests)
// once, before the test run, so parallel suites never race for the apt lock. Debian only, as
// root; elsewhere it only reports what is missing.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const wanted = [
  { pkg: 'openssh-server', present: () => existsSync('/usr/sbin/sshd') },
  { pkg: 'openssh-client', present: () => has('ssh') && has('sftp') && has('ssh-keygen') },
  { pkg: 'docker.io', present: () => has('dockerd') },
  { pkg: 'busybox-static', present: () => existsSync('/bin/busybox') },
  { pkg: 'openssl', present: () => has('openssl') },
  { pkg: 'util-linux', present: () => has('unshare') },
  { pkg: 'redis-server', present: () => existsSync('/usr/bin/redis-server') },
];

function has(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

const missing = wanted.filter((item) => !item.present()).map((item) => item.pkg);
if (missing.length === 0) process.exit(0);
if (process.getuid?.() !== 0 || !has('apt-get')) {
  console.error(
    `provision: missing ${missing.join(', ')}; install them (Debian: apt-get install ${missing.join(' ')})`,
  );
  process.exit(1);
}
console.error(`provision: installing ${missing.join(', ')}`);
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], {
  stdio: 'inherit',
  env,
});

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { isProcessAlive } from './process-tree.js';
import { generateSshKey } from './sshd-host-key.js';
import { type SshdHandle, startSshd } from './start-sshd.js';

const ADDRESS = '127.0.0.31';
const started: SshdHandle[] = [];

afterAll(async () => {
  await Promise.all(started.map((sshd) => sshd.stop()));
});

function userExists(name: string): boolean {
  return readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .some((line) => line.startsWith(`${name}:`));
}

describe('startSshd', () => {
  it('starts a private sshd with its own host key, login user, home and temp dir; stop removes it all', async () => {
    const client = await generateSshKey('ed25519');
    const sshd = await startSshd({ address: ADDRESS, authorizedKeys: [client.publicKey] });
    started.push(sshd);
    expect(sshd.host).toBe(ADDRESS);
    expect(sshd.running).toBe(true);
    expect(isProcessAlive(sshd.pid)).toBe(true);
    expect(readFileSync(`${sshd.dir}/sshd.pid`, 'utf8').trim()).toBe(String(sshd.pid));
    expect(sshd.hostKeyFingerprint).toMatch(/^SHA256:/);
    expect(sshd.hostPublicKey).toMatch(/^ssh-ed25519 /);
    expect(userExists(sshd.user)).toBe(true);
    expect(execFileSync('getent', ['passwd', sshd.user], { encoding: 'utf8' })).toContain(`:0:0:`);
    const keyscan = execFileSync('ssh-keygen', ['-l', '-f', `${sshd.dir}/host_key.pub`], {
      encoding: 'utf8',
    });
    expect(keyscan).toContain(sshd.hostKeyFingerprint);

    await sshd.stop();
    expect(sshd.running).toBe(false);
    expect(isProcessAlive(sshd.pid)).toBe(false);
    expect(existsSync(sshd.dir)).toBe(false);
    expect(userExists(sshd.user)).toBe(false);
    await sshd.stop();
  });

  it('gives two instances distinct ports, users and home directories', async () => {
    const [a, b] = await Promise.all([startSshd({ address: ADDRESS }), startSshd({ address: ADDRESS })]);
    started.push(a, b);
    expect(a.port).not.toBe(b.port);
    expect(a.user).not.toBe(b.user);
    expect(a.homeDir).not.toBe(b.homeDir);
    expect(a.hostKeyFingerprint).not.toBe(b.hostKeyFingerprint);
  });

  it('uses a host key given beforehand, of any type', async () => {
    const hostKey = await generateSshKey('ecdsa');
    const sshd = await startSshd({ address: ADDRESS, hostKey });
    started.push(sshd);
    expect(sshd.hostKeyFingerprint).toBe(hostKey.fingerprint);
    expect(sshd.hostKeyType).toBe('ecdsa');
  });

  it('lets extraConfig override the defaults', async () => {
    const sshd = await startSshd({
      address: ADDRESS,
      extraConfig: ['MaxSessions 3', 'Match User nobody', '  X11Forwarding no'],
    });
    started.push(sshd);
    const effective = execFileSync('/usr/sbin/sshd', ['-T', '-f', sshd.configPath], { encoding: 'utf8' });
    expect(effective).toMatch(/^maxsessions 3$/m);
  });

  it('kill() SIGKILLs sshd at once; stop() still cleans up', async () => {
    const sshd = await startSshd({ address: ADDRESS });
    started.push(sshd);
    await sshd.kill();
    expect(sshd.running).toBe(false);
    expect(existsSync(sshd.dir)).toBe(true);
    await sshd.stop();
    expect(existsSync(sshd.dir)).toBe(false);
    expect(userExists(sshd.user)).toBe(false);
  });

  it('refuses a non-loopback address and reports an sshd that cannot start', async () => {
    await expect(startSshd({ address: '10.0.0.1' })).rejects.toThrow(/127\.x\.x\.x loopback/);
    const busy = await startSshd({ address: ADDRESS });
    started.push(busy);
    await expect(startSshd({ address: ADDRESS, port: busy.port })).rejects.toThrow(
      /Address already in use|exited/,
    );
    await expect(startSshd({ address: ADDRESS, extraConfig: ['NoSuchOption yes'] })).rejects.toThrow(
      /Bad configuration option|NoSuchOption/,
    );
    await expect(startSshd({ address: ADDRESS, user: 'Bad Name' })).rejects.toThrow(/valid new user name/);
  });
});

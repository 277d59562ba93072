import net from 'node:net';
import { freePort, generateSshKey, RecordingLogger, type SshdHandle, startSshd } from '@workerkit/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectTo, optionsFor } from '../test/helpers.js';
import { connect } from './connect.js';
import { generateKeyPair } from './key-pair.js';
import {
  HostKeyMismatchError,
  SshAuthenticationError,
  SshNotReadyError,
  SshOptionsError,
} from './ssh-errors.js';
import type { ConnectAttempt, SshKeyPair } from './ssh-types.js';

const ADDRESS = '127.0.0.21';

let sshd: SshdHandle;
let key: SshKeyPair;
let otherKey: SshKeyPair;

beforeAll(async () => {
  [key, otherKey] = await Promise.all([generateKeyPair(), generateKeyPair()]);
  sshd = await startSshd({ address: ADDRESS, authorizedKeys: [key.publicKey] });
});

afterAll(async () => {
  await sshd?.stop();
});

describe('connect', () => {
  it('connects, verifying the host key by fingerprint, and reports the fingerprint it accepted', async () => {
    await using connection = await connectTo(sshd, key);
    expect(connection.hostKeyFingerprint).toBe(sshd.hostKeyFingerprint);
    expect(connection.closed).toBe(false);
  });

  it('accepts the host key given as a public key line', async () => {
    await using connection = await connectTo(sshd, key, {
      hostKey: { kind: 'public-keys', publicKeys: [sshd.hostPublicKey] },
    });
    expect(connection.hostKeyFingerprint).toBe(sshd.hostKeyFingerprint);
  });

  it.each(['rsa', 'ecdsa'] as const)(
    'verifies a server with an %s host key by public key and by fingerprint',
    async (type) => {
      await using server = await startSshd({
        address: ADDRESS,
        hostKeyType: type,
        authorizedKeys: [key.publicKey],
      });
      const otherFingerprint = (await generateSshKey('ed25519')).fingerprint;
      await using byKey = await connectTo(server, key, {
        hostKey: { kind: 'public-keys', publicKeys: [server.hostPublicKey] },
      });
      expect(byKey.hostKeyFingerprint).toBe(server.hostKeyFingerprint);
      await using byFingerprint = await connectTo(server, key, {
        hostKey: { kind: 'fingerprints', fingerprints: [otherFingerprint, server.hostKeyFingerprint] },
      });
      expect(byFingerprint.hostKeyFingerprint).toBe(server.hostKeyFingerprint);
    },
  );

  it('fails at once, without retrying, when the key is not authorized', async () => {
    const attempts: ConnectAttempt[] = [];
    const started = performance.now();
    const error = await connectTo(sshd, otherKey, {
      // Retrying would run on to this deadline: 25 s, far above the bound below.
      readyTimeoutMs: 25_000,
      onAttempt: (a) => attempts.push(a),
    }).catch((e: unknown) => e);
    // One login (~0.1 s); the bound leaves room for a loaded machine.
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(SshAuthenticationError.isInstance(error)).toBe(true);
    expect((error as Error).message).toContain(`${sshd.user}@${ADDRESS}:${sshd.port}`);
    expect(attempts).toEqual([]);
  });

  it('rejects a host key other than the expected fingerprint, at once', async () => {
    const wrong = await generateSshKey('ed25519');
    const attempts: ConnectAttempt[] = [];
    const started = performance.now();
    const error = await connectTo(sshd, key, {
      // Retrying would run on to this deadline: 25 s, far above the bound below.
      readyTimeoutMs: 25_000,
      onAttempt: (a) => attempts.push(a),
      hostKey: { kind: 'fingerprints', fingerprints: [wrong.fingerprint] },
    }).catch((e: unknown) => e);
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(HostKeyMismatchError.isInstance(error)).toBe(true);
    expect((error as HostKeyMismatchError).presented).toBe(sshd.hostKeyFingerprint);
    expect((error as HostKeyMismatchError).expected).toEqual([wrong.fingerprint]);
    expect(attempts).toEqual([]);
  });

  it('rejects a server without a host key of the type of the public keys given', async () => {
    const rsa = await generateSshKey('rsa');
    const error = await connectTo(sshd, key, {
      hostKey: { kind: 'public-keys', publicKeys: [rsa.publicKey] },
    }).catch((e: unknown) => e);
    expect(HostKeyMismatchError.isInstance(error)).toBe(true);
    expect((error as Error).message).toContain(rsa.fingerprint);
  });

  it('trusts on first use only when asked by name, and then holds the server to that key', async () => {
    const store = new Map<string, string>();
    const logger = new RecordingLogger();
    const { lines } = logger;
    const first = await connectTo(sshd, key, { hostKey: { kind: 'trust-on-first-use', store }, logger });
    await first.close();
    expect(store.get(`${ADDRESS}:${sshd.port}`)).toBe(sshd.hostKeyFingerprint);
    expect(lines.some((line) => line.level === 'info' && line.message.includes('first use'))).toBe(true);

    const impostorKey = await generateSshKey('ed25519');
    const port = await freePort(ADDRESS);
    await using impostor = await startSshd({
      address: ADDRESS,
      port,
      authorizedKeys: [key.publicKey],
      hostKey: impostorKey,
    });
    store.set(`${ADDRESS}:${port}`, sshd.hostKeyFingerprint);
    const error = await connectTo(impostor, key, { hostKey: { kind: 'trust-on-first-use', store } }).catch(
      (e: unknown) => e,
    );
    expect(HostKeyMismatchError.isInstance(error)).toBe(true);
    expect((error as HostKeyMismatchError).presented).toBe(impostorKey.fingerprint);
  });

  it('accepts any host key with insecure, and logs a warning saying so', async () => {
    const logger = new RecordingLogger();
    const { lines } = logger;
    await using connection = await connectTo(sshd, key, { hostKey: { kind: 'insecure' }, logger });
    expect(connection.hostKeyFingerprint).toBe(sshd.hostKeyFingerprint);
    const warnings = lines.filter((line) => line.level === 'warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.message).toMatch(/NOT verified/);
  });

  it('waits for an sshd that starts 2 s after connect is called', async () => {
    const hostKey = await generateSshKey('ed25519');
    const port = await freePort(ADDRESS);
    const user = `wk-late-${process.pid}`;
    const attempts: ConnectAttempt[] = [];
    let late: SshdHandle | undefined;
    const starting = new Promise<void>((resolve, reject) => {
      setTimeout(() => {
        startSshd({ address: ADDRESS, port, user, authorizedKeys: [key.publicKey], hostKey }).then(
          (handle) => {
            late = handle;
            resolve();
          },
          reject,
        );
      }, 2000);
    });
    try {
      const started = performance.now();
      await using connection = await connect({
        host: ADDRESS,
        port,
        username: user,
        auth: { privateKey: key.privateKey },
        hostKey: { kind: 'fingerprints', fingerprints: [hostKey.fingerprint] },
        readyTimeoutMs: 15_000,
        backoff: { initialDelayMs: 100, maxDelayMs: 500 },
        onAttempt: (a) => attempts.push(a),
      });
      expect(performance.now() - started).toBeGreaterThanOrEqual(1900);
      expect(connection.hostKeyFingerprint).toBe(hostKey.fingerprint);
      expect(attempts.length).toBeGreaterThanOrEqual(2);
      expect(attempts.every((a) => a.delayMs >= 0 && /ECONNREFUSED/.test(a.error.message))).toBe(true);
      expect(attempts.map((a) => a.attempt)).toEqual(attempts.map((_, i) => i + 1));
    } finally {
      await starting.catch(() => {});
      await late?.stop();
    }
  });

  it('gives up with SshNotReadyError soon after the deadline when sshd never starts', async () => {
    const port = await freePort(ADDRESS);
    const attempts: ConnectAttempt[] = [];
    const started = performance.now();
    const error = await connect({
      host: ADDRESS,
      port,
      username: 'nobody',
      auth: { privateKey: key.privateKey },
      hostKey: { kind: 'fingerprints', fingerprints: [sshd.hostKeyFingerprint] },
      readyTimeoutMs: 1500,
      // Steps that double up to 5 s: a wait not cut to the deadline would overrun it by far.
      backoff: { initialDelayMs: 100, maxDelayMs: 5000 },
      onAttempt: (a) => attempts.push(a),
    }).catch((e: unknown) => e);
    const elapsed = performance.now() - started;
    expect(SshNotReadyError.isInstance(error)).toBe(true);
    // It cannot give up before the deadline, however slow the machine.
    expect(elapsed).toBeGreaterThanOrEqual(1300);
    // No wait it chose runs past the deadline: the waits add up to at most the 1.5 s (a timer
    // may fire a millisecond early, hence the few ms). Holds however late the timers fire.
    const waited = attempts.reduce((sum, a) => sum + a.delayMs, 0);
    expect(waited).toBeLessThanOrEqual(1500 + 10);
    // Never retrying past the deadline (that would run on until the test's timeout).
    expect(elapsed).toBeLessThan(10_000);
    expect((error as SshNotReadyError).attempts).toBe(attempts.length + 1);
    expect((error as Error).message).toMatch(/not ready after \d+\.\d s .*ECONNREFUSED/);
  });

  it('makes exactly one attempt without readyTimeoutMs', async () => {
    const port = await freePort(ADDRESS);
    const attempts: ConnectAttempt[] = [];
    const error = await connect({
      host: ADDRESS,
      port,
      username: 'nobody',
      auth: { password: 'x' },
      hostKey: { kind: 'insecure' },
      onAttempt: (a) => attempts.push(a),
    }).catch((e: unknown) => e);
    expect(SshNotReadyError.isInstance(error)).toBe(true);
    expect((error as SshNotReadyError).attempts).toBe(1);
    expect(attempts).toEqual([]);
  });

  it('bounds each attempt by dialTimeoutMs when the server accepts TCP but never speaks SSH', async () => {
    const silent = net.createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, ADDRESS, resolve));
    const { port } = silent.address() as net.AddressInfo;
    try {
      const attempts: ConnectAttempt[] = [];
      const started = performance.now();
      const error = await connect({
        host: ADDRESS,
        port,
        username: 'nobody',
        auth: { password: 'x' },
        hostKey: { kind: 'insecure' },
        dialTimeoutMs: 300,
        readyTimeoutMs: 2000,
        backoff: { initialDelayMs: 50, maxDelayMs: 50 },
        onAttempt: (a) => attempts.push(a),
      }).catch((e: unknown) => e);
      expect(SshNotReadyError.isInstance(error)).toBe(true);
      // An unbounded attempt would take all 2 s (then none is retried) or ssh2's own 20 s default.
      expect(attempts.length).toBeGreaterThanOrEqual(1);
      expect(attempts[0]!.error.message).toMatch(/no SSH handshake within 300 ms/);
      expect(performance.now() - started).toBeLessThan(10_000);
    } finally {
      silent.close();
    }
  });

  it('retries a connection reset during the handshake', async () => {
    // The first two connections are reset; the third is passed through to the real sshd.
    let accepted = 0;
    const resetter = net.createServer((socket) => {
      if (++accepted <= 2) return socket.resetAndDestroy();
      const upstream = net.connect(sshd.port, ADDRESS);
      socket.pipe(upstream).pipe(socket);
      socket.on('error', () => upstream.destroy());
      upstream.on('error', () => socket.destroy());
    });
    await new Promise<void>((resolve) => resetter.listen(0, ADDRESS, resolve));
    const { port } = resetter.address() as net.AddressInfo;
    try {
      const attempts: ConnectAttempt[] = [];
      await using connection = await connect({
        ...optionsFor(sshd, key),
        port,
        readyTimeoutMs: 20_000,
        backoff: { initialDelayMs: 50, maxDelayMs: 100 },
        onAttempt: (a) => attempts.push(a),
      });
      expect(connection.hostKeyFingerprint).toBe(sshd.hostKeyFingerprint);
      expect(accepted).toBe(3);
      expect(attempts.map((a) => a.attempt)).toEqual([1, 2]);
    } finally {
      resetter.close();
    }
  });

  it('stops waiting at once when aborted, between attempts or during one', async () => {
    const port = await freePort(ADDRESS);
    const controller = new AbortController();
    const reason = new Error('job cancelled');
    // Between attempts: the abort comes once the first attempt was refused and its wait began
    // (by the event, not a timer, so a slow first attempt cannot turn this into the case below).
    // Timed from the abort itself, so a late timer does not count against the connect.
    let abortedAt = Number.NaN;
    const abortSoon = (abort: () => void) =>
      setTimeout(() => {
        abortedAt = performance.now();
        abort();
      }, 100);
    const attempts: ConnectAttempt[] = [];
    const error = await connect({
      host: ADDRESS,
      port,
      username: 'nobody',
      auth: { password: 'x' },
      hostKey: { kind: 'insecure' },
      readyTimeoutMs: 120_000,
      // Not cut short, the wait would last 30-90 s: past the test's timeout.
      backoff: { initialDelayMs: 60_000, maxDelayMs: 60_000 },
      onAttempt: (a) => {
        attempts.push(a);
        abortSoon(() => controller.abort(reason));
      },
      signal: controller.signal,
    }).catch((e: unknown) => e);
    expect(error).toBe(reason);
    expect(attempts).toHaveLength(1);
    expect(performance.now() - abortedAt).toBeLessThan(5000);

    // During an attempt: the server accepts TCP and never answers; the abort comes once it has
    // the connection.
    const during = new AbortController();
    const silent = net.createServer(() => abortSoon(() => during.abort(reason)));
    await new Promise<void>((resolve) => silent.listen(0, ADDRESS, resolve));
    try {
      const error2 = await connect({
        host: ADDRESS,
        port: (silent.address() as net.AddressInfo).port,
        username: 'nobody',
        auth: { password: 'x' },
        hostKey: { kind: 'insecure' },
        // Not cut short, the attempt would last 60 s: past the test's timeout.
        dialTimeoutMs: 60_000,
        signal: during.signal,
      }).catch((e: unknown) => e);
      expect(error2).toBe(reason);
      expect(performance.now() - abortedAt).toBeLessThan(5000);
    } finally {
      silent.close();
    }
  });

  it('treats a host key that is not published yet as not up yet', async () => {
    let calls = 0;
    const attempts: ConnectAttempt[] = [];
    await using connection = await connectTo(sshd, key, {
      readyTimeoutMs: 5000,
      backoff: { initialDelayMs: 20, maxDelayMs: 20 },
      onAttempt: (a) => attempts.push(a),
      hostKey: async () => {
        calls++;
        return calls < 3 ? undefined : { kind: 'fingerprints', fingerprints: [sshd.hostKeyFingerprint] };
      },
    });
    expect(connection.hostKeyFingerprint).toBe(sshd.hostKeyFingerprint);
    expect(attempts.map((a) => a.error.message)).toEqual([
      expect.stringContaining('host key not published yet'),
      expect.stringContaining('host key not published yet'),
    ]);
  });

  it('rejects malformed options with an error naming the option and what is expected', async () => {
    const base = optionsFor(sshd, key);
    const cases: [Partial<typeof base>, RegExp][] = [
      [{ hostKey: { kind: 'fingerprints', fingerprints: ['abc'] } }, /hostKey\.fingerprints\[0\].*SHA256/],
      [{ hostKey: { kind: 'fingerprints', fingerprints: [] } }, /hostKey\.fingerprints.*non-empty list/],
      [
        { hostKey: { kind: 'public-keys', publicKeys: ['ssh-ed25519 !!!'] } },
        /hostKey\.publicKeys\[0\].*base64/,
      ],
      [{ hostKey: { kind: 'nope' } as never }, /hostKey\.kind.*'fingerprints'/],
      [{ hostKey: undefined as never }, /hostKey.*trust-on-first-use/],
      [{ port: 70000 }, /port.*1 to 65535/],
      [{ host: '' }, /host/],
      [{ auth: { privateKey: 'not a key' } }, /auth\.privateKey.*OpenSSH or PEM/],
      [{ auth: { privateKey: key.publicKey } }, /auth\.privateKey.*(private key|OpenSSH or PEM)/],
      [{ readyTimeoutMs: -1 }, /readyTimeoutMs/],
    ];
    for (const [override, pattern] of cases) {
      const error = await connect({ ...base, ...override }).catch((e: unknown) => e);
      expect(SshOptionsError.isInstance(error), String(pattern)).toBe(true);
      expect((error as Error).message).toMatch(pattern);
    }
  });
});

import { abortable, backoffDelay, sleep, stderrLogger } from '@workerkit/core';
import { resolveAuth } from './auth.js';
import { dial, NotUpYetError } from './dial.js';
import { hostKeyCheck, validateHostKeyPolicy } from './host-key.js';
import { Ssh2Connection } from './ssh-connection.js';
import { SshNotReadyError, SshOptionsError } from './ssh-errors.js';
import type { ConnectOptions, HostKeyPolicy, SshConnection } from './ssh-types.js';

const DEFAULTS = {
  port: 22,
  dialTimeoutMs: 5000,
  readyTimeoutMs: 0,
  initialDelayMs: 250,
  maxDelayMs: 5000,
  keepaliveIntervalMs: 10_000,
  keepaliveCountMax: 3,
};
/** The shortest dial timeout given to an attempt made close to the deadline. */
const MIN_ATTEMPT_MS = 100;

/**
 * Connects and authenticates. With `readyTimeoutMs`, failures that mean "not up yet" (refused,
 * timed out, reset during the handshake, host key not published) are retried with jittered
 * exponential backoff until the deadline, then `SshNotReadyError`. Failures that will never
 * succeed fail at once: `SshAuthenticationError`, `HostKeyMismatchError`, `SshHandshakeError`,
 * `SshOptionsError`. Aborting `signal` rejects promptly with its reason.
 */
export async function connect(options: ConnectOptions): Promise<SshConnection> {
  const { settings, credentials } = checkConnectOptions(options);
  const { host, port, signal } = settings;
  const logger = options.logger ?? stderrLogger;
  const started = performance.now();
  const deadline = started + settings.readyTimeoutMs;
  const backoff = { initialMs: settings.initialDelayMs, maxMs: settings.maxDelayMs };

  for (let attempt = 1; ; attempt++) {
    signal?.throwIfAborted();
    const remaining = deadline - performance.now();
    const timeoutMs =
      settings.readyTimeoutMs > 0
        ? Math.max(MIN_ATTEMPT_MS, Math.min(settings.dialTimeoutMs, remaining))
        : settings.dialTimeoutMs;
    try {
      const policy = await hostKeyPolicy(options, signal);
      const check = hostKeyCheck(policy, { host, port, logger });
      const client = await dial({
        host,
        port,
        username: settings.username,
        credentials,
        check,
        timeoutMs: Math.round(timeoutMs),
        keepaliveIntervalMs: settings.keepaliveIntervalMs,
        keepaliveCountMax: settings.keepaliveCountMax,
        algorithms: options.algorithms,
        signal,
      });
      logger.debug('ssh: connected', { host, port, attempt, fingerprint: check.presented });
      return new Ssh2Connection({ client, host, port, hostKeyFingerprint: check.presented!, logger });
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      if (!(error instanceof NotUpYetError)) throw error;
      const left = deadline - performance.now();
      if (left <= 0) {
        throw new SshNotReadyError({
          host,
          port,
          attempts: attempt,
          elapsedMs: performance.now() - started,
          cause: error,
        });
      }
      // The last attempt starts at the deadline at the latest (and may overrun it by MIN_ATTEMPT_MS).
      const delayMs = Math.min(backoffDelay(attempt, backoff), left);
      options.onAttempt?.({ attempt, error, delayMs });
      await sleep(delayMs, signal);
    }
  }
}

/** Validates connect options without connecting; throws `SshOptionsError` naming what is wrong. */
export function checkConnectOptions(options: ConnectOptions) {
  const settings = validate(options);
  const credentials = resolveAuth(options.auth);
  if (typeof options.hostKey !== 'function') validateHostKeyPolicy(options.hostKey);
  return { settings, credentials };
}

async function hostKeyPolicy(
  options: ConnectOptions,
  signal: AbortSignal | undefined,
): Promise<HostKeyPolicy> {
  const source = options.hostKey;
  if (typeof source !== 'function') return source;
  const pending = source();
  const policy = await abortable(pending, signal);
  if (policy === undefined) {
    throw new NotUpYetError('host key not published yet');
  }
  validateHostKeyPolicy(policy);
  return policy;
}

function validate(options: ConnectOptions) {
  if (typeof options !== 'object' || options === null) {
    throw new SshOptionsError({
      option: 'connect options',
      got: String(options),
      expected: 'an options object',
    });
  }
  const { host, username } = options;
  if (typeof host !== 'string' || host.trim() === '') {
    throw new SshOptionsError({
      option: 'host',
      got: JSON.stringify(host),
      expected: 'a host name or IP address',
    });
  }
  if (typeof username !== 'string' || username === '') {
    throw new SshOptionsError({
      option: 'username',
      got: JSON.stringify(username),
      expected: 'a non-empty user name',
    });
  }
  const port = options.port ?? DEFAULTS.port;
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new SshOptionsError({ option: 'port', got: String(port), expected: 'an integer from 1 to 65535' });
  }
  if (options.hostKey === undefined || options.hostKey === null) {
    throw new SshOptionsError({
      option: 'hostKey',
      got: 'nothing',
      expected:
        "a host key policy: { kind: 'fingerprints' | 'public-keys', … }, or by name { kind: 'trust-on-first-use', store } / { kind: 'insecure' }",
    });
  }
  const ms = (name: string, value: number | undefined, fallback: number, min: number) => {
    const result = value ?? fallback;
    if (typeof result !== 'number' || !Number.isFinite(result) || result < min) {
      throw new SshOptionsError({ option: name, got: String(value), expected: `a number of ms >= ${min}` });
    }
    return result;
  };
  if (options.onAttempt !== undefined && typeof options.onAttempt !== 'function') {
    throw new SshOptionsError({ option: 'onAttempt', got: typeof options.onAttempt, expected: 'a function' });
  }
  return {
    host,
    port,
    username,
    signal: options.signal,
    dialTimeoutMs: ms('dialTimeoutMs', options.dialTimeoutMs, DEFAULTS.dialTimeoutMs, 1),
    readyTimeoutMs: ms('readyTimeoutMs', options.readyTimeoutMs, DEFAULTS.readyTimeoutMs, 0),
    initialDelayMs: ms('backoff.initialDelayMs', options.backoff?.initialDelayMs, DEFAULTS.initialDelayMs, 0),
    maxDelayMs: ms('backoff.maxDelayMs', options.backoff?.maxDelayMs, DEFAULTS.maxDelayMs, 0),
    keepaliveIntervalMs: ms(
      'keepaliveIntervalMs',
      options.keepaliveIntervalMs,
      DEFAULTS.keepaliveIntervalMs,
      0,
    ),
    keepaliveCountMax: ms('keepaliveCountMax', options.keepaliveCountMax, DEFAULTS.keepaliveCountMax, 0),
  };
}

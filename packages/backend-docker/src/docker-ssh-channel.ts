import type { Logger, OutputSink, Progresser, RunResult } from '@workerkit/core';
import { connect, generateKeyPair, type SshConnection } from '@workerkit/ssh';
import type Docker from 'dockerode';
import { abortOption } from './docker-abort-option.js';
import { toDockerApiError } from './docker-errors.js';
import type { ScriptChannel } from './docker-native-channel.js';
import { TRACE_PATH } from './docker-native-channel.js';
import { createTar } from './docker-tar.js';

/** The login user (the Go worker's `travis`). */
export const SSH_USER = 'travis';
/** Where the per-container host key goes: a standard sshd HostKey path. */
export const SSH_HOST_KEY_PATH = '/etc/ssh/ssh_host_ed25519_key';
export const SSH_AUTHORIZED_KEYS_PATH = '/home/travis/.ssh/authorized_keys';
/** Relative to the login directory, as Go's SFTP upload was. */
export const SSH_SCRIPT_PATH = 'build.sh';

export interface SshConnectSettings {
  host: string;
  port: number;
  dialTimeoutMs: number;
  readyTimeoutMs: number;
  execCommand: readonly string[];
  env: Readonly<Record<string, string>>;
  pty: boolean;
  logger: Logger;
  progress?: Progresser;
  signal?: AbortSignal;
}

/** Per-container ssh credentials, put into the container before it starts. */
export interface SshAccess {
  /** Writes the host key and the login's authorized_keys into the (created, not started) container. */
  install(container: Docker.Container, signal?: AbortSignal): Promise<void>;
  /** Waits for sshd to accept the login (verifying the host key we installed) and opens the channel. */
  connect(settings: SshConnectSettings): Promise<ScriptChannel>;
}

/**
 * SSH mode without shared secrets: each container gets a fresh ed25519 host key and a fresh
 * login key, so the host key is verified exactly (the Go worker logged in with the password
 * "travis" and accepted any host key).
 */
export async function prepareSshAccess(containerName: string): Promise<SshAccess> {
  const [hostKey, loginKey] = await Promise.all([
    generateKeyPair({ comment: `${containerName}-host` }),
    generateKeyPair({ comment: `workerkit@${containerName}` }),
  ]);
  return {
    async install(container, signal) {
      const archive = createTar([
        { path: SSH_HOST_KEY_PATH.slice(1), content: Buffer.from(hostKey.privateKey), mode: 0o600 },
        {
          path: `${SSH_HOST_KEY_PATH.slice(1)}.pub`,
          content: Buffer.from(`${hostKey.publicKey}\n`),
          mode: 0o644,
        },
        {
          path: SSH_AUTHORIZED_KEYS_PATH.slice(1),
          content: Buffer.from(`${loginKey.publicKey}\n`),
          mode: 0o644,
        },
      ]);
      try {
        await container.putArchive(archive, { path: '/', ...abortOption(signal) });
      } catch (error) {
        signal?.throwIfAborted();
        throw toDockerApiError('ssh key install', error);
      }
    },
    async connect(settings) {
      const { progress } = settings;
      const connection = await connect({
        host: settings.host,
        port: settings.port,
        username: SSH_USER,
        auth: { privateKey: loginKey.privateKey },
        hostKey: { kind: 'public-keys', publicKeys: [hostKey.publicKey] },
        dialTimeoutMs: settings.dialTimeoutMs,
        readyTimeoutMs: settings.readyTimeoutMs,
        logger: settings.logger,
        ...(settings.signal ? { signal: settings.signal } : {}),
        ...(progress ? { onAttempt: () => progress.progress({ message: '.', raw: true }) } : {}),
      });
      progress?.progress({ message: `ssh to ${settings.host}:${settings.port} ready`, state: 'success' });
      return new SshChannel(connection, sshCommand(settings.execCommand, settings.env), settings.pty);
    },
  };
}

/** One word for a POSIX shell. */
function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}

/** EXEC_CMD for the login shell, with the proxy variables in front. */
export function sshCommand(execCommand: readonly string[], env: Readonly<Record<string, string>>): string {
  const assignments = Object.entries(env).map(([name, value]) => `${name}=${shellQuote(value)}`);
  return [...assignments, ...execCommand].join(' ');
}

class SshChannel implements ScriptChannel {
  readonly #connection: SshConnection;
  readonly #command: string;
  readonly #pty: boolean;

  constructor(connection: SshConnection, command: string, pty: boolean) {
    this.#connection = connection;
    this.#command = command;
    this.#pty = pty;
  }

  upload(script: Uint8Array, signal?: AbortSignal): Promise<void> {
    return this.#connection.upload(SSH_SCRIPT_PATH, script, { mode: 0o755, ...(signal ? { signal } : {}) });
  }

  run(output: OutputSink, signal: AbortSignal): Promise<RunResult> {
    return this.#connection.run(this.#command, { output, pty: this.#pty, signal });
  }

  async downloadTrace(signal?: AbortSignal): Promise<Uint8Array> {
    return this.#connection.download(TRACE_PATH, signal ? { signal } : {});
  }

  close(): Promise<void> {
    return this.#connection.close();
  }
}

import type { Logger, OutputSink, RunResult } from '@workerkit/core';

/** How to log in: a private key (OpenSSH or PEM; ed25519, RSA, ECDSA; optional passphrase) or a password. */
export type SshAuth = { privateKey: string | Uint8Array; passphrase?: string } | { password: string };

/**
 * Which host keys to accept. Verification is the default: pass the fingerprints
 * (`SHA256:<base64 without =>`) or public keys (`ssh-ed25519 AAAA…`) the cloud reported.
 * `trust-on-first-use` and `insecure` exist only when asked for by name; `insecure` logs a warning.
 */
export type HostKeyPolicy =
  | { kind: 'fingerprints'; fingerprints: readonly string[] }
  | { kind: 'public-keys'; publicKeys: readonly string[] }
  | { kind: 'trust-on-first-use'; store: Map<string, string> }
  | { kind: 'insecure' };

/**
 * A host-key source asked before each connection attempt; `undefined` means "not published
 * yet" (the machine is still booting) and counts as not-up-yet.
 */
export type HostKeySource = HostKeyPolicy | (() => Promise<HostKeyPolicy | undefined>);

export interface ConnectAttempt {
  attempt: number;
  /** Why the previous attempt failed (not up yet). */
  error: Error;
  /** Wait before the next attempt. */
  delayMs: number;
}

export interface ConnectOptions {
  host: string;
  port?: number;
  username: string;
  auth: SshAuth;
  hostKey: HostKeySource;
  signal?: AbortSignal;
  /** Time allowed for one TCP connect + handshake (default 5 s). */
  dialTimeoutMs?: number;
  /** Keep retrying "not up yet" failures until this much time passed (default 0: one attempt). */
  readyTimeoutMs?: number;
  /** Called after each failed attempt that will be retried (backends print a progress dot). */
  onAttempt?: (attempt: ConnectAttempt) => void;
  /** Keepalive interval in ms (default 10 s); after `keepaliveCountMax` (default 3) misses the connection is lost. */
  keepaliveIntervalMs?: number;
  keepaliveCountMax?: number;
  logger?: Logger;
}

export interface UploadOptions {
  /** File mode (default 0o755 for scripts). */
  mode?: number;
  signal?: AbortSignal;
  /** Overwrite instead of throwing `StaleVmError` when the file exists. */
  overwrite?: boolean;
}

export interface SshRunOptions {
  output: OutputSink;
  /** Allocate a PTY (default false: ~100x faster for line output; stdout and stderr stay separate). */
  pty?: boolean;
  signal?: AbortSignal;
}

export interface SshConnection extends AsyncDisposable {
  /** `SHA256:…` fingerprint of the host key that was accepted. */
  readonly hostKeyFingerprint: string;
  /** SFTP upload; paths are relative to the login directory. Existing file → `StaleVmError`. */
  upload(path: string, content: string | Uint8Array, options?: UploadOptions): Promise<void>;
  /** SFTP download; a missing file → `TraceNotFoundError`-compatible `SshFileNotFoundError`. */
  download(path: string, options?: { signal?: AbortSignal }): Promise<Buffer>;
  /**
   * Runs a command, streaming stdout and stderr into `output`. The exit status is read after the
   * output drained. A dropped connection → `{ completed: false, reason: 'connection-lost' }`;
   * abort → the remote process is signalled and `{ completed: false, reason: 'cancelled' }`
   * (or `'hard-timeout'` when the signal aborted with a timeout).
   */
  run(command: string, options: SshRunOptions): Promise<RunResult>;
  close(): Promise<void>;
}

export interface SshKeyPair {
  /** OpenSSH-format private key. */
  privateKey: string;
  /** `ssh-ed25519 AAAA… comment`, ready for authorized_keys. */
  publicKey: string;
  /** `SHA256:…` */
  fingerprint: string;
}

/**
 * The part of an `Instance` every SSH-based backend shares (docker ssh mode, GCE, EC2): it
 * connects on first use (waiting for the machine to accept SSH), uploads the build script,
 * runs it and fetches the trace. Backends wrap it with their own start, stop and preemption
 * checks.
 */
export interface SshScriptTargetOptions {
  /** How to reach the machine; `readyTimeoutMs` bounds the wait for it to accept SSH. */
  connect: ConnectOptions;
  /** Where the script goes, relative to the login directory (default `build.sh`). */
  scriptPath?: string;
  /** What runs it (default `bash ~/build.sh`). */
  command?: string;
  /** Where the trace is read from (default `/tmp/build.trace`). */
  tracePath?: string;
  pty?: boolean;
}

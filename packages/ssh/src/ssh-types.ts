import type { Logger, OutputSink, RunOptions, RunResult } from '@workerkit/core';

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
  /** `store` maps `host:port` to the fingerprint seen first; later connections must present the same key. */
  | { kind: 'trust-on-first-use'; store: Map<string, string> }
  | { kind: 'insecure' };

/**
 * A host-key source asked before each connection attempt; `undefined` means "not published
 * yet" (the machine is still booting) and counts as not-up-yet. An error it throws is final.
 */
export type HostKeySource = HostKeyPolicy | (() => Promise<HostKeyPolicy | undefined>);

export interface ConnectAttempt {
  attempt: number;
  /** Why the previous attempt failed (not up yet). */
  error: Error;
  /** Wait before the next attempt. */
  delayMs: number;
}

/** Algorithm lists in preference order (ssh2 names); unset lists keep ssh2's defaults. */
export interface SshAlgorithms {
  cipher?: string[];
  kex?: string[];
  serverHostKey?: string[];
  hmac?: string[];
  compress?: string[];
}

export interface ConnectOptions {
  host: string;
  port?: number;
  username: string;
  auth: SshAuth;
  hostKey: HostKeySource;
  signal?: AbortSignal;
  /** Time allowed for one TCP connect + handshake + authentication (default 5 s). */
  dialTimeoutMs?: number;
  /** Keep retrying "not up yet" failures until this much time passed (default 0: one attempt). */
  readyTimeoutMs?: number;
  /** Delays between attempts: exponential from `initialDelayMs` (default 250) up to `maxDelayMs` (default 5000), jittered ±50%. */
  backoff?: { initialDelayMs?: number; maxDelayMs?: number };
  /** Called after each failed attempt that will be retried (backends print a progress dot). */
  onAttempt?: (attempt: ConnectAttempt) => void;
  /** Keepalive interval in ms (default 10 s; 0 disables); after `keepaliveCountMax` (default 3) misses the connection is lost. */
  keepaliveIntervalMs?: number;
  keepaliveCountMax?: number;
  /** Restrict or reorder algorithms (e.g. `{ cipher: ['aes128-gcm@openssh.com'] }`). */
  algorithms?: SshAlgorithms;
  /** Receives the `insecure` warning and debug lines (default: warnings to stderr). */
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
  /**
   * After an abort the command's process group gets SIGTERM, and SIGKILL this many ms later
   * (default 2000). The call itself returns without waiting for it.
   */
  killGraceMs?: number;
}

export interface SshConnection extends AsyncDisposable {
  readonly host: string;
  readonly port: number;
  /** `SHA256:…` fingerprint of the host key that was accepted. */
  readonly hostKeyFingerprint: string;
  /** True once the connection is closed, by `close()` or because it dropped. */
  readonly closed: boolean;
  /** SFTP upload; paths are relative to the login directory. Existing file → `StaleVmError`. */
  upload(path: string, content: string | Uint8Array, options?: UploadOptions): Promise<void>;
  /** SFTP download; a missing file → `SshFileNotFoundError`, which is a `TraceNotFoundError`. */
  download(path: string, options?: { signal?: AbortSignal }): Promise<Buffer>;
  /**
   * Runs a command, streaming stdout and stderr into `output`. The exit status is read after the
   * output drained. A dropped connection → `{ completed: false, reason: 'connection-lost' }`;
   * abort → the remote process is signalled and `{ completed: false, reason: 'cancelled' }`
   * (or `'hard-timeout'` when the signal aborted with a timeout). Never throws for an incomplete run.
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
  /** What runs it (default `bash ~/build.sh`, or `bash <scriptPath>` for another path). */
  command?: string;
  /** Where the trace is read from (default `/tmp/build.trace`). */
  tracePath?: string;
  pty?: boolean;
  /** See `SshRunOptions.killGraceMs`. */
  killGraceMs?: number;
  /**
   * How long a reconnect (after the connection dropped between calls) keeps trying, instead of
   * `connect.readyTimeoutMs`: a machine that was up and is unreachable now is probably gone.
   * Default 0: one attempt, bounded by `connect.dialTimeoutMs`.
   */
  reconnectTimeoutMs?: number;
}

/** What `SshScriptTarget.run` takes: core's run options (signal, hard timeout). */
export type SshScriptRunOptions = RunOptions;

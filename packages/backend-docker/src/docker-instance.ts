import {
  type Instance,
  type Logger,
  type OutputSink,
  type RunOptions,
  type RunResult,
  type SignalOptions,
  withHardTimeout,
} from '@workerkit/core';
import type Docker from 'dockerode';
import { abortOption } from './docker-abort-option.js';
import { engineMessage, isNotFound, statusOf, toDockerApiError } from './docker-errors.js';
import type { ScriptChannel } from './docker-native-channel.js';

/** Something a container holds until it is removed (a CPU set, an ssh port). */
export interface Releasable {
  release(): void;
}

export interface DockerInstanceOptions {
  docker: Docker;
  containerId: string;
  containerName: string;
  imageName: string;
  startupDuration: number;
  channel: ScriptChannel;
  /** Released once the container is gone. */
  holds: readonly Releasable[];
  /** STOP_TIMEOUT: SIGTERM and this long before the kill (0: killed and removed at once). */
  stopTimeoutMs: number;
  /** The job's hard timeout, the default for `runScript`. */
  hardTimeoutMs: number | undefined;
  logger: Logger;
}

/**
 * Removes a container by force with its volumes: its processes are killed (SIGKILL) and it is
 * gone in one call. With a grace period they first get SIGTERM and that long to end (`docker
 * stop`); a failed stop still ends in the forced removal (the Go worker left the container
 * behind then). Gone already counts as done.
 */
export async function removeContainer(
  docker: Docker,
  id: string,
  {
    logger,
    gracePeriodMs = 0,
    graceSignal,
  }: { logger: Logger; gracePeriodMs?: number; graceSignal?: AbortSignal | undefined },
): Promise<void> {
  const container = docker.getContainer(id);
  if (gracePeriodMs > 0 && !graceSignal?.aborted) {
    try {
      await container.stop({ t: Math.ceil(gracePeriodMs / 1000), ...abortOption(graceSignal) });
    } catch (error) {
      const status = statusOf(error);
      if (status === 404) return;
      if (status !== 304 && !graceSignal?.aborted) {
        logger.warn('docker: stopping the container failed; removing it by force', {
          container: id.slice(0, 12),
          error: engineMessage(error),
        });
      }
    }
  }
  for (let attempt = 1; ; attempt++) {
    try {
      await container.remove({ force: true, v: true });
      return;
    } catch (error) {
      if (isNotFound(error)) return;
      // 409: a removal is already in progress (another stop, or gc); wait for it to finish.
      if (statusOf(error) === 409 && attempt < 20) {
        await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
        continue;
      }
      throw toDockerApiError('container remove', error);
    }
  }
}

/** One job's container. */
export class DockerInstance implements Instance {
  readonly id: string;
  readonly imageName: string;
  readonly startupDuration: number;
  readonly supportsProgress = true;
  /** The full container ID and name. */
  readonly containerId: string;
  readonly containerName: string;
  readonly #options: DockerInstanceOptions;
  #stopping: Promise<void> | undefined;

  constructor(options: DockerInstanceOptions) {
    this.#options = options;
    this.containerId = options.containerId;
    this.containerName = options.containerName;
    this.id = options.containerId.slice(0, 7);
    this.imageName = options.imageName;
    this.startupDuration = options.startupDuration;
  }

  uploadScript(script: string | Uint8Array, options: SignalOptions = {}): Promise<void> {
    const bytes = typeof script === 'string' ? Buffer.from(script) : script;
    return this.#options.channel.upload(bytes, options.signal);
  }

  async runScript(output: OutputSink, options: RunOptions = {}): Promise<RunResult> {
    const timeout = withHardTimeout(options.signal, options.hardTimeoutMs ?? this.#options.hardTimeoutMs);
    try {
      return await this.#options.channel.run(output, timeout.signal);
    } finally {
      timeout.dispose();
    }
  }

  downloadTrace(options: SignalOptions = {}): Promise<Uint8Array> {
    return this.#options.channel.downloadTrace(options.signal);
  }

  /**
   * Kills and removes the container (after STOP_TIMEOUT's grace period, if one is set); safe to
   * call more than once (and concurrently). An aborted signal skips the grace period; it never
   * skips the removal. If removal fails, the error is thrown and a later call tries again.
   */
  stop(options: SignalOptions = {}): Promise<void> {
    this.#stopping ??= this.#stop(options.signal).catch((error: unknown) => {
      this.#stopping = undefined;
      throw error;
    });
    return this.#stopping;
  }

  async #stop(signal: AbortSignal | undefined): Promise<void> {
    const { docker, containerId, stopTimeoutMs, logger, channel, holds } = this.#options;
    await channel.close().catch(() => {});
    await removeContainer(docker, containerId, { logger, gracePeriodMs: stopTimeoutMs, graceSignal: signal });
    for (const hold of holds) hold.release();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

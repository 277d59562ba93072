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
import { dockerApiError, engineMessage, isNotFound, statusOf } from './docker-errors.js';
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
  stopTimeoutMs: number;
  /** The job's hard timeout, the default for `runScript`. */
  hardTimeoutMs: number | undefined;
  logger: Logger;
}

/**
 * Removes a container: stop with a grace period, then force-remove with its volumes even when
 * the stop failed (the Go worker left the container behind then). Gone already counts as done.
 */
export async function removeContainer(
  docker: Docker,
  id: string,
  { stopTimeoutMs, logger, graceful = true }: { stopTimeoutMs: number; logger: Logger; graceful?: boolean },
): Promise<void> {
  const container = docker.getContainer(id);
  if (graceful) {
    try {
      await container.stop({ t: Math.ceil(stopTimeoutMs / 1000) });
    } catch (error) {
      const status = statusOf(error);
      if (status === 404) return;
      if (status !== 304) {
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
      throw dockerApiError('container remove', error);
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
   * Stops and removes the container; safe to call more than once (and concurrently). An
   * aborted signal skips the grace period and removes at once. If removal fails, the error is
   * thrown and a later call tries again.
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
    await removeContainer(docker, containerId, { stopTimeoutMs, logger, graceful: !signal?.aborted });
    for (const hold of holds) hold.release();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

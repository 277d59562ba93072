import { randomBytes } from 'node:crypto';
import { expiryFor, type Logger, ProviderApiError, type StartAttributes } from '@workerkit/core';
import type Docker from 'dockerode';
import { startContainer } from './container-start.js';
import { abortOption } from './docker-abort-option.js';
import { containerSpec } from './docker-container-spec.js';
import { engineMessage, toDockerApiError } from './docker-errors.js';
import { removeContainer } from './docker-instance.js';
import type { DockerOptions } from './docker-options.js';
import type { HostOutputDirs } from './host-output.js';
import { withJobContainerName } from './job-container-name.js';
import { type WarmContainer, WarmPool } from './warm-pool.js';

/**
 * How long a warm container's expiry label lasts. Labels cannot change, so a claimed one keeps
 * it: a job whose hard timeout would outlast it starts cold instead.
 */
const WARM_CONTAINER_LIFETIME_MS = 24 * 60 * 60_000;

export interface WarmContainersOptions {
  docker: Docker;
  settings: DockerOptions;
  ownerId: string;
  logger: Logger;
  hostOutput: HostOutputDirs | undefined;
}

/**
 * WARM_CONTAINERS on the daemon: launches the pool's containers (labelled for gc, no job yet),
 * and hands one to a job, renamed to the job's container name and given its CPU set.
 */
export class WarmContainers {
  readonly #options: WarmContainersOptions;
  readonly #pool: WarmPool;

  constructor(options: WarmContainersOptions) {
    this.#options = options;
    this.#pool = new WarmPool({
      size: options.settings.WARM_CONTAINERS,
      launch: (imageId) => this.#launch(imageId),
      remove: (warm) => this.remove(warm),
      logger: options.logger,
    });
  }

  get readyCount(): number {
    return this.#pool.readyCount;
  }

  /** Starts containers for the image in the background until the pool is full. */
  topUp(imageId: string): void {
    this.#pool.topUp(imageId);
  }

  idle(): Promise<void> {
    return this.#pool.idle();
  }

  close(): Promise<void> {
    return this.#pool.close();
  }

  /**
   * Takes a warm container for the job and makes it the job's: its name (a leftover of the
   * same job is removed first, as on create) and its CPU set. A warm container that died or
   * cannot be adopted is removed and the next one tried; undefined means start cold.
   */
  async claim(
    imageId: string,
    name: string,
    attributes: StartAttributes,
    cpuSet: { cpusetCpus: string } | undefined,
    signal: AbortSignal | undefined,
  ): Promise<WarmContainer | undefined> {
    const { docker, logger } = this.#options;
    for (;;) {
      const warm = await this.#pool.claim(imageId, expiryFor(attributes.hardTimeoutMs), signal);
      if (!warm) return undefined;
      const container = docker.getContainer(warm.id);
      try {
        const state = await container.inspect(abortOption(signal));
        if (!state.State.Running) throw new Error(`it is ${state.State.Status}`);
        await withJobContainerName({ docker, logger }, name, attributes, 'container rename', () =>
          container.rename({ name, ...abortOption(signal) }),
        );
        if (cpuSet) await container.update({ CpusetCpus: cpuSet.cpusetCpus, ...abortOption(signal) });
        signal?.throwIfAborted();
        return warm;
      } catch (error) {
        await this.remove(warm).catch(() => {});
        signal?.throwIfAborted();
        // The name belongs to a container that is not this job's: a cold start would fail alike.
        if (ProviderApiError.isInstance(error) && error.code === '409') throw error;
        logger.warn('docker: a warm container could not take the job; trying the next', {
          container: warm.id.slice(0, 12),
          error: engineMessage(error),
        });
      }
    }
  }

  /** Removes a warm container (no grace period: it never ran a job), then its output directory. */
  async remove(warm: WarmContainer): Promise<void> {
    const { docker, logger, hostOutput } = this.#options;
    await removeContainer(docker, warm.id, { logger });
    if (warm.outputDir) hostOutput?.remove(warm.outputDir);
  }

  /** Creates and starts a container for the pool: no job yet, so a name of its own. */
  async #launch(imageId: string): Promise<WarmContainer> {
    const { docker, settings, ownerId, hostOutput } = this.#options;
    const expiresAt = new Date(Date.now() + WARM_CONTAINER_LIFETIME_MS);
    const name = `workerkit-warm-${randomBytes(6).toString('hex')}`;
    const outputDir = hostOutput?.create();
    const warm: WarmContainer = { id: name, imageId, expiresAt, ...(outputDir ? { outputDir } : {}) };
    const spec = containerSpec(
      {
        settings,
        attributes: {},
        imageId,
        ownerId,
        expiresAt,
        ...(outputDir && hostOutput ? { output: { dir: outputDir, bind: hostOutput.bind(outputDir) } } : {}),
      },
      name,
    );
    try {
      warm.id = (await docker.createContainer(spec)).id;
      await startContainer(docker, warm.id, settings.INSPECT_INTERVAL);
      return warm;
    } catch (error) {
      await this.remove(warm).catch(() => {});
      throw toDockerApiError('warm container start', error);
    }
  }
}

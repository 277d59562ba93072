import type { Logger } from '@workerkit/core';
import type Docker from 'dockerode';
import { engineMessage, statusOf } from './docker-errors.js';
import { imageNotFound } from './docker-image-selection.js';
import { removeContainer } from './docker-instance.js';
import { followToEnd, type LateCleanups } from './followed-call.js';

export interface FollowedCreateContext {
  docker: Docker;
  logger: Logger;
  late: LateCleanups;
}

/**
 * Creates a container; an abort does not cut the request but waits for its answer
 * (`followToEnd`), so the caller gets the ID and removes the container like any other after a
 * failed start. A create the daemon answers too late is removed whenever the answer comes; one
 * whose connection broke is looked up by name, as the daemon may have made it anyway.
 */
export async function createContainerFollowed(
  { docker, logger, late }: FollowedCreateContext,
  spec: Docker.ContainerCreateOptions,
  signal: AbortSignal | undefined,
): Promise<string> {
  signal?.throwIfAborted();
  const remove = (id: string) => removeContainer(docker, id, { logger });
  const creating = docker.createContainer(spec).then(
    (container) => container.id,
    async (error: unknown) => {
      if (statusOf(error) === undefined && spec.name) await remove(spec.name).catch(() => {});
      if (statusOf(error) === 404) {
        throw imageNotFound(`image "${spec.Image}" is not on the Docker daemon: ${engineMessage(error)}`);
      }
      throw error;
    },
  );
  return followToEnd(creating, signal, (answer) =>
    late.track(
      answer.then(
        (id) =>
          remove(id).catch((error: unknown) =>
            logger.error('docker: removing a container created after its start was aborted failed', {
              container: id.slice(0, 12),
              error: engineMessage(error),
            }),
          ),
        () => {},
      ),
    ),
  );
}

import { LIFECYCLE_LABELS, type Logger, type Progresser, type StartAttributes } from '@workerkit/core';
import type Docker from 'dockerode';
import { isNotFound, statusOf, toDockerApiError } from './docker-errors.js';
import { removeContainer } from './docker-instance.js';

export interface JobNameContext {
  docker: Docker;
  logger: Logger;
  progress?: Progresser | undefined;
}

/**
 * Runs `takeName` (a create, or a rename of a warm container, to the job's container name). When
 * the name is taken by a leftover of this job (a requeued attempt), the leftover is removed and
 * it runs once more; a container of that name that is not ours is left alone and the call fails
 * (a `ProviderApiError` with code "409").
 */
export async function withJobContainerName<T>(
  context: JobNameContext,
  name: string,
  attributes: StartAttributes,
  operation: string,
  takeName: () => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await takeName();
    } catch (error) {
      if (statusOf(error) === 409 && attempt === 1 && (await removeLeftover(context, name, attributes))) {
        try {
          context.progress?.progress({ message: `removed leftover container ${name}` });
        } catch {
          // A broken progress sink must not break the start.
        }
        continue;
      }
      throw toDockerApiError(operation, error);
    }
  }
}

/** Removes a same-named container if it is workerkit's or the Go worker's for this job. */
async function removeLeftover(
  { docker, logger }: JobNameContext,
  name: string,
  attributes: StartAttributes,
): Promise<boolean> {
  let labels: Record<string, string>;
  try {
    labels = (await docker.getContainer(name).inspect()).Config.Labels ?? {};
  } catch (error) {
    return isNotFound(error);
  }
  const ours = labels[LIFECYCLE_LABELS.managed] === 'true';
  const goWorkers = attributes.jobId !== undefined && labels['travis.job_id'] === attributes.jobId;
  if (!ours && !goWorkers) return false;
  await removeContainer(docker, name, { logger });
  return true;
}

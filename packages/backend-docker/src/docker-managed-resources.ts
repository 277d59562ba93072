import {
  LIFECYCLE_LABELS,
  type Logger,
  type ManagedResource,
  ProviderApiError,
  readLifecycleLabels,
} from '@workerkit/core';
import type Docker from 'dockerode';
import { toDockerApiError } from './docker-errors.js';
import { removeContainer } from './docker-instance.js';
import { DOCKER_ALIAS } from './docker-options.js';
import { type HostOutputDirs, ORPHAN_AFTER_MS, OUTPUT_DIR_LABEL } from './host-output.js';

/** What a docker provider manages: its labelled containers and HOST_OUTPUT_DIR directories. */
export interface DockerResourceScope {
  docker: Docker;
  /** CONTAINER_LABELS: they scope a worker pool's containers. */
  containerLabels: Readonly<Record<string, string>>;
  hostOutput: HostOutputDirs | undefined;
  logger: Logger;
}

async function listContainers(
  docker: Docker,
  label: string[],
  signal: AbortSignal | undefined,
): Promise<Docker.ContainerInfo[]> {
  try {
    return await docker.listContainers({
      all: true,
      filters: { label },
      ...(signal ? { abortSignal: signal } : {}),
    });
  } catch (error) {
    signal?.throwIfAborted();
    throw toDockerApiError('container list', error);
  }
}

/** Containers with the lifecycle labels and CONTAINER_LABELS, running or not, and left-over directories. */
export async function listDockerResources(
  scope: DockerResourceScope,
  signal?: AbortSignal,
): Promise<ManagedResource[]> {
  const label = [
    `${LIFECYCLE_LABELS.managed}=true`,
    ...Object.entries(scope.containerLabels).map(([key, value]) => `${key}=${value}`),
  ];
  const containers = await listContainers(scope.docker, label, signal);
  const resources: ManagedResource[] = containers.map((container) => ({
    kind: 'container',
    id: container.Id,
    ...readLifecycleLabels(container.Labels),
    details: {
      name: (container.Names[0] ?? '').replace(/^\//, ''),
      state: container.State,
      ...(container.Labels[OUTPUT_DIR_LABEL] ? { outputDir: container.Labels[OUTPUT_DIR_LABEL] } : {}),
    },
  }));
  return [...resources, ...(await orphanOutputDirs(scope, signal))];
}

/**
 * HOST_OUTPUT_DIR directories that no container refers to any more (any worker's: the
 * directory may be shared), older than a start could take: listed already expired.
 */
async function orphanOutputDirs(
  scope: DockerResourceScope,
  signal?: AbortSignal,
): Promise<ManagedResource[]> {
  if (!scope.hostOutput) return [];
  const holders = await listContainers(scope.docker, [OUTPUT_DIR_LABEL], signal);
  const inUse = new Set(holders.map((container) => container.Labels[OUTPUT_DIR_LABEL]!));
  return scope.hostOutput.orphans(inUse).map(({ dir, modifiedAt }) => ({
    kind: 'directory',
    id: dir,
    expiresAt: new Date(modifiedAt.getTime() + ORPHAN_AFTER_MS),
    details: { purpose: 'HOST_OUTPUT_DIR of a container that is gone' },
  }));
}

/** Removes a container (and its HOST_OUTPUT_DIR directory), or a left-over directory. */
export async function deleteDockerResource(
  scope: DockerResourceScope,
  resource: ManagedResource,
  signal?: AbortSignal,
): Promise<void> {
  signal?.throwIfAborted();
  if (resource.kind === 'directory' && scope.hostOutput?.owns(resource.id)) {
    scope.hostOutput.remove(resource.id);
    return;
  }
  if (resource.kind !== 'container') {
    throw new ProviderApiError({
      provider: DOCKER_ALIAS,
      operation: 'delete',
      message: `cannot delete a ${resource.kind} ${resource.id}; the docker backend manages containers and the directories under HOST_OUTPUT_DIR`,
      retryable: false,
    });
  }
  await removeContainer(scope.docker, resource.id, { logger: scope.logger });
  const outputDir = resource.details?.outputDir;
  if (outputDir) scope.hostOutput?.remove(outputDir);
}

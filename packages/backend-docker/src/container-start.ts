import { ProviderApiError, sleep } from '@workerkit/core';
import type Docker from 'dockerode';
import { abortOption } from './docker-abort-option.js';
import { toDockerApiError } from './docker-errors.js';
import { DOCKER_ALIAS } from './docker-options.js';
import { followToEnd } from './followed-call.js';

/**
 * Starts a created container and waits until it runs: one inspect right after the start call,
 * then one per `inspectIntervalMs` (no busy loop). A container that exits at once fails with
 * its last output lines. An abort cuts the inspections at once and the start call once it is
 * answered (or FOLLOW_SETTLE_MS passed: a daemon that stopped answering).
 */
export async function startContainer(
  docker: Docker,
  containerId: string,
  inspectIntervalMs: number,
  signal?: AbortSignal,
): Promise<Docker.ContainerInspectInfo> {
  const container = docker.getContainer(containerId);
  try {
    // Not cut by an abort (see followToEnd): removing a container while the daemon still starts
    // it conflicts and can leave it behind. A start answered too late fails on its own once
    // the caller removed the container.
    await followToEnd(container.start(), signal, (late) => late.catch(() => {}));
  } catch (error) {
    signal?.throwIfAborted();
    throw toDockerApiError('container start', error);
  }
  signal?.throwIfAborted();
  for (;;) {
    let state: Docker.ContainerInspectInfo;
    try {
      state = await container.inspect(abortOption(signal));
    } catch (error) {
      signal?.throwIfAborted();
      throw toDockerApiError('container inspect', error);
    }
    if (state.State.Running) return state;
    if (['exited', 'dead', 'removing'].includes(state.State.Status)) {
      const output = await lastOutput(container);
      throw new ProviderApiError({
        provider: DOCKER_ALIAS,
        operation: 'container start',
        message: `the container ${state.State.Status} right after starting (exit code ${state.State.ExitCode}${state.State.Error ? `: ${state.State.Error}` : ''}); check CMD${output ? `; its output ends: ${output}` : ''}`,
        retryable: false,
        code: 'container-exited',
      });
    }
    await sleep(inspectIntervalMs, signal);
  }
}

/** The end of a container's output (json-file/journald logs), for start errors; "" when unavailable. */
export async function lastOutput(container: Docker.Container): Promise<string> {
  try {
    const logs = (await container.logs({
      stdout: true,
      stderr: true,
      tail: 5,
      follow: false,
    })) as unknown as Buffer;
    // Without a TTY each line has an 8-byte stream header.
    const text: string[] = [];
    for (let offset = 0; offset + 8 <= logs.length; ) {
      const size = logs.readUInt32BE(offset + 4);
      text.push(logs.toString('utf8', offset + 8, offset + 8 + size));
      offset += 8 + size;
    }
    return text.join('').trim().slice(-500);
  } catch {
    return '';
  }
}

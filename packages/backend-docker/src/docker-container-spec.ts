import { expiryFor, hostnameFromJob, lifecycleLabels, type StartAttributes } from '@workerkit/core';
import type { ContainerCreateOptions } from 'dockerode';
import type { DockerOptions } from './docker-options.js';
import { OUTPUT_DIR_LABEL } from './host-output.js';

/** Where a container's sshd listens in ssh mode (replaces `{ssh_address}`/`{ssh_port}` in CMD). */
export interface SshEndpoint {
  address: string;
  port: number;
}

export interface ContainerSpecInput {
  settings: DockerOptions;
  attributes: StartAttributes;
  imageId: string;
  ownerId: string;
  /** `HostConfig.CpusetCpus`, when CPU sets are on. */
  cpusetCpus?: string;
  ssh?: SshEndpoint;
  now?: number;
  /** The expiry label; default: the job's hard timeout from `now`, plus grace. */
  expiresAt?: Date;
  /** HOST_OUTPUT_DIR: the container's own host directory and its `Binds` entry. */
  output?: { dir: string; bind: string };
}

/** The container name for a job: the Go worker's `travis-job-<owner>-<repo>-<job id>`. */
export function containerNameFor(attributes: StartAttributes): string {
  return hostnameFromJob({
    ...(attributes.jobId !== undefined ? { jobId: attributes.jobId } : {}),
    ...(attributes.repository !== undefined ? { repository: attributes.repository } : {}),
  });
}

/**
 * Labels: the Go worker's (`travis.dist`, CONTAINER_LABELS, `travis.repo`, `travis.job_id`)
 * plus the lifecycle labels (owner, job, expiry) that `listManagedResources` and gc read.
 */
export function containerLabels(input: Omit<ContainerSpecInput, 'imageId'>): Record<string, string> {
  const { attributes, settings } = input;
  return {
    'travis.dist': attributes.dist ?? '',
    ...settings.CONTAINER_LABELS,
    'travis.repo': attributes.repository ?? '',
    'travis.job_id': attributes.jobId ?? '',
    ...lifecycleLabels({
      ownerId: input.ownerId,
      ...(attributes.jobId ? { jobId: attributes.jobId } : {}),
      expiresAt: input.expiresAt ?? expiryFor(attributes.hardTimeoutMs, input.now),
    }),
  };
}

/** Replaces `{ssh_address}` and `{ssh_port}` in CMD words. */
export function expandCommand(words: readonly string[], ssh: SshEndpoint | undefined): string[] {
  if (!ssh) return [...words];
  return words.map((word) =>
    word.replaceAll('{ssh_address}', ssh.address).replaceAll('{ssh_port}', String(ssh.port)),
  );
}

/** The create request for a job's container. */
export function containerSpec(input: ContainerSpecInput, name: string): ContainerCreateOptions {
  const { settings } = input;
  const hostConfig: NonNullable<ContainerCreateOptions['HostConfig']> = {
    Privileged: settings.PRIVILEGED,
    Tmpfs: settings.TMPFS_MAP,
  };
  const binds = [...(settings.BINDS ?? []), ...(input.output ? [input.output.bind] : [])];
  if (binds.length > 0) hostConfig.Binds = binds;
  if (settings.SHM > 0) hostConfig.ShmSize = settings.SHM;
  if (settings.MEMORY > 0) hostConfig.Memory = settings.MEMORY;
  if (settings.SECURITY_OPT) hostConfig.SecurityOpt = settings.SECURITY_OPT;
  if (input.cpusetCpus) hostConfig.CpusetCpus = input.cpusetCpus;
  if (settings.NETWORK_MODE) hostConfig.NetworkMode = settings.NETWORK_MODE;
  const spec: ContainerCreateOptions = {
    name,
    Image: input.imageId,
    Cmd: expandCommand(settings.CMD, input.ssh),
    Labels: {
      ...containerLabels(input),
      ...(input.output ? { [OUTPUT_DIR_LABEL]: input.output.dir } : {}),
    },
    HostConfig: hostConfig,
  };
  // A host-network container shares the host's name: Docker refuses Hostname there.
  if (settings.NETWORK_MODE !== 'host') {
    spec.Hostname = name.toLowerCase();
    spec.Domainname = 'travisci.net';
  }
  if (input.ssh)
    spec.Env = [`WORKERKIT_SSH_ADDRESS=${input.ssh.address}`, `WORKERKIT_SSH_PORT=${input.ssh.port}`];
  return spec;
}

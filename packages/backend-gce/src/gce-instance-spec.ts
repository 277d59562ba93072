import { randomUUID } from 'node:crypto';
import {
  expiryFor,
  hostnameFromJob,
  InvalidConfigError,
  lifecycleLabels,
  type StartAttributes,
} from '@workerkit/core';
import type { IInstance } from './gce-client.js';
import { HOST_KEYS_BEGIN, HOST_KEYS_END } from './gce-host-keys.js';
import { GCE_VM_SIZES, type GceOptions, regionOfZone } from './gce-options.js';

const NAME_PATTERN = /^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$/;
/** Extra time after the hard timeout before the guest powers off and GCE deletes the VM (as Go: 10 min). */
export const SERVER_SIDE_GRACE_MS = 10 * 60_000;
/** The Go worker's default hard timeout, used when a job has none. */
const DEFAULT_HARD_TIMEOUT_MS = 50 * 60_000;

/** What a job's instance looks like before a zone is chosen. */
export interface GceMachineChoice {
  machineType: string;
  gpuType: string | undefined;
  gpuCount: number;
  diskSizeGb: number;
}

/** Machine type, GPUs and disk from vm_size, vm_type and vm_config; bad values fail before anything is created. */
export function chooseMachine(options: GceOptions, attributes: StartAttributes): GceMachineChoice {
  let machineType = attributes.vmType === 'premium' ? options.PREMIUM_MACHINE_TYPE : options.MACHINE_TYPE;
  let gpuType: string | undefined;
  let gpuCount = options.GPU_COUNT;
  let diskSizeGb = options.DISK_SIZE;
  if (attributes.vmSize !== undefined && attributes.vmSize !== '') {
    const size = GCE_VM_SIZES[attributes.vmSize];
    if (!size) {
      throw new InvalidConfigError({
        provider: 'gce',
        option: 'vm_size',
        value: attributes.vmSize,
        expected: `one of ${Object.keys(GCE_VM_SIZES)
          .map((s) => `"${s}"`)
          .join(', ')}`,
      });
    }
    machineType = size.machineType;
    if (size.gpuCount !== undefined) gpuCount = size.gpuCount;
    gpuType = size.gpuType;
    if (size.diskSizeGb !== undefined) diskSizeGb = Math.max(diskSizeGb, size.diskSizeGb);
  }
  const vm = attributes.vmConfig;
  if (vm?.gpuCount !== undefined) {
    if (!Number.isInteger(vm.gpuCount) || vm.gpuCount < 0 || vm.gpuCount > 8) {
      throw new InvalidConfigError({
        provider: 'gce',
        option: 'vm_config.gpu_count',
        value: String(vm.gpuCount),
        expected: 'an integer from 0 to 8',
      });
    }
    gpuCount = vm.gpuCount;
  }
  if (vm?.gpuType) {
    if (!NAME_PATTERN.test(vm.gpuType)) {
      throw new InvalidConfigError({
        provider: 'gce',
        option: 'vm_config.gpu_type',
        value: vm.gpuType,
        expected: 'a GCE accelerator type such as "nvidia-tesla-t4"',
      });
    }
    gpuType = vm.gpuType;
  }
  return {
    machineType,
    gpuType: gpuCount > 0 ? (gpuType ?? options.GPU_TYPE) : undefined,
    gpuCount,
    diskSizeGb,
  };
}

/** A zone pinned by the job's vm_config, validated; undefined when the job leaves the choice to us. */
export function pinnedZone(attributes: StartAttributes): string | undefined {
  const zone = attributes.vmConfig?.zone;
  if (zone === undefined || zone === '') return undefined;
  if (!/^[a-z]+-[a-z]+\d+-[a-z]$/.test(zone)) {
    throw new InvalidConfigError({
      provider: 'gce',
      option: 'vm_config.zone',
      value: zone,
      expected: 'a GCE zone such as "us-central1-a"',
    });
  }
  return zone;
}

/** The instance name: `travis-job-<uuid>`, or the job's deterministic hostname (DETERMINISTIC_HOSTNAME). */
export function instanceName(options: GceOptions, attributes: StartAttributes): string {
  if (options.DETERMINISTIC_HOSTNAME) {
    const name = hostnameFromJob({
      ...(attributes.jobId ? { jobId: attributes.jobId } : {}),
      ...(attributes.repository ? { repository: attributes.repository } : {}),
    })
      .slice(0, 63)
      .replace(/-+$/, '');
    if (NAME_PATTERN.test(name)) return name;
  }
  return `travis-job-${randomUUID()}`;
}

/**
 * The startup script (run as root at boot): schedules the guest-side poweroff (AUTO_IMPLODE),
 * authorizes the instance's own SSH key for the build user (for images without the guest
 * agent, which reads the `ssh-keys` metadata instead), and prints sshd's host keys between
 * cloud-init's markers, for the serial console: the side channel the backend verifies the
 * host with when no guest agent publishes them as guest attributes.
 */
export function renderStartupScript(
  options: GceOptions,
  { publicKey, hardTimeoutMs }: { publicKey: string; hardTimeoutMs: number },
): string {
  const user = options.SSH_USER;
  const lines = ['#!/bin/bash', '# rendered by workerkit (@workerkit/backend-gce)'];
  if (options.AUTO_IMPLODE) {
    const minutes = Math.ceil((hardTimeoutMs + SERVER_SIDE_GRACE_MS) / 60_000);
    lines.push(
      `if command -v at >/dev/null 2>&1; then echo poweroff | at now + ${minutes} minutes; else (sleep ${minutes * 60} && poweroff) >/dev/null 2>&1 & fi`,
    );
  }
  lines.push(
    `home="$(getent passwd ${user} | cut -d: -f6)"`,
    'if [ -n "$home" ]; then',
    '  mkdir -p "$home/.ssh"',
    `  grep -qxF '${publicKey}' "$home/.ssh/authorized_keys" 2>/dev/null || echo '${publicKey}' >> "$home/.ssh/authorized_keys"`,
    '  chmod 700 "$home/.ssh" && chmod 600 "$home/.ssh/authorized_keys"',
    `  chown -R ${user}: "$home/.ssh"`,
    'fi',
    // Host keys may be generated at first boot: wait for them (at most a minute).
    'for _ in $(seq 60); do ls /etc/ssh/ssh_host_*_key.pub >/dev/null 2>&1 && break; sleep 1; done',
    `echo '${HOST_KEYS_BEGIN}'`,
    'cat /etc/ssh/ssh_host_*_key.pub 2>/dev/null',
    `echo '${HOST_KEYS_END}'`,
    '',
  );
  return lines.join('\n');
}

export interface InstanceSpecInput {
  name: string;
  zone: string;
  imageSelfLink: string;
  machine: GceMachineChoice;
  attributes: StartAttributes;
  publicKey: string;
  ownerId: string;
  project: string;
}

/** The instance resource for `instances.insert`. */
export function buildInstance(options: GceOptions, input: InstanceSpecInput): IInstance {
  const { zone, machine, attributes, project } = input;
  const hardTimeoutMs =
    attributes.hardTimeoutMs && attributes.hardTimeoutMs > 0
      ? attributes.hardTimeoutMs
      : DEFAULT_HARD_TIMEOUT_MS;
  const spot = options.SPOT;
  const preemptible = options.PREEMPTIBLE && !spot;
  const hasGpu = machine.gpuCount > 0 && machine.gpuType !== undefined;
  const tags = [
    'testing',
    ...(options.PUBLIC_IP ? [] : ['no-ip']),
    ...(options.TRAVIS_SITE ? [options.TRAVIS_SITE] : []),
  ];
  const labels = lifecycleLabels({
    ownerId: input.ownerId,
    ...(attributes.jobId ? { jobId: attributes.jobId } : {}),
    expiresAt: expiryFor(hardTimeoutMs),
  });
  return {
    name: input.name,
    description: `workerkit ${attributes.language ?? 'default'} job VM`,
    machineType: `projects/${project}/zones/${zone}/machineTypes/${machine.machineType}`,
    disks: [
      {
        type: 'PERSISTENT',
        mode: 'READ_WRITE',
        boot: true,
        autoDelete: true,
        initializeParams: {
          sourceImage: input.imageSelfLink,
          diskType: `projects/${project}/zones/${zone}/diskTypes/pd-ssd`,
          diskSizeGb: machine.diskSizeGb,
        },
      },
    ],
    networkInterfaces: [
      {
        network: `projects/${project}/global/networks/${options.NETWORK}`,
        ...(options.SUBNETWORK
          ? {
              subnetwork: `projects/${project}/regions/${regionOfZone(zone)}/subnetworks/${options.SUBNETWORK}`,
            }
          : {}),
        accessConfigs: options.PUBLIC_IP
          ? [{ name: 'AccessConfig brought to you by workerkit', type: 'ONE_TO_ONE_NAT' }]
          : [],
      },
    ],
    ...(hasGpu
      ? {
          guestAccelerators: [
            {
              acceleratorType: `projects/${project}/zones/${zone}/acceleratorTypes/${machine.gpuType}`,
              acceleratorCount: machine.gpuCount,
            },
          ],
        }
      : {}),
    scheduling: {
      automaticRestart: false,
      onHostMaintenance: hasGpu || preemptible || spot ? 'TERMINATE' : 'MIGRATE',
      preemptible,
      ...(spot ? { provisioningModel: 'SPOT' } : {}),
      ...(options.MAX_RUN_DURATION || spot
        ? {
            instanceTerminationAction: options.TERMINATION_ACTION,
            ...(options.MAX_RUN_DURATION
              ? { maxRunDuration: { seconds: Math.ceil((hardTimeoutMs + SERVER_SIDE_GRACE_MS) / 1000) } }
              : {}),
          }
        : {}),
    },
    metadata: {
      items: [
        {
          key: 'startup-script',
          value: renderStartupScript(options, { publicKey: input.publicKey, hardTimeoutMs }),
        },
        { key: 'ssh-keys', value: `${options.SSH_USER}:${input.publicKey}` },
        // The guest agent publishes the SSH host keys as guest attributes (hostkeys/<type>).
        { key: 'enable-guest-attributes', value: 'TRUE' },
      ],
    },
    tags: { items: tags },
    labels,
  };
}

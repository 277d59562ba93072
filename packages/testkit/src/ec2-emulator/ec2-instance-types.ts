/** What the emulator knows about an instance type (DescribeInstanceTypes' fields it uses). */
export interface EmulatedInstanceType {
  instanceType: string;
  architecture: 'x86_64' | 'arm64';
  vcpus: number;
  memoryMiB: number;
  /** `nitro` types support `GetConsoleOutput Latest`; `xen` types do not. */
  hypervisor: 'nitro' | 'xen';
  burstable: boolean;
}

function type(
  instanceType: string,
  architecture: 'x86_64' | 'arm64',
  vcpus: number,
  memoryMiB: number,
  hypervisor: 'nitro' | 'xen',
): EmulatedInstanceType {
  return { instanceType, architecture, vcpus, memoryMiB, hypervisor, burstable: /^t\d/.test(instanceType) };
}

/** A common set: Xen (t2, m4, c4) and Nitro (t3, t3a, m5, c5) x86_64 types, and Graviton (t4g, m6g, c6g) arm64. */
export const DEFAULT_INSTANCE_TYPES: readonly EmulatedInstanceType[] = Object.freeze([
  type('t2.micro', 'x86_64', 1, 1024, 'xen'),
  type('t2.small', 'x86_64', 1, 2048, 'xen'),
  type('t2.medium', 'x86_64', 2, 4096, 'xen'),
  type('m4.large', 'x86_64', 2, 8192, 'xen'),
  type('c4.large', 'x86_64', 2, 3840, 'xen'),
  type('t3.micro', 'x86_64', 2, 1024, 'nitro'),
  type('t3.small', 'x86_64', 2, 2048, 'nitro'),
  type('t3.medium', 'x86_64', 2, 4096, 'nitro'),
  type('t3.large', 'x86_64', 2, 8192, 'nitro'),
  type('t3a.medium', 'x86_64', 2, 4096, 'nitro'),
  type('m5.large', 'x86_64', 2, 8192, 'nitro'),
  type('m5.xlarge', 'x86_64', 4, 16_384, 'nitro'),
  type('m5.2xlarge', 'x86_64', 8, 32_768, 'nitro'),
  type('m5.4xlarge', 'x86_64', 16, 65_536, 'nitro'),
  type('c5.large', 'x86_64', 2, 4096, 'nitro'),
  type('c5.xlarge', 'x86_64', 4, 8192, 'nitro'),
  type('t4g.micro', 'arm64', 2, 1024, 'nitro'),
  type('t4g.medium', 'arm64', 2, 4096, 'nitro'),
  type('m6g.large', 'arm64', 2, 8192, 'nitro'),
  type('m6g.xlarge', 'arm64', 4, 16_384, 'nitro'),
  type('m6g.2xlarge', 'arm64', 8, 32_768, 'nitro'),
  type('m6g.4xlarge', 'arm64', 16, 65_536, 'nitro'),
  type('c6g.large', 'arm64', 2, 4096, 'nitro'),
]);

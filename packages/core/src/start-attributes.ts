/** Per-job VM extras from the payload's `vm_config` (GPU and zone pinning). */
export interface VmConfig {
  gpuCount?: number;
  gpuType?: string;
  zone?: string;
}

/** What a job asks of its instance: the Go `StartAttributes`, camel-cased. */
export interface StartAttributes {
  language?: string;
  osxImage?: string;
  dist?: string;
  arch?: string;
  group?: string;
  os?: string;
  /** An exact image to use, skipping image selection. */
  imageName?: string;
  /** "default" or "premium". */
  vmType?: string;
  vmConfig?: VmConfig;
  /** A size name ("medium", "large", "gpu-medium", …) mapped per provider. */
  vmSize?: string;
  /** The job's hard timeout in ms: runs are cut off after it, and cloud-side guards derive from it. */
  hardTimeoutMs?: number;
  /** The job id, used for names and lifecycle labels. */
  jobId?: string;
  /** The repository slug "owner/name", used for deterministic hostnames. */
  repository?: string;
  /** Ask a warm-pool service for a pre-booted instance where the provider has one. */
  warmer?: boolean;
  /** How start progress is shown: "text" renders it into the job log. */
  progressType?: string;
}

/** The Go worker's defaults for attributes the job left empty. */
export const START_ATTRIBUTE_DEFAULTS = Object.freeze({
  language: 'default',
  dist: 'trusty',
  group: 'stable',
  os: 'linux',
  vmType: 'default',
});

export type StartAttributeDefaults = Partial<Record<keyof typeof START_ATTRIBUTE_DEFAULTS, string>>;

/** Fills empty `language`, `dist`, `group`, `os` and `vmType` from `defaults` (Go `SetDefaults`). */
export function withDefaults(
  attributes: StartAttributes,
  defaults: StartAttributeDefaults = START_ATTRIBUTE_DEFAULTS,
): StartAttributes {
  const filled: StartAttributes = { ...attributes };
  for (const key of Object.keys(START_ATTRIBUTE_DEFAULTS) as (keyof typeof START_ATTRIBUTE_DEFAULTS)[]) {
    if (!filled[key]) filled[key] = defaults[key] ?? START_ATTRIBUTE_DEFAULTS[key];
  }
  return filled;
}

/** The oldest Docker Engine API version the docker backend speaks. */
export const DOCKER_MIN_SUPPORTED_API_VERSION = '1.24';

import type { StartAttributes } from '../start-attributes.js';

/** What an image is chosen by (the Go `image.Params`). */
export interface ImageSelectParams {
  /** The provider's infrastructure name ("gce", "ec2", "docker"). */
  infra: string;
  language?: string;
  osxImage?: string;
  dist?: string;
  group?: string;
  os?: string;
  jobId?: string;
  repository?: string;
  gpuVmType?: string;
}

/** Chooses an image name for a job; "default" means "use the provider's default image". */
export interface ImageSelector {
  select(params: ImageSelectParams, options?: { signal?: AbortSignal }): Promise<string>;
}

/** The selector's view of a job: its attributes under the Go `image.Params` names. */
export function imageSelectParams(
  infra: string,
  attributes: Pick<
    StartAttributes,
    'language' | 'osxImage' | 'dist' | 'group' | 'os' | 'jobId' | 'repository' | 'vmSize'
  >,
): ImageSelectParams {
  const params: ImageSelectParams = { infra };
  for (const key of ['language', 'osxImage', 'dist', 'group', 'os', 'jobId', 'repository'] as const) {
    if (attributes[key]) params[key] = attributes[key];
  }
  // GPU sizes ("gpu-medium") pick GPU images, as the Go master's GpuVMType did.
  if (attributes.vmSize?.startsWith('gpu')) params.gpuVmType = attributes.vmSize;
  return params;
}

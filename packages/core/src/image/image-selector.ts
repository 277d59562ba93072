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

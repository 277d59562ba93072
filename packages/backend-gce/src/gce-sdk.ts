import type { Logger } from '@workerkit/core';
import type { GceApi } from './gce-client.js';
import type { GceOptions } from './gce-options.js';
import type { GceRateLimiter } from './gce-rate-limiter.js';

let clientModule: Promise<typeof import('./gce-client.js')> | undefined;

/**
 * Loads the Google SDK (`@google-cloud/compute`, ~1.5 s and ~280 MB) on first use and makes an
 * API client: importing the package only registers the backend.
 */
export async function loadGceApi(
  options: GceOptions,
  logger: Logger,
  limiter: GceRateLimiter,
): Promise<GceApi> {
  clientModule ??= import('./gce-client.js');
  let module: typeof import('./gce-client.js');
  try {
    module = await clientModule;
  } catch (error) {
    clientModule = undefined;
    throw new Error(
      `gce: could not load the Google Cloud SDK (@google-cloud/compute, google-auth-library): install them next to @workerkit/backend-gce (${String(error)})`,
      { cause: error },
    );
  }
  return new module.GceApi(options, logger, limiter);
}

import type { ProviderConfig } from '../config/provider-config.js';
import { ApiImageSelector } from './api-image-selector.js';
import { EnvImageSelector } from './env-image-selector.js';
import type { ImageSelector } from './image-selector.js';

/** The selector a provider's `IMAGE_SELECTOR_TYPE` / `IMAGE_SELECTOR_URL` options ask for. */
export function createImageSelector(
  type: 'env' | 'api',
  { config, url }: { config: ProviderConfig; url?: URL | undefined },
): ImageSelector {
  if (type === 'env') return new EnvImageSelector(config);
  if (!url) throw new TypeError('the api image selector needs IMAGE_SELECTOR_URL');
  return new ApiImageSelector({ url });
}

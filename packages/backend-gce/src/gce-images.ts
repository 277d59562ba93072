import {
  abortable,
  type ImageSelector,
  imageSelectParams,
  type Progresser,
  ProviderApiError,
  type StartAttributes,
} from '@workerkit/core';
import type { GceApi, IImage } from './gce-client.js';
import type { GceOptions } from './gce-options.js';

/** How long a resolved image stays cached per provider (new images show up after this). */
const IMAGE_CACHE_MS = 60 * 60_000;

/**
 * Image choice: `image_name` from the job, else the selector (env or api; "default" means
 * IMAGE_DEFAULT), resolved to the newest READY image whose name matches, cached per pattern.
 */
export class GceImages {
  readonly #api: GceApi;
  readonly #options: GceOptions;
  readonly #selector: ImageSelector;
  readonly #cache = new Map<string, { at: number; image: Promise<IImage> }>();

  constructor(api: GceApi, options: GceOptions, selector: ImageSelector) {
    this.#api = api;
    this.#options = options;
    this.#selector = selector;
  }

  async select(
    attrs: StartAttributes,
    signal: AbortSignal | undefined,
    progress: Progresser,
  ): Promise<IImage> {
    try {
      let name = attrs.imageName;
      if (!name) {
        name = await this.#selector.select(imageSelectParams('gce', attrs), signal ? { signal } : {});
        if (name === 'default') name = this.#options.IMAGE_DEFAULT;
      }
      const image = await this.#find(name, signal);
      progress.progress({ message: `selected image "${image.name}"`, state: 'success' });
      return image;
    } catch (error) {
      if (!signal?.aborted) progress.progress({ message: 'could not select image', state: 'failure' });
      throw error;
    }
  }

  /**
   * The newest READY image in IMAGE_PROJECT_ID whose name matches `pattern` (cached per provider).
   * Concurrent starts share one lookup, so it runs without any caller's signal (one job's abort
   * must not fail the others' starts); each caller waits with its own.
   */
  #find(pattern: string, signal: AbortSignal | undefined): Promise<IImage> {
    const cached = this.#cache.get(pattern);
    if (cached && Date.now() - cached.at < IMAGE_CACHE_MS) return abortable(cached.image, signal);
    const filter = `name eq ^${pattern}`;
    const image = this.#api.listImages(filter).then((images) => {
      const newest = images
        .filter((i) => i.status === undefined || i.status === null || i.status === 'READY')
        .sort(
          (a, b) =>
            String(a.creationTimestamp ?? '').localeCompare(String(b.creationTimestamp ?? '')) ||
            String(a.name).localeCompare(String(b.name)),
        )
        .at(-1);
      if (!newest?.name) {
        throw new ProviderApiError({
          provider: 'gce',
          operation: 'images.list',
          message: `no image found with filter ${filter} in project ${this.#api.imageProject}`,
          retryable: false,
        });
      }
      return newest;
    });
    this.#cache.set(pattern, { at: Date.now(), image });
    image.catch(() => this.#cache.delete(pattern));
    return abortable(image, signal);
  }
}

import { DescribeImagesCommand, type Image } from '@aws-sdk/client-ec2';
import {
  createImageSelector,
  type ImageSelector,
  imageSelectParams,
  ProviderApiError,
  type StartAttributes,
} from '@workerkit/core';
import type { Ec2Api } from './ec2-client.js';
import { EC2_ALIAS, type Ec2Config, isAmiId } from './ec2-options.js';

/** The image a job runs on: its AMI id and the name shown as the instance's `imageName`. */
export interface ResolvedImage {
  imageId: string;
  name: string;
}

const CACHE_TTL_MS = 10 * 60_000;

/**
 * Chooses the image for a job: `StartAttributes.imageName`, else IMAGE_MAP by language, else the
 * env or api selector ("default" → IMAGE_DEFAULT). An AMI id is used as is (no API call); any
 * other value is a name pattern (`*`, `?` wildcards) resolved to the newest matching image
 * owned by IMAGE_OWNERS, cached for ten minutes.
 */
export class Ec2ImageResolver {
  readonly #config: Ec2Config;
  readonly #api: Ec2Api;
  readonly #selector: ImageSelector;
  readonly #cache = new Map<string, { image: ResolvedImage; until: number }>();

  constructor(config: Ec2Config, api: Ec2Api) {
    this.#config = config;
    this.#api = api;
    this.#selector = createImageSelector(config.IMAGE_SELECTOR_TYPE, {
      config: config.raw,
      url: config.IMAGE_SELECTOR_URL,
    });
  }

  /** The image reference (AMI id or name pattern) for a job, before any lookup. */
  async select(attributes: StartAttributes, signal?: AbortSignal): Promise<string> {
    if (attributes.imageName) return attributes.imageName;
    const mapped = attributes.language ? this.#config.IMAGE_MAP?.[attributes.language] : undefined;
    if (mapped) return mapped;
    const selected = await this.#selector.select(
      imageSelectParams(EC2_ALIAS, attributes),
      signal ? { signal } : {},
    );
    const reference = selected === 'default' ? this.#config.IMAGE_DEFAULT : selected;
    if (!reference) {
      throw new ProviderApiError({
        provider: EC2_ALIAS,
        operation: 'image selection',
        message: `no image for the job (selector answered "${selected}" and IMAGE_DEFAULT is not set)`,
        retryable: false,
      });
    }
    return reference;
  }

  /** An AMI id as is; a name pattern as the newest available image matching it. */
  async resolve(reference: string, signal?: AbortSignal): Promise<ResolvedImage> {
    if (isAmiId(reference)) return { imageId: reference, name: reference };
    const cached = this.#cache.get(reference);
    if (cached && cached.until > Date.now()) return cached.image;
    const answer = await this.#api.call(
      'DescribeImages',
      (client, options) =>
        client.send(
          new DescribeImagesCommand({
            Owners: this.#config.IMAGE_OWNERS,
            Filters: [
              { Name: 'name', Values: [reference] },
              { Name: 'state', Values: ['available'] },
            ],
          }),
          options,
        ),
      { signal },
    );
    const newest = newestImage(answer.Images ?? []);
    if (!newest?.ImageId) {
      throw new ProviderApiError({
        provider: EC2_ALIAS,
        operation: 'DescribeImages',
        message: `no available image named "${reference}" owned by ${this.#config.IMAGE_OWNERS.join(', ')}`,
        retryable: false,
      });
    }
    const image = { imageId: newest.ImageId, name: newest.Name ?? newest.ImageId };
    this.#cache.set(reference, { image, until: Date.now() + CACHE_TTL_MS });
    return image;
  }
}

/** The image with the latest CreationDate (ties: the greatest name). */
export function newestImage(images: readonly Image[]): Image | undefined {
  return [...images].sort((a, b) => {
    const byDate = Date.parse(b.CreationDate ?? '') - Date.parse(a.CreationDate ?? '');
    if (Number.isFinite(byDate) && byDate !== 0) return byDate;
    return (b.Name ?? '').localeCompare(a.Name ?? '');
  })[0];
}

import type { Image } from '@aws-sdk/client-ec2';
import {
  createImageSelector,
  type ImageSelector,
  imageSelectParams,
  ProviderApiError,
  type StartAttributes,
} from '@workerkit/core';
import type { Ec2Architecture } from './ec2-architecture.js';
import type { Ec2Api } from './ec2-client.js';
import { EC2_ALIAS, type Ec2Options, isAmiId } from './ec2-options.js';

/** The image a job runs on: its AMI id, the name shown as `imageName`, its architecture and root device. */
export interface ResolvedImage {
  imageId: string;
  name: string;
  architecture: Ec2Architecture;
  rootDeviceName: string;
}

const CACHE_TTL_MS = 10 * 60_000;

/**
 * Chooses the image for a job: `StartAttributes.imageName`, else IMAGE_MAP by language, else the
 * env or api selector ("default" → IMAGE_DEFAULT). An AMI id is looked up by id; any other value
 * is a name pattern (`*`, `?` wildcards) resolved to the newest available image of the wanted
 * architecture owned by IMAGE_OWNERS. Answers are cached for ten minutes.
 */
export class Ec2ImageResolver {
  readonly #options: Ec2Options;
  readonly #api: Ec2Api;
  readonly #selector: ImageSelector;
  readonly #cache = new Map<string, { image: ResolvedImage | undefined; until: number }>();
  /** Lookups in flight, so concurrent starts ask once. */
  readonly #asking = new Map<string, Promise<unknown>>();

  constructor(options: Ec2Options, api: Ec2Api) {
    this.#options = options;
    this.#api = api;
    this.#selector = createImageSelector(options.IMAGE_SELECTOR_TYPE, {
      config: options.raw,
      url: options.IMAGE_SELECTOR_URL,
    });
  }

  /** The image reference (AMI id or name pattern) for a job, before any lookup. */
  async select(attributes: StartAttributes, signal?: AbortSignal): Promise<string> {
    if (attributes.imageName) return attributes.imageName;
    const mapped = attributes.language ? this.#options.IMAGE_MAP?.[attributes.language] : undefined;
    if (mapped) return mapped;
    const selected = await this.#selector.select(
      imageSelectParams(EC2_ALIAS, attributes),
      signal ? { signal } : {},
    );
    const reference = selected === 'default' ? this.#options.IMAGE_DEFAULT : selected;
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

  /**
   * The image a reference names for an architecture: an AMI id as is (undefined when it is of
   * another architecture), a name pattern as the newest available matching image of it.
   */
  async resolve(
    reference: string,
    architecture: Ec2Architecture,
    signal?: AbortSignal,
  ): Promise<ResolvedImage | undefined> {
    const byId = isAmiId(reference);
    const key = byId ? reference : `${reference}\n${architecture}`;
    // Wait for a lookup in flight; no await between this check and claiming the key below.
    while (this.#asking.has(key)) await this.#asking.get(key);
    const cached = this.#cache.get(key);
    let image: ResolvedImage | undefined;
    if (cached && cached.until > Date.now()) {
      image = cached.image;
    } else {
      const asking = this.#api.call(
        'DescribeImages',
        (client, options, sdk) =>
          client.send(
            new sdk.DescribeImagesCommand(
              byId
                ? { ImageIds: [reference] }
                : {
                    Owners: this.#options.IMAGE_OWNERS,
                    Filters: [
                      { Name: 'name', Values: [reference] },
                      { Name: 'state', Values: ['available'] },
                      { Name: 'architecture', Values: [architecture] },
                    ],
                  },
            ),
            options,
          ),
        { signal },
      );
      this.#asking.set(
        key,
        asking.catch(() => {}),
      );
      let answer: Awaited<typeof asking>;
      try {
        answer = await asking;
      } finally {
        this.#asking.delete(key);
      }
      const newest = newestImage(answer.Images ?? []);
      image = newest?.ImageId
        ? {
            imageId: newest.ImageId,
            name: byId ? newest.ImageId : (newest.Name ?? newest.ImageId),
            architecture: newest.Architecture === 'arm64' ? 'arm64' : 'x86_64',
            rootDeviceName: newest.RootDeviceName ?? '/dev/sda1',
          }
        : undefined;
      this.#cache.set(key, { image, until: Date.now() + CACHE_TTL_MS });
    }
    return image?.architecture === architecture ? image : undefined;
  }

  /** What a reference names at all, for error messages: "AMI ami-… (arm64)" or the pattern. */
  describe(reference: string): string {
    if (!isAmiId(reference))
      return `image named "${reference}" owned by ${this.#options.IMAGE_OWNERS.join(', ')}`;
    const image = this.#cache.get(reference)?.image;
    return image ? `AMI ${reference} (${image.architecture})` : `AMI ${reference} (not found)`;
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

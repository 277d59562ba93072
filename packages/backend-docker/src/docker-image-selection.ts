import {
  createImageSelector,
  type ImageSelector,
  imageSelectParams,
  ProviderApiError,
  type ProviderConfig,
  type StartAttributes,
} from '@workerkit/core';
import type Docker from 'dockerode';
import { abortOption } from './docker-abort-option.js';
import { toDockerApiError } from './docker-errors.js';
import { DOCKER_ALIAS, type DockerOptions } from './docker-options.js';

/** The image a container is created from: its ID (what is sent) and the name shown to users. */
export interface DockerImageChoice {
  id: string;
  name: string;
}

/** The tag selector's candidates, most specific first (the Go worker's order). */
export function tagCandidates(language: string | undefined): string[] {
  const candidates = language ? [`travis:${language}`, language] : [];
  return [...candidates, 'travis:default', 'default'];
}

interface ImageSummaryLike {
  Id: string;
  RepoTags?: string[] | null;
}

function matches(image: ImageSummaryLike, candidate: string): string | undefined {
  const tags = image.RepoTags ?? [];
  if (tags.includes(candidate)) return candidate;
  if (!candidate.includes(':') && tags.includes(`${candidate}:latest`)) return `${candidate}:latest`;
  if (image.Id === candidate || image.Id === `sha256:${candidate}`) return image.Id;
  return undefined;
}

/** The name shown for an image: a `travisci/ci-` tag as in Go, else the tag that matched. */
function displayName(image: ImageSummaryLike, matched: string): string {
  return (image.RepoTags ?? []).find((tag) => tag.startsWith('travisci/ci-')) ?? matched;
}

export function imageNotFound(message: string): ProviderApiError {
  return new ProviderApiError({
    provider: DOCKER_ALIAS,
    operation: 'image selection',
    message,
    retryable: false,
    code: 'image-not-found',
  });
}

/**
 * Chooses the image for a job. `imageName` from the job wins (its ID is what is sent: the Go
 * worker sent an empty image here); otherwise the `tag` selector searches the daemon's images
 * for `travis:<lang>`, `<lang>`, `travis:default`, `default`, and the `env`/`api` selectors get
 * every job attribute (Go passed only the language). Names listed in IMAGE_ALIASES resolve to
 * their IMAGE_ALIAS_* value.
 */
export class DockerImageSelection {
  readonly #docker: Docker;
  readonly #settings: DockerOptions;
  readonly #selector: ImageSelector | undefined;

  constructor(docker: Docker, settings: DockerOptions, config: ProviderConfig) {
    this.#docker = docker;
    this.#settings = settings;
    this.#selector =
      settings.IMAGE_SELECTOR_TYPE === 'tag'
        ? undefined
        : createImageSelector(settings.IMAGE_SELECTOR_TYPE, { config, url: settings.IMAGE_SELECTOR_URL });
  }

  async select(attributes: StartAttributes, signal?: AbortSignal): Promise<DockerImageChoice> {
    if (attributes.imageName) return this.#byName(this.#resolveAlias(attributes.imageName));
    if (!this.#selector) return this.#byTag(attributes.language, signal);
    const selected = await this.#selector.select(
      imageSelectParams(DOCKER_ALIAS, attributes),
      signal ? { signal } : {},
    );
    return this.#byName(this.#resolveAlias(selected));
  }

  #resolveAlias(name: string): string {
    return this.#settings.imageAliases[name] ?? name;
  }

  /**
   * An image named by the job or a selector goes to the create by that name, unresolved: the
   * create resolves it (and says when it is missing), an inspect first would be one more call
   * per job, slow when the daemon is busy.
   */
  async #byName(name: string): Promise<DockerImageChoice> {
    return { id: name, name };
  }

  async #byTag(language: string | undefined, signal?: AbortSignal): Promise<DockerImageChoice> {
    let images: ImageSummaryLike[];
    try {
      images = await this.#docker.listImages(abortOption(signal));
    } catch (error) {
      signal?.throwIfAborted();
      throw toDockerApiError('image list', error);
    }
    const candidates = tagCandidates(language);
    for (const candidate of candidates) {
      for (const image of images) {
        const matched = matches(image, candidate);
        if (matched) return { id: image.Id, name: displayName(image, matched) };
      }
    }
    throw imageNotFound(`failed to find matching docker image tag (tried ${candidates.join(', ')})`);
  }
}

import { JobAbortError } from '../errors/job-abort-error.js';
import { ProviderApiError } from '../errors/provider-api-error.js';
import { retryWithBackoff } from '../util/backoff.js';
import type { ImageSelector, ImageSelectParams } from './image-selector.js';

interface TagSet {
  tags: string[];
  isDefault: boolean;
}

export interface ApiImageSelectorOptions {
  /** The job-board images search endpoint. Basic auth may ride in the URL's userinfo. */
  url: URL | string;
  /** Give up retrying a non-200 answer after this long (default 60 s, as in Go). */
  maxElapsedMs?: number;
  /** First retry delay (default 500 ms). */
  initialRetryMs?: number;
  fetch?: typeof fetch;
}

/**
 * Asks a job-board-style image service which image fits a job. One POST carries every
 * candidate tag set, one urlencoded query per line; the service answers with the first match.
 */
export class ApiImageSelector implements ImageSelector {
  readonly #url: URL;
  readonly #options: ApiImageSelectorOptions;

  constructor(options: ApiImageSelectorOptions) {
    this.#url = new URL(options.url);
    this.#options = options;
  }

  async select(params: ImageSelectParams, { signal }: { signal?: AbortSignal } = {}): Promise<string> {
    const body = apiImageQueryLines(params).join('\n');
    const doFetch = this.#options.fetch ?? fetch;
    const url = new URL(this.#url);
    const headers: Record<string, string> = {
      'Content-Type': 'application/x-www-form-urlencoded; boundary=NL',
    };
    if (url.username || url.password) {
      headers.Authorization = `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`;
      url.username = '';
      url.password = '';
    }
    const response = await retryWithBackoff(
      async () => {
        const answer = await doFetch(url, { method: 'POST', headers, body, ...(signal ? { signal } : {}) });
        if (answer.status !== 200) {
          await answer.body?.cancel();
          throw new ProviderApiError({
            provider: params.infra,
            operation: 'image selection',
            message: `image service answered HTTP ${answer.status}`,
            retryable: true,
            code: String(answer.status),
          });
        }
        return (await answer.json()) as { data?: { name?: string }[] };
      },
      (error) => ProviderApiError.isInstance(error) || error instanceof TypeError,
      {
        initialMs: this.#options.initialRetryMs ?? 500,
        maxMs: 10_000,
        maxElapsedMs: this.#options.maxElapsedMs ?? 60_000,
        ...(signal ? { signal } : {}),
      },
    );
    return response.data?.[0]?.name || 'default';
  }
}

/** The request body lines, most specific tag set first and the catch-all default last. */
export function apiImageQueryLines(params: ImageSelectParams): string[] {
  return candidateTagSets(params).map(({ tags, isDefault }) => {
    const query = new URLSearchParams({
      infra: params.infra,
      'fields[images]': 'name',
      limit: '1',
      job_id: params.jobId ?? '',
      repo: params.repository ?? '',
      is_default: String(isDefault),
    });
    if (tags.length > 0) query.set('tags', [...tags].sort().join(','));
    if (params.gpuVmType) query.set('gpu_vm_type', params.gpuVmType);
    return query.toString();
  });
}

function candidateTagSets(params: ImageSelectParams): TagSet[] {
  const { language, osxImage, dist, group, os } = params;
  for (const [name, value] of Object.entries({ language, osxImage, dist, group, os })) {
    if (value?.includes(',')) {
      throw new JobAbortError({
        message: `job ${name} "${value}" contains a comma (a trailing comma in .travis.yml?); remove it`,
      });
    }
  }
  const languageTag = language ? `language_${language}:true` : undefined;
  const full = new Set<string>();
  const combined: TagSet[] = [];
  const defaults: TagSet[] = [];
  const addCombined = (...tags: string[]) => combined.push({ tags, isDefault: false });
  const addDefault = (tag: string) => {
    full.add(tag);
    defaults.push({ tags: [tag], isDefault: true });
  };
  if (languageTag) {
    if (os === 'osx' && osxImage) addCombined(`osx_image:${osxImage}`, languageTag);
    if (dist && group) addCombined(`dist:${dist}`, `group_${group}:true`, languageTag);
    if (dist) addCombined(`dist:${dist}`, languageTag);
    if (group) addCombined(`group_${group}:true`, languageTag);
    if (os) addCombined(`os:${os}`, languageTag);
  }
  if (osxImage) addDefault(`osx_image:${osxImage}`);
  if (dist) addDefault(`dist:${dist}`);
  if (group) addDefault(`group_${group}:true`);
  if (os) addDefault(`os:${os}`);
  if (languageTag) addDefault(languageTag);
  return [{ tags: [...full], isDefault: false }, ...combined, ...defaults, { tags: [], isDefault: true }];
}

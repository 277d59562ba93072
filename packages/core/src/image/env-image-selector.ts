import type { ProviderConfig } from '../config/provider-config.js';
import type { ImageSelector, ImageSelectParams } from './image-selector.js';

/**
 * Chooses images from `IMAGE_*` config keys, in the Go worker's candidate order: the most
 * specific combination of osx_image, dist, group, language and os first, then
 * `IMAGE_DEFAULT`. The first `IMAGE_` is removed from the keys and the rest lower-cased, so
 * `IMAGE_DIST_XENIAL_PYTHON` answers `dist_xenial_python`. (Go removed every `IMAGE_`, which
 * made `IMAGE_OSX_IMAGE_<img>` keys unreachable; here they answer `osx_image_<img>`.)
 */
export class EnvImageSelector implements ImageSelector {
  readonly #lookup: ReadonlyMap<string, string>;

  constructor(config: ProviderConfig) {
    const lookup = new Map<string, string>();
    for (const key of config.keys()) {
      if (!key.includes('IMAGE_')) continue;
      lookup.set(key.replace('IMAGE_', '').toLowerCase(), config.get(key)!);
    }
    this.#lookup = lookup;
  }

  async select(params: ImageSelectParams): Promise<string> {
    const chosen = envImageCandidates(params).find((key) => this.#lookup.has(key));
    const value = chosen === undefined ? 'default' : this.#lookup.get(chosen)!;
    // One level of indirection, as in Go: a value that is itself a key resolves to that key's value.
    return this.#lookup.get(value) ?? value;
  }
}

/** The lookup keys tried for a job, most specific first. */
export function envImageCandidates(params: ImageSelectParams): string[] {
  const { language: l, osxImage: img, dist: d, group: g, os: o } = params;
  const keys: string[] = [];
  if (o === 'osx' && img && l) keys.push(`osx_image_${img}_${l}`);
  if (o === 'osx' && img) keys.push(`osx_image_${img}`);
  if (d && g && l) keys.push(`dist_${d}_group_${g}_${l}`, `${d}_${g}_${l}`);
  if (d && l) keys.push(`dist_${d}_${l}`, `${d}_${l}`);
  if (g && l) keys.push(`group_${g}_${l}`, `${g}_${l}`);
  if (o && l) keys.push(`os_${o}_${l}`, `${o}_${l}`);
  if (d) keys.push(`default_dist_${d}`, `dist_${d}`, d);
  if (g) keys.push(`default_group_${g}`, `group_${g}`, g);
  if (l) keys.push(`language_${l}`, l);
  if (o) keys.push(`default_os_${o}`, `os_${o}`, o);
  return keys;
}

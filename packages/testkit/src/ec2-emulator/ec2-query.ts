/**
 * The EC2 query protocol's request side: a form-encoded body of flat keys (`InstanceId.1`,
 * `Filter.2.Value.1`, `TagSpecification.1.Tag.3.Key`) read back into lists and structures.
 */
export class Ec2QueryParams {
  readonly #values: ReadonlyMap<string, string>;

  constructor(body: string) {
    const values = new Map<string, string>();
    for (const [key, value] of new URLSearchParams(body)) values.set(key, value);
    this.#values = values;
  }

  get action(): string | undefined {
    return this.#values.get('Action');
  }

  get version(): string | undefined {
    return this.#values.get('Version');
  }

  get(key: string): string | undefined {
    return this.#values.get(key);
  }

  has(key: string): boolean {
    return this.#values.has(key);
  }

  /** Every key and value, for idempotency fingerprints. */
  entries(): [string, string][] {
    return [...this.#values].sort(([a], [b]) => a.localeCompare(b));
  }

  bool(key: string): boolean | undefined {
    const value = this.#values.get(key);
    return value === undefined ? undefined : value === 'true';
  }

  int(key: string): number | undefined {
    const value = this.#values.get(key);
    if (value === undefined) return undefined;
    return /^-?\d+$/.test(value) ? Number(value) : Number.NaN;
  }

  /** `Prefix.1`, `Prefix.2`, … until the first gap. */
  list(prefix: string): string[] {
    const items: string[] = [];
    for (let i = 1; this.#values.has(`${prefix}.${i}`); i++) items.push(this.#values.get(`${prefix}.${i}`)!);
    return items;
  }

  /** The indexes of `Prefix.N.*` structure members, in order, until the first gap. */
  indexes(prefix: string): string[] {
    const found: string[] = [];
    for (let i = 1; ; i++) {
      const base = `${prefix}.${i}`;
      const present = [...this.#values.keys()].some((key) => key.startsWith(`${base}.`) || key === base);
      if (!present) return found;
      found.push(base);
    }
  }

  /** `Filter.N.Name` / `Filter.N.Value.M`. */
  filters(): Ec2Filter[] {
    return this.indexes('Filter').map((base) => ({
      name: this.get(`${base}.Name`) ?? '',
      values: this.list(`${base}.Value`),
    }));
  }

  /** `<prefix>.N.Key` / `<prefix>.N.Value`. */
  tags(prefix: string): Record<string, string> {
    const tags: Record<string, string> = {};
    for (const base of this.indexes(prefix))
      tags[this.get(`${base}.Key`) ?? ''] = this.get(`${base}.Value`) ?? '';
    return tags;
  }

  /** The tags of the `TagSpecification` naming `resourceType`. */
  tagSpecification(resourceType: string): Record<string, string> {
    const tags: Record<string, string> = {};
    for (const base of this.indexes('TagSpecification')) {
      if (this.get(`${base}.ResourceType`) !== resourceType) continue;
      Object.assign(tags, this.tags(`${base}.Tag`));
    }
    return tags;
  }

  /** Resource types named by any `TagSpecification`. */
  tagSpecificationTypes(): string[] {
    return this.indexes('TagSpecification').map((base) => this.get(`${base}.ResourceType`) ?? '');
  }
}

export interface Ec2Filter {
  name: string;
  values: string[];
}

/** EC2 filter values match with `*` (any run) and `?` (one character) wildcards. */
export function filterValueMatches(pattern: string, value: string): boolean {
  if (!pattern.includes('*') && !pattern.includes('?')) return pattern === value;
  const regex = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${regex}$`, 's').test(value);
}

/**
 * Whether a resource passes every filter: filters are ANDed, values within one filter ORed.
 * `valuesOf(name)` gives the resource's values for a filter name, or undefined for an unknown
 * filter (which the caller reports as an error before calling this).
 */
export function matchesFilters(
  filters: readonly Ec2Filter[],
  valuesOf: (name: string) => readonly string[] | undefined,
): boolean {
  return filters.every((filter) => {
    const actual = valuesOf(filter.name) ?? [];
    return filter.values.some((pattern) => actual.some((value) => filterValueMatches(pattern, value)));
  });
}

/** The values of the tag filters every taggable resource supports; undefined for other names. */
export function tagFilterValues(name: string, tags: Readonly<Record<string, string>>): string[] | undefined {
  if (name.startsWith('tag:')) {
    const value = tags[name.slice(4)];
    return value === undefined ? [] : [value];
  }
  if (name === 'tag-key') return Object.keys(tags);
  if (name === 'tag-value') return Object.values(tags);
  return undefined;
}

/**
 * The subset of the Compute Engine list `filter` syntax the emulator understands:
 *
 * - comparisons `field = value`, `field != value`, `field : value` (value quoted or bare),
 *   joined by `AND` (or juxtaposed), optionally in parentheses: `(labels.a = "b") (status = RUNNING)`;
 * - the legacy regular-expression form `field eq regex` / `field ne regex` (one expression, the
 *   regex must match the whole value), as the Go worker used (`name eq ^travis-ci.+`).
 *
 * Fields are dotted paths into the resource (`labels.workerkit`, `targetId`, `status`). Anything
 * else (OR, `<`, functions) is rejected, so a backend never relies on a filter the emulator
 * would silently ignore.
 */
export type ResourceFilter = (resource: Record<string, unknown>) => boolean;

export class FilterSyntaxError extends Error {
  override readonly name = 'FilterSyntaxError';
}

export function parseFilter(filter: string | undefined): ResourceFilter {
  const text = (filter ?? '').trim();
  if (text === '') return () => true;
  const legacy = /^([A-Za-z][\w.]*)\s+(eq|ne)\s+(.+)$/.exec(text);
  if (legacy && !/\s(AND|OR)\s/.test(text)) {
    const [, field, op, pattern] = legacy as unknown as [string, string, string, string];
    let regex: RegExp;
    try {
      regex = new RegExp(`^(?:${pattern.trim()})$`);
    } catch (error) {
      throw new FilterSyntaxError(`invalid regular expression in filter: ${pattern}`, { cause: error });
    }
    return (resource) => {
      const value = readField(resource, field);
      const matches = value !== undefined && regex.test(value);
      return op === 'eq' ? matches : !matches;
    };
  }
  const terms: ResourceFilter[] = [];
  const term = /\s*\(?\s*([A-Za-z][\w.-]*)\s*(!=|=|:)\s*("(?:[^"\\]|\\.)*"|[^\s()]+)\s*\)?\s*(?:AND\b)?/y;
  let index = 0;
  while (index < text.length) {
    term.lastIndex = index;
    const match = term.exec(text);
    if (!match || match[0].length === 0) {
      throw new FilterSyntaxError(`unsupported filter expression near "${text.slice(index)}"`);
    }
    index = term.lastIndex;
    const [, field, op, rawValue] = match as unknown as [string, string, string, string];
    if (/^(OR|NOT)$/i.test(field)) throw new FilterSyntaxError(`unsupported operator ${field} in filter`);
    const expected = rawValue.startsWith('"') ? (JSON.parse(rawValue) as string) : rawValue;
    terms.push((resource) => {
      const value = readField(resource, field);
      if (op === '=') return value === expected;
      if (op === '!=') return value !== expected;
      return expected === '*' ? value !== undefined : value === expected;
    });
  }
  return (resource) => terms.every((t) => t(resource));
}

function readField(resource: Record<string, unknown>, path: string): string | undefined {
  let current: unknown = resource;
  for (const part of path.split('.')) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  if (current === undefined || current === null) return undefined;
  return typeof current === 'object' ? JSON.stringify(current) : String(current);
}

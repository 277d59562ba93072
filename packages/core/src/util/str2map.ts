/**
 * Parses `key:value` pairs separated by the given characters (Go default: space and comma).
 * Values are URL-unescaped as in Go (so `%2C` is a literal comma); a key without `:` maps to "".
 */
export function str2map(input: string, separators = ' ,'): Record<string, string> {
  const result: Record<string, string> = {};
  const splitter = new RegExp(`[${separators.replace(/[\]\\^-]/g, '\\$&')}]+`);
  for (const pair of input.split(splitter)) {
    if (pair === '') continue;
    const colon = pair.indexOf(':');
    const key = colon === -1 ? pair : pair.slice(0, colon);
    const raw = colon === -1 ? '' : pair.slice(colon + 1);
    result[key] = queryUnescape(raw);
  }
  return result;
}

function queryUnescape(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return value;
  }
}

const FALSE_WORDS = new Set(['0', 'no', 'off', 'false', '']);

/** The Go worker's truthiness: only 0/no/off/false/empty (any case) are false. */
export function asBool(value: string | undefined): boolean {
  return !FALSE_WORDS.has((value ?? '').trim().toLowerCase());
}

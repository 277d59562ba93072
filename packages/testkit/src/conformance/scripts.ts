import { createHash } from 'node:crypto';

/**
 * POSIX-sh scripts for the conformance suite: they must run under bash and under busybox sh,
 * so a provider's test image can be tiny.
 */
export const conformanceScripts = {
  hello: 'echo hello\n',
  exitWith: (code: number) => `echo "exiting with ${code}"\nexit ${code}\n`,
  silent: 'true\n',
  stdoutAndStderr: 'echo to-stdout\necho to-stderr >&2\n',
  sleeper: 'echo started\nsleep 60\necho not-reached\n',
  /** Every byte value 0..255, once, via printf octal escapes. */
  allBytes: (): string => {
    const escapes = Array.from({ length: 256 }, (_, i) => `\\${i.toString(8).padStart(3, '0')}`);
    const lines: string[] = [];
    for (let i = 0; i < 256; i += 32) lines.push(`printf '${escapes.slice(i, i + 32).join('')}'`);
    return `${lines.join('\n')}\n`;
  },
  /** `bytes` of repeated line output from `yes`, cut exactly. */
  largeOutput: (bytes: number) => `yes 0123456789abcdefghijklmnopqrstuvwxyz | head -c ${bytes}\n`,
  writesTrace: 'echo trace-line > /tmp/build.trace\necho done\n',
};

export function allBytesBuffer(): Buffer {
  return Buffer.from(Array.from({ length: 256 }, (_, i) => i));
}

/** The sha256 of what `largeOutput(bytes)` prints. */
export function largeOutputDigest(bytes: number): string {
  const line = Buffer.from('0123456789abcdefghijklmnopqrstuvwxyz\n');
  const block = Buffer.alloc(line.length * 1024 * 16, line.toString());
  const hash = createHash('sha256');
  let remaining = bytes;
  while (remaining > 0) {
    const slice = block.subarray(0, Math.min(remaining, block.length));
    hash.update(slice);
    remaining -= slice.length;
  }
  return hash.digest('hex');
}

import { createHash } from 'node:crypto';

/**
 * One job of the conformance suite: a POSIX-sh script (it must run under bash and busybox sh,
 * so a provider's test image can be tiny) and what it must produce. Providers that cannot run
 * shell (the fake) are handed the job through `prepareJob` and replay its expected output.
 */
export interface ConformanceJob {
  name: string;
  script: string;
  /** Exactly what the script writes (stdout and stderr interleaved as written). */
  output: () => Iterable<Uint8Array>;
  outputBytes: number;
  exitCode: number;
  /** The script blocks after its output until it is killed. */
  hangs?: boolean;
  /** What the script writes to /tmp/build.trace. */
  trace?: string;
}

const LINE = '0123456789abcdefghijklmnopqrstuvwxyz\n';

function textJob(
  name: string,
  script: string,
  output: string,
  exitCode = 0,
  extra: Partial<ConformanceJob> = {},
): ConformanceJob {
  const bytes = Buffer.from(output);
  return { name, script, output: () => [bytes], outputBytes: bytes.length, exitCode, ...extra };
}

export const conformanceJobs = {
  hello: textJob('hello', 'echo hello\n', 'hello\n'),
  exitWith: (code: number) =>
    textJob(`exit-${code}`, `echo "exiting with ${code}"\nexit ${code}\n`, `exiting with ${code}\n`, code),
  silent: textJob('silent', 'true\n', ''),
  stdoutAndStderr: textJob(
    'stdout-and-stderr',
    'echo to-stdout\necho to-stderr >&2\n',
    'to-stdout\nto-stderr\n',
  ),
  sleeper: textJob('sleeper', 'echo started\nsleep 60\necho not-reached\n', 'started\n', 0, { hangs: true }),
  writesTrace: textJob('writes-trace', 'echo trace-line > /tmp/build.trace\necho done\n', 'done\n', 0, {
    trace: 'trace-line\n',
  }),
  /** Every byte value 0..255, once, via printf octal escapes. */
  allBytes: (): ConformanceJob => {
    const escapes = Array.from({ length: 256 }, (_, i) => `\\${i.toString(8).padStart(3, '0')}`);
    const lines: string[] = [];
    for (let i = 0; i < 256; i += 32) lines.push(`printf '${escapes.slice(i, i + 32).join('')}'`);
    return {
      name: 'all-bytes',
      script: `${lines.join('\n')}\n`,
      output: () => [allBytesBuffer()],
      outputBytes: 256,
      exitCode: 0,
    };
  },
  /** `bytes` of repeated line output from `yes`, cut exactly. */
  largeOutput: (bytes: number): ConformanceJob => ({
    name: `large-output-${bytes}`,
    script: `yes ${LINE.trim()} | head -c ${bytes}\n`,
    output: () => largeOutputChunks(bytes),
    outputBytes: bytes,
    exitCode: 0,
  }),
};

export function allBytesBuffer(): Buffer {
  return Buffer.from(Array.from({ length: 256 }, (_, i) => i));
}

function* largeOutputChunks(bytes: number): Iterable<Uint8Array> {
  const block = Buffer.alloc(LINE.length * 1024 * 16, LINE);
  let remaining = bytes;
  while (remaining > 0) {
    const slice = block.subarray(0, Math.min(remaining, block.length));
    remaining -= slice.length;
    yield slice;
  }
}

/** The sha256 of what `largeOutput(bytes)` prints. */
export function largeOutputDigest(bytes: number): string {
  const hash = createHash('sha256');
  for (const chunk of largeOutputChunks(bytes)) hash.update(chunk);
  return hash.digest('hex');
}

import { spawn } from 'node:child_process';
import { createDockerProvider, type DockerProvider } from '../src/index.js';
import { BUSYBOX_IMAGE, dockerSocket, TERM_IGNORING_IMAGE } from '../test/docker-test-env.js';

export { BUSYBOX_IMAGE, TERM_IGNORING_IMAGE };

/** The docker CLI against the same daemon (`docker -H unix://<sock> …`), output discarded. */
export function dockerCli(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('docker', ['-H', `unix://${dockerSocket()}`, ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`docker ${args.join(' ')}: exit ${code}: ${stderr}`)),
    );
  });
}

/**
 * A native provider on the bench daemon with network none, like the CLI baselines
 * (`NETWORK_MODE: ''` in `extra` gives the default configuration: the daemon's default network).
 */
export function benchProvider(scope: string, extra: Record<string, string> = {}): DockerProvider {
  return createDockerProvider(
    {
      ENDPOINT: `unix://${dockerSocket()}`,
      NATIVE: 'true',
      EXEC_CMD: 'sh /home/travis/build.sh',
      NETWORK_MODE: 'none',
      CONTAINER_LABELS: `workerkit-bench:${scope}`,
      ...extra,
    },
    { ownerId: `bench-${scope}` },
  );
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** A sink that counts bytes and keeps nothing (like the CLI baseline's /dev/null). */
export class CountingSink {
  bytes = 0;
  /** It never keeps a chunk, so runs may lend it their read buffer. */
  readonly retainsChunks = false;
  write(chunk: Uint8Array): boolean {
    this.bytes += chunk.byteLength;
    return true;
  }
}

export function report(name: string, lines: Record<string, string | number>): void {
  const width = Math.max(...Object.keys(lines).map((key) => key.length));
  const body = Object.entries(lines)
    .map(([key, value]) => `  ${key.padEnd(width)}  ${value}`)
    .join('\n');
  process.stdout.write(`\n[bench] ${name}\n${body}\n`);
}

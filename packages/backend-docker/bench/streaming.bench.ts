import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import type { DockerInstance } from '../src/index.js';
import { BUSYBOX_IMAGE, benchProvider, CountingSink, dockerCli, median, report } from './bench-support.js';

const MIB = 2 ** 20;
const BYTES = 200 * MIB;
/** Docker's TTY path is slow for line output (a 500 MiB TTY run hung here): it gets less. */
const TTY_BYTES = 20 * MIB;

const LINE_SCRIPT = (bytes: number) => `yes 0123456789abcdefghijklmnopqrstuvwxyz | head -c ${bytes}\n`;
const BLOCK_SCRIPT = (bytes: number) => `dd if=/dev/zero bs=1048576 count=${bytes / MIB} 2>/dev/null\n`;

/** HOST_OUTPUT_DIR for the runs that read output from a FIFO (removed after the bench). */
const hostOutputDir = mkdtempSync(join(tmpdir(), 'workerkit-bench-output-'));
afterAll(() => rmSync(hostOutputDir, { recursive: true, force: true }));

async function ours(
  tty: boolean,
  script: string,
  bytes: number,
  {
    sink = new CountingSink(),
    fifo = false,
  }: { sink?: CountingSink | RetainingCountingSink; fifo?: boolean } = {},
): Promise<number> {
  const provider = benchProvider('streaming', {
    TTY: String(tty),
    CPUS: '0',
    ...(fifo ? { HOST_OUTPUT_DIR: hostOutputDir } : {}),
  });
  const instance = await provider.start({
    imageName: BUSYBOX_IMAGE,
    jobId: `s${tty}`,
    repository: 'bench/streaming',
  });
  try {
    await instance.uploadScript(script);
    const began = performance.now();
    const result = await instance.runScript(sink);
    const seconds = (performance.now() - began) / 1000;
    expect(result).toMatchObject({ completed: true, exitCode: 0 });
    // A TTY turns each \n into \r\n.
    expect(sink.bytes).toBeGreaterThanOrEqual(bytes);
    return bytes / MIB / seconds;
  } finally {
    await instance.stop();
    await provider.close();
  }
}

async function cli(script: string, bytes: number): Promise<number> {
  const provider = benchProvider('streaming-cli', { CPUS: '0' });
  const instance = (await provider.start({
    imageName: BUSYBOX_IMAGE,
    jobId: 'cli',
    repository: 'bench/streaming',
  })) as DockerInstance;
  try {
    const began = performance.now();
    await dockerCli(['exec', '-u', 'travis', instance.containerId, 'sh', '-c', script]);
    return bytes / MIB / ((performance.now() - began) / 1000);
  } finally {
    await instance.stop();
    await provider.close();
  }
}

/** Counts like `CountingSink` but says it may keep chunks, as a Writable's queue does. */
class RetainingCountingSink {
  bytes = 0;
  write(chunk: Uint8Array): boolean {
    this.bytes += chunk.byteLength;
    return true;
  }
}

const ROUNDS = 3;

/**
 * Medians of alternating rounds, so a load change hits every side alike; the order rotates each
 * round so no side always runs first.
 */
async function alternate(rounds: number, runs: Record<string, () => Promise<number>>) {
  const entries = Object.entries(runs);
  const samples: Record<string, number[]> = Object.fromEntries(entries.map(([name]) => [name, []]));
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < entries.length; i++) {
      const [name, run] = entries[(round + i) % entries.length]!;
      samples[name]!.push(await run());
    }
  }
  return Object.fromEntries(Object.entries(samples).map(([name, values]) => [name, median(values)]));
}

it('output streaming of 200 MiB, line and block output, vs `docker exec` to /dev/null', async () => {
  const line = await alternate(ROUNDS, {
    cli: () => cli(LINE_SCRIPT(BYTES), BYTES),
    ours: () => ours(false, LINE_SCRIPT(BYTES), BYTES),
    fifo: () => ours(false, LINE_SCRIPT(BYTES), BYTES, { fifo: true }),
  });
  const block = await alternate(ROUNDS, {
    cli: () => cli(BLOCK_SCRIPT(BYTES), BYTES),
    ours: () => ours(false, BLOCK_SCRIPT(BYTES), BYTES),
    fifo: () => ours(false, BLOCK_SCRIPT(BYTES), BYTES, { fifo: true }),
    retaining: () => ours(false, BLOCK_SCRIPT(BYTES), BYTES, { sink: new RetainingCountingSink() }),
  });
  const tty = await alternate(1, {
    cli: () => cli(LINE_SCRIPT(TTY_BYTES), TTY_BYTES),
    ours: () => ours(true, LINE_SCRIPT(TTY_BYTES), TTY_BYTES),
  });
  const rate = (value: number | undefined, base: number | undefined) =>
    `${value!.toFixed(0)} MiB/s (${(value! / base!).toFixed(2)}×)`;
  report(
    `2. output streaming, ${BYTES / MIB} MiB (median of ${ROUNDS} alternating rounds; goal ≥ 1.0× each)`,
    {
      'line (yes), docker exec CLI': `${line.cli!.toFixed(0)} MiB/s`,
      'line, workerkit through the Engine': rate(line.ours, line.cli),
      'line, workerkit with HOST_OUTPUT_DIR': rate(line.fifo, line.cli),
      'block (dd bs=1M), docker exec CLI': `${block.cli!.toFixed(0)} MiB/s`,
      'block, workerkit through the Engine': rate(block.ours, block.cli),
      'block, workerkit with HOST_OUTPUT_DIR': rate(block.fifo, block.cli),
      'block, through the Engine, a sink that keeps chunks': rate(block.retaining, block.cli),
      [`line, TTY=true, ${TTY_BYTES / MIB} MiB, workerkit`]: `${tty.ours!.toFixed(1)} MiB/s`,
      [`line, ${TTY_BYTES / MIB} MiB, docker exec CLI (no TTY)`]: `${tty.cli!.toFixed(0)} MiB/s`,
      'TTY ratio (ours with TTY / CLI without)': `${(tty.ours! / tty.cli!).toFixed(3)}×`,
    },
  );
});

import { expect, it } from 'vitest';
import type { DockerInstance } from '../src/index.js';
import { BUSYBOX_IMAGE, benchProvider, CountingSink, dockerCli, report } from './bench-support.js';

const MIB = 2 ** 20;
const BYTES = 500 * MIB;
/** Docker's TTY path is slow for line output (a 500 MiB TTY run hung here): it gets less. */
const TTY_BYTES = 20 * MIB;

const LINE_SCRIPT = (bytes: number) => `yes 0123456789abcdefghijklmnopqrstuvwxyz | head -c ${bytes}\n`;
const BLOCK_SCRIPT = (bytes: number) => `dd if=/dev/zero bs=1048576 count=${bytes / MIB} 2>/dev/null\n`;

async function ours(tty: boolean, script: string, bytes: number): Promise<number> {
  const provider = benchProvider('streaming', { TTY: String(tty), CPUS: '0' });
  const instance = await provider.start({
    imageName: BUSYBOX_IMAGE,
    jobId: `s${tty}`,
    repository: 'bench/streaming',
  });
  try {
    await instance.uploadScript(script);
    const sink = new CountingSink();
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

it('output streaming of 500 MiB, line and block output, vs `docker exec` to /dev/null', async () => {
  const lineCli = await cli(LINE_SCRIPT(BYTES), BYTES);
  const lineOurs = await ours(false, LINE_SCRIPT(BYTES), BYTES);
  const blockCli = await cli(BLOCK_SCRIPT(BYTES), BYTES);
  const blockOurs = await ours(false, BLOCK_SCRIPT(BYTES), BYTES);
  const lineTtyCli = await cli(LINE_SCRIPT(TTY_BYTES), TTY_BYTES);
  const lineTty = await ours(true, LINE_SCRIPT(TTY_BYTES), TTY_BYTES);
  report('2. output streaming (goal ≥ 1.0× each)', {
    'line (yes), workerkit': `${lineOurs.toFixed(0)} MiB/s`,
    'line (yes), docker exec CLI': `${lineCli.toFixed(0)} MiB/s`,
    'line ratio (ours / CLI)': `${(lineOurs / lineCli).toFixed(2)}×`,
    'block (dd bs=1M), workerkit': `${blockOurs.toFixed(0)} MiB/s`,
    'block (dd bs=1M), docker exec CLI': `${blockCli.toFixed(0)} MiB/s`,
    'block ratio (ours / CLI)': `${(blockOurs / blockCli).toFixed(2)}×`,
    [`line, TTY=true, ${TTY_BYTES / MIB} MiB, workerkit`]: `${lineTty.toFixed(1)} MiB/s`,
    [`line, ${TTY_BYTES / MIB} MiB, docker exec CLI (no TTY)`]: `${lineTtyCli.toFixed(0)} MiB/s`,
    'TTY ratio (ours with TTY / CLI without)': `${(lineTty / lineTtyCli).toFixed(3)}×`,
  });
});

import { expect, it } from 'vitest';
import type { DockerProvider } from '../src/index.js';
import {
  BUSYBOX_IMAGE,
  benchProvider,
  dockerCli,
  median,
  report,
  TERM_IGNORING_IMAGE,
} from './bench-support.js';

const ROUNDS = 15;
const CLI_RUN = ['run', '--rm', '--network', 'none', BUSYBOX_IMAGE, 'sh', '-c', 'true'];

async function oneJob(provider: DockerProvider, round: number, imageName = BUSYBOX_IMAGE): Promise<void> {
  const instance = await provider.start({ imageName, jobId: String(round), repository: 'bench/lifecycle' });
  await instance.uploadScript('true\n');
  const result = await instance.runScript({ write: () => true });
  await instance.stop();
  expect(result).toMatchObject({ completed: true, exitCode: 0 });
}

async function timed(action: () => Promise<void>): Promise<number> {
  const began = performance.now();
  await action();
  return performance.now() - began;
}

it('per-job lifecycle: start → upload → run `true` → stop vs `docker run --rm --network none`', async () => {
  const sides: Record<string, () => Promise<void>> = {};
  // The default configuration (no NETWORK_MODE: the daemon's default network), cold.
  const cold = benchProvider('lifecycle-cold', { NETWORK_MODE: '' });
  // The same network as the CLI baseline.
  const coldNone = benchProvider('lifecycle-cold-none');
  // WARM_CONTAINERS=1: the refill runs after each job's stop and is awaited before the next
  // side's turn, as a worker between jobs would give it time to.
  const warm = benchProvider('lifecycle-warm', { WARM_CONTAINERS: '1' });
  await warm.prewarm({ imageName: BUSYBOX_IMAGE });
  let round = 0;
  sides.cli = () => dockerCli(CLI_RUN);
  sides.cold = () => oneJob(cold, round);
  sides.coldTermIgnoring = () => oneJob(cold, round, TERM_IGNORING_IMAGE);
  sides.coldNone = () => oneJob(coldNone, round);
  sides.warm = () => oneJob(warm, round);
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(sides).map((name) => [name, []]));
  const names = Object.keys(sides);
  // Every path once to warm up, then rounds whose order rotates so load changes hit all alike.
  for (round = 0; round <= ROUNDS; round++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(round + i) % names.length]!;
      const took = await timed(sides[name]!);
      if (name === 'warm') await warm.whenWarmPoolIdle();
      if (round > 0) times[name]!.push(took);
    }
  }
  for (const provider of [cold, coldNone, warm]) {
    await provider.close();
    expect(await provider.listManagedResources()).toEqual([]);
  }
  const cli = median(times.cli!);
  const line = (name: string) =>
    `${median(times[name]!).toFixed(0)} ms (${(median(times[name]!) / cli).toFixed(2)}×)`;
  report(
    `1. per-job lifecycle, cold (median of ${ROUNDS} rotating rounds; goal ≤ 0.8× cold, default configuration)`,
    {
      'docker run --rm --network none (CLI)': `${cli.toFixed(0)} ms`,
      'workerkit cold, default configuration': line('cold'),
      'workerkit cold, default configuration, PID 1 ignores SIGTERM': line('coldTermIgnoring'),
      'workerkit cold, NETWORK_MODE=none (as the CLI)': line('coldNone'),
      'workerkit WARM_CONTAINERS=1': line('warm'),
      'ratio cold / CLI': `${(median(times.cold!) / cli).toFixed(2)}×`,
    },
  );
});

import { expect, it } from 'vitest';
import type { DockerProvider } from '../src/index.js';
import { BUSYBOX_IMAGE, benchProvider, dockerCli, median, report } from './bench-support.js';

const ROUNDS = 15;
const CLI_RUN = ['run', '--rm', '--network', 'none', BUSYBOX_IMAGE, 'sh', '-c', 'true'];

async function oneJob(provider: DockerProvider, round: number): Promise<void> {
  const instance = await provider.start({
    imageName: BUSYBOX_IMAGE,
    jobId: String(round),
    repository: 'bench/lifecycle',
  });
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

it('per-job lifecycle: start → upload → run `true` → stop vs `docker run --rm`', async () => {
  // Both with network none, as the CLI baseline. WARM_CONTAINERS=1 keeps one started container
  // ready; its refill runs after each job's stop and is awaited before the next measurement, as
  // a worker between jobs would give it time to, so it never slows the CLI's turn.
  const cold = benchProvider('lifecycle-cold');
  const warm = benchProvider('lifecycle-warm', { WARM_CONTAINERS: '1' });
  await cold.setup();
  await warm.setup();
  const times = { cold: [] as number[], warm: [] as number[], cli: [] as number[] };
  await warm.prewarm({ imageName: BUSYBOX_IMAGE });
  // Warm every path once, then alternate so load changes hit all alike.
  for (let round = 0; round <= ROUNDS; round++) {
    const cli = await timed(() => dockerCli(CLI_RUN));
    const coldJob = await timed(() => oneJob(cold, round));
    const warmJob = await timed(() => oneJob(warm, round));
    await warm.whenWarmPoolIdle();
    if (round === 0) continue;
    times.cli.push(cli);
    times.cold.push(coldJob);
    times.warm.push(warmJob);
  }
  // No idle time between jobs: with one warm container each start waits for the refill the
  // previous stop began; with two, one is ready while the other refills during the job.
  const backToBack = { one: [] as number[], two: [] as number[] };
  const warmTwo = benchProvider('lifecycle-warm-two', { WARM_CONTAINERS: '2' });
  await warmTwo.prewarm({ imageName: BUSYBOX_IMAGE });
  for (let round = 0; round < ROUNDS; round++) {
    backToBack.one.push(await timed(() => oneJob(warm, ROUNDS + 1 + round)));
  }
  await warm.whenWarmPoolIdle();
  for (let round = 0; round < ROUNDS; round++) {
    backToBack.two.push(await timed(() => oneJob(warmTwo, ROUNDS + 1 + round)));
  }
  await warmTwo.close();
  expect(await warmTwo.listManagedResources()).toEqual([]);
  expect(await cold.listManagedResources()).toEqual([]);
  await warm.close();
  expect(await warm.listManagedResources()).toEqual([]);
  await cold.close();
  const cli = median(times.cli);
  report(`1. per-job lifecycle (median of ${ROUNDS}, goal ≤ 0.8×)`, {
    'docker run --rm --network none (CLI)': `${cli.toFixed(0)} ms`,
    'workerkit, WARM_CONTAINERS=1': `${median(times.warm).toFixed(0)} ms`,
    'workerkit, cold (default)': `${median(times.cold).toFixed(0)} ms`,
    'workerkit, back to back, WARM_CONTAINERS=1': `${median(backToBack.one).toFixed(0)} ms`,
    'workerkit, back to back, WARM_CONTAINERS=2': `${median(backToBack.two).toFixed(0)} ms`,
    'ratio warm / CLI': `${(median(times.warm) / cli).toFixed(2)}×`,
    'ratio back to back, 1 / CLI': `${(median(backToBack.one) / cli).toFixed(2)}×`,
    'ratio back to back, 2 / CLI': `${(median(backToBack.two) / cli).toFixed(2)}×`,
    'ratio cold / CLI': `${(median(times.cold) / cli).toFixed(2)}×`,
  });
});

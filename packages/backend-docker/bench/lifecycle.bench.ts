import { expect, it } from 'vitest';
import { BUSYBOX_IMAGE, benchProvider, dockerCli, median, report } from './bench-support.js';

const ROUNDS = 15;

it('per-job lifecycle: start → upload → run `true` → stop vs `docker run --rm`', async () => {
  const provider = benchProvider('lifecycle');
  await provider.setup();
  const ours: number[] = [];
  const cli: number[] = [];
  // Warm both paths once, then alternate so load changes hit both alike.
  await dockerCli(['run', '--rm', '--network', 'none', BUSYBOX_IMAGE, 'sh', '-c', 'true']);
  for (let round = 0; round <= ROUNDS; round++) {
    let began = performance.now();
    const instance = await provider.start({
      imageName: BUSYBOX_IMAGE,
      jobId: String(round),
      repository: 'bench/lifecycle',
    });
    await instance.uploadScript('true\n');
    const result = await instance.runScript({ write: () => true });
    await instance.stop();
    expect(result).toMatchObject({ completed: true, exitCode: 0 });
    if (round > 0) ours.push(performance.now() - began);
    began = performance.now();
    await dockerCli(['run', '--rm', '--network', 'none', BUSYBOX_IMAGE, 'sh', '-c', 'true']);
    if (round > 0) cli.push(performance.now() - began);
  }
  expect(await provider.listManagedResources()).toEqual([]);
  await provider.close();
  const ratio = median(ours) / median(cli);
  report('1. per-job lifecycle (median of 15, goal ≤ 0.8×)', {
    'workerkit start+upload+run+stop': `${median(ours).toFixed(0)} ms`,
    'docker run --rm --network none (CLI)': `${median(cli).toFixed(0)} ms`,
    'ratio (ours / CLI)': `${ratio.toFixed(2)}×`,
  });
});

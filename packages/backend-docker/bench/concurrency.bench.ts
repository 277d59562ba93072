import { ProviderApiError, retryWithBackoff } from '@workerkit/core';
import { expect, it } from 'vitest';
import type { DockerInstance } from '../src/index.js';
import { dockerClient } from '../test/docker-test-env.js';
import { BUSYBOX_IMAGE, benchProvider, CountingSink, dockerCli, report } from './bench-support.js';
import { recordEngineCalls } from './engine-call-times.js';

const JOBS = 16;

it('16 concurrent jobs: all pass, no CPU set given twice, no container left', async () => {
  const provider = benchProvider('concurrency', { CPUS: '1', CPU_SET_SIZE: '2' });
  const docker = dockerClient();
  const live = new Map<string, string>();
  let overlaps = 0;
  let retries = 0;
  const began = performance.now();
  const results = await Promise.all(
    Array.from({ length: JOBS }, async (_, job) => {
      // "not enough free CPU sets" is retryable: the job waits for a set, as a requeue would.
      const instance = (await retryWithBackoff(
        () => provider.start({ imageName: BUSYBOX_IMAGE, jobId: `c${job}`, repository: 'bench/concurrency' }),
        (error) => ProviderApiError.isInstance(error) && error.retryable,
        { initialMs: 20, maxMs: 200, onRetry: () => retries++ },
      )) as DockerInstance;
      const cpuset = (await docker.getContainer(instance.containerId).inspect()).HostConfig.CpusetCpus ?? '';
      for (const other of live.values()) if (other === cpuset) overlaps++;
      live.set(instance.containerId, cpuset);
      try {
        await instance.uploadScript(`echo job ${job}\n`);
        return await instance.runScript(new CountingSink());
      } finally {
        live.delete(instance.containerId);
        await instance.stop();
      }
    }),
  );
  const ours = performance.now() - began;
  expect(results.every((r) => r.completed && r.exitCode === 0)).toBe(true);
  expect(overlaps).toBe(0);
  expect(await provider.listManagedResources()).toEqual([]);
  expect(provider.freeCpus).toBe(2);
  await provider.close();

  // The same 16 jobs without CPU sets: all start at once, as the CLI's do; in the default
  // configuration (the daemon's default network), every Engine call timed.
  const free = benchProvider('concurrency-free', { CPUS: '0', NETWORK_MODE: '' });
  await free.setup();
  const calls = recordEngineCalls(free.docker);
  const freeBegan = performance.now();
  const freeResults = await Promise.all(
    Array.from({ length: JOBS }, async (_, job) => {
      const instance = await free.start({
        imageName: BUSYBOX_IMAGE,
        jobId: `f${job}`,
        repository: 'bench/concurrency',
      });
      try {
        await instance.uploadScript(`echo job ${job}\n`);
        return await instance.runScript(new CountingSink());
      } finally {
        await instance.stop();
      }
    }),
  );
  const oursFree = performance.now() - freeBegan;
  expect(freeResults.every((r) => r.completed && r.exitCode === 0)).toBe(true);
  expect(await free.listManagedResources()).toEqual([]);
  await free.close();

  // And with the CLI's network (none), which costs each container start a setkey hook.
  const none = benchProvider('concurrency-none', { CPUS: '0' });
  const noneBegan = performance.now();
  const noneResults = await Promise.all(
    Array.from({ length: JOBS }, async (_, job) => {
      const instance = await none.start({
        imageName: BUSYBOX_IMAGE,
        jobId: `n${job}`,
        repository: 'bench/concurrency',
      });
      try {
        await instance.uploadScript(`echo job ${job}\n`);
        return await instance.runScript(new CountingSink());
      } finally {
        await instance.stop();
      }
    }),
  );
  const oursNone = performance.now() - noneBegan;
  expect(noneResults.every((r) => r.completed && r.exitCode === 0)).toBe(true);
  expect(await none.listManagedResources()).toEqual([]);
  await none.close();

  const cliBegan = performance.now();
  await Promise.all(
    Array.from({ length: JOBS }, (_, job) =>
      dockerCli(['run', '--rm', '--network', 'none', BUSYBOX_IMAGE, 'sh', '-c', `echo job ${job}`]),
    ),
  );
  const cli = performance.now() - cliBegan;
  report('3. 16 concurrent jobs (CPUS=1, CPU_SET_SIZE=2: at most 2 run at once)', {
    'jobs passed': `${results.length}/${JOBS}`,
    'CPU set given twice': overlaps,
    'containers left': 0,
    'start retries (no free CPU set)': retries,
    'workerkit wall time, CPU sets on': `${ours.toFixed(0)} ms`,
    'workerkit wall time, CPUS=0 (all 16 at once), default configuration': `${oursFree.toFixed(0)} ms`,
    'workerkit wall time, CPUS=0, NETWORK_MODE=none (as the CLI)': `${oursNone.toFixed(0)} ms`,
    '16 × docker run --rm in parallel (CLI)': `${cli.toFixed(0)} ms`,
    'ratio, CPUS=0 (ours / CLI; goal ≤ 1.0×)': `${(oursFree / cli).toFixed(2)}×`,
    'ratio, CPUS=0, NETWORK_MODE=none (ours / CLI)': `${(oursNone / cli).toFixed(2)}×`,
  });
  report(
    '3c. Engine calls of the 16 jobs with CPUS=0 (request to answer; exec stream to its start)',
    calls.summary(),
  );
});

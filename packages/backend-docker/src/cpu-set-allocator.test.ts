import { ProviderApiError } from '@workerkit/core';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CollectingSink,
  dockerClient,
  jobAttributes,
  nativeProvider,
  scopedContainers,
} from '../test/docker-test-env.js';
import { CpuSetAllocator } from './cpu-set-allocator.js';
import type { DockerInstance } from './index.js';

describe('CpuSetAllocator', () => {
  it('hands out the lowest free CPUs, disjoint, and takes them back once', () => {
    const allocator = new CpuSetAllocator(4);
    const a = allocator.acquire(2);
    const b = allocator.acquire(1);
    expect(a.cpusetCpus).toBe('0,1');
    expect(b.cpusetCpus).toBe('2');
    a.release();
    a.release();
    expect(allocator.free).toBe(3);
    const c = allocator.acquire(3);
    expect(c.cpus).toEqual([0, 1, 3]);
    // b's CPU is still held: a's double release must not have freed it.
    expect(() => allocator.acquire(1)).toThrow(/not enough free CPU sets: 1 CPUs wanted, 0 of 4 free/);
  });

  it('reports exhaustion as a retryable ProviderApiError', () => {
    const allocator = new CpuSetAllocator(2);
    allocator.acquire(2);
    let error: unknown;
    try {
      allocator.acquire(1);
    } catch (e) {
      error = e;
    }
    expect(ProviderApiError.isInstance(error)).toBe(true);
    expect((error as ProviderApiError).retryable).toBe(true);
    expect((error as ProviderApiError).code).toBe('cpu-sets-exhausted');
  });

  it('rejects nonsense sizes and counts', () => {
    expect(() => new CpuSetAllocator(0)).toThrow(RangeError);
    expect(() => new CpuSetAllocator(2).acquire(0)).toThrow(RangeError);
  });

  it('never gives a CPU twice under interleaved acquire/release', async () => {
    const allocator = new CpuSetAllocator(8);
    const held = new Set<number>();
    let granted = 0;
    let refused = 0;
    await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        await new Promise((resolve) => setTimeout(resolve, i % 7));
        let lease: ReturnType<CpuSetAllocator['acquire']>;
        try {
          lease = allocator.acquire(1 + (i % 3));
        } catch {
          refused += 1;
          return;
        }
        granted += 1;
        for (const cpu of lease.cpus) {
          expect(held.has(cpu)).toBe(false);
          held.add(cpu);
        }
        await new Promise((resolve) => setTimeout(resolve, (i * 13) % 5));
        for (const cpu of lease.cpus) held.delete(cpu);
        lease.release();
      }),
    );
    expect(granted).toBeGreaterThan(0);
    expect(granted + refused).toBe(200);
    expect(allocator.free).toBe(8);
  });
});

describe('CPU sets on a real daemon', () => {
  const SCOPE = 'cpusets';
  const provider = nativeProvider(SCOPE, { CPUS: '1', CPU_SET_SIZE: '2' });
  afterAll(() => provider.close());

  it('concurrent starts never share a CPU, and every path gives the sets back', async () => {
    const docker = dockerClient();
    const outcomes = await Promise.allSettled(
      Array.from({ length: 6 }, () => provider.start(jobAttributes(SCOPE))),
    );
    const started = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value as DockerInstance] : []));
    const refused = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason] : []));
    expect(started).toHaveLength(2);
    expect(refused).toHaveLength(4);
    for (const error of refused) expect(String(error)).toContain('not enough free CPU sets');
    const sets = await Promise.all(
      started.map(async (i) => (await docker.getContainer(i.containerId).inspect()).HostConfig.CpusetCpus),
    );
    expect(sets.sort()).toEqual(['0', '1']);
    // Abort a run on one and let the other fail its run: both still give their CPU back on stop.
    const [first, second] = started as [DockerInstance, DockerInstance];
    await first.uploadScript('sleep 30\n');
    const controller = new AbortController();
    const run = first.runScript(new CollectingSink(), { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('cancel')), 200);
    expect(await run).toMatchObject({ completed: false, reason: 'cancelled' });
    await docker.getContainer(second.containerId).kill();
    expect((await second.runScript(new CollectingSink())).completed).toBe(false);
    await Promise.all([first.stop(), second.stop()]);
    expect(provider.freeCpus).toBe(2);
    expect(await scopedContainers(SCOPE)).toEqual([]);
  });
});

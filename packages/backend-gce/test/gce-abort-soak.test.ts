import { GCE_DEFAULT_TIME_FACTOR } from '@workerkit/testkit';
import { expect, it } from 'vitest';
import { gceTestEnv } from './gce-test-env.js';

const job = { language: 'minimal', jobId: '5', repository: 'workerkit/soak', hardTimeoutMs: 60_000 };
const STARTS = 16;

/**
 * Starts aborted at random moments — before the insert, while PROVISIONING/STAGING (deletes are
 * resourceNotReady then), between RUNNING and SSH, after — on the realistic clock: every VM is
 * gone afterwards.
 */
it(`leaves no VM behind when ${STARTS} starts are aborted at random moments`, {
  timeout: 120_000,
}, async () => {
  await using env = await gceTestEnv({ emulator: { timeFactor: GCE_DEFAULT_TIME_FACTOR } });
  await env.provider.setup();
  const outcomes = await Promise.all(
    Array.from({ length: STARTS }, async (_, i) => {
      const controller = new AbortController();
      // Spread over the whole start: an insert of 50-300 ms, sshd 100-400 ms later.
      setTimeout(() => controller.abort(new Error(`abort ${i}`)), Math.random() * 900);
      try {
        const instance = await env.provider.start(job, { signal: controller.signal });
        await instance.stop();
        return 'started';
      } catch (error) {
        expect(String(error)).toContain(`abort ${i}`);
        return 'aborted';
      }
    }),
  );
  expect(outcomes).toContain('aborted');
  expect(env.emulator.instances()).toEqual([]);
  expect(await env.provider.listManagedResources()).toEqual([]);
});

it('an aborted start does not fail another start that shares its setup check and image lookup', {
  timeout: 60_000,
}, async () => {
  await using env = await gceTestEnv({ emulator: { timeFactor: GCE_DEFAULT_TIME_FACTOR } });
  const first = new AbortController();
  // No setup() first: both starts join the same setup check, then the same image lookup.
  const aborted = env.provider.start(job, { signal: first.signal });
  const other = env.provider.start({ ...job, jobId: '6' });
  first.abort(new Error('abort the first start'));
  await expect(aborted).rejects.toThrow('abort the first start');
  const instance = await other;
  await instance.stop();
  expect(env.emulator.instances()).toEqual([]);
});

import { defaultOwnerId, type ManagedResource, reap } from '@workerkit/core';
import { type RedisHandle, startRedis } from '@workerkit/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OwnerLeaseKeeper, RedisOwnerLeases } from '../src/index.js';
import { inspector, RecordingLogger, session, uniquePrefix } from './redis-test-helpers.js';

async function until(condition: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Resources in memory, as a provider lists them; deletions recorded. */
function resourcesOf(resources: ManagedResource[]) {
  const deleted: string[] = [];
  return {
    deleted,
    listManagedResources: async () => resources.filter((r) => !deleted.includes(r.id)),
    deleteManagedResource: async (resource: ManagedResource) => {
      deleted.push(resource.id);
    },
  };
}

describe('owner leases on a real redis-server', () => {
  let redis: RedisHandle;
  let leases: RedisOwnerLeases;
  const client = () => inspector(redis.url);
  let shared: ReturnType<typeof inspector>;
  let prefix: string;

  beforeAll(async () => {
    redis = await startRedis();
    shared = client();
    prefix = uniquePrefix();
    leases = new RedisOwnerLeases(shared, prefix);
  });
  afterAll(async () => {
    shared?.disconnect();
    await redis?.stop();
  });

  it('is live while renewed, expired once renewals stop, unknown for owners that never held one', async () => {
    const keeper = new OwnerLeaseKeeper({
      leases,
      ownerId: 'Build.Box_7',
      ttlMs: 400,
      logger: new RecordingLogger(),
    });
    keeper.start();
    await keeper.renewing;
    expect(await shared.exists(`${prefix}:owner:build-box_7:lease`)).toBe(1);
    // More than a TTL passes while the keeper renews (every 500 ms): the lease stays live.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(await leases.leaseStates(['build-box_7', 'never-here_1'])).toEqual(
      new Map([
        ['build-box_7', 'live'],
        ['never-here_1', 'unknown'],
      ]),
    );
    await keeper.stop();
    await until(
      async () => (await leases.leaseStates(['build-box_7'])).get('build-box_7') === 'expired',
      'expiry',
    );
  });

  it('lets reap delete what an owner with an expired lease left, and only that', async () => {
    const dead = new OwnerLeaseKeeper({
      leases,
      ownerId: 'other-machine_41',
      ttlMs: 300,
      logger: new RecordingLogger(),
    });
    const alive = new OwnerLeaseKeeper({
      leases,
      ownerId: 'other-machine_42',
      ttlMs: 5000,
      logger: new RecordingLogger(),
    });
    dead.start();
    alive.start();
    await Promise.all([dead.renewing, alive.renewing]);
    await dead.stop();
    const provider = resourcesOf([
      { kind: 'instance', id: 'of-dead', ownerId: 'other-machine_41' },
      { kind: 'instance', id: 'of-alive', ownerId: 'other-machine_42' },
      { kind: 'instance', id: 'of-stranger', ownerId: 'no-redis-worker_9' },
      { kind: 'instance', id: 'of-this-process', ownerId: defaultOwnerId() },
    ]);
    try {
      await until(
        async () => (await leases.leaseStates(['other-machine_41'])).get('other-machine_41') === 'expired',
        'expiry',
      );
      const decisions = await reap({ ...provider, ownerLeases: leases });
      expect(decisions.map((d) => [d.resource.id, d.why, d.deleted])).toEqual([
        ['of-dead', 'owner-gone', true],
      ]);
      expect(provider.deleted).toEqual(['of-dead']);
    } finally {
      await alive.stop();
    }
  });

  it('answers lease lookups from a session opened a moment ago (a fresh workerkit gc process)', async () => {
    const fresh = session(redis, { prefix, ownerId: 'gc-here_1' });
    try {
      expect(await fresh.ownerLeases.leaseStates(['build-box_7', 'nobody_1'])).toEqual(
        new Map([
          ['build-box_7', 'expired'],
          ['nobody_1', 'unknown'],
        ]),
      );
    } finally {
      await fresh.close();
    }
  });

  it('reaps by expiry and local pids alone, and says so, when the lease store cannot be read', async () => {
    const down = await startRedis();
    const downClient = inspector(down.url);
    await downClient.ping();
    await down.kill();
    const errors: unknown[] = [];
    const provider = resourcesOf([
      { kind: 'instance', id: 'expired', ownerId: 'x_1', expiresAt: new Date(Date.now() - 1000) },
      { kind: 'instance', id: 'remote', ownerId: 'x_2' },
    ]);
    try {
      const decisions = await reap(
        { ...provider, ownerLeases: new RedisOwnerLeases(downClient, prefix) },
        { onLeaseStoreError: (error) => errors.push(error) },
      );
      expect(decisions.map((d) => d.resource.id)).toEqual(['expired']);
      expect(errors).toHaveLength(1);
    } finally {
      downClient.disconnect();
      await down.stop();
    }
  });
});

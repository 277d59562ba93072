import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { hostname } from 'node:os';
import { setTimeout } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { defaultOwnerId, expiryFor, lifecycleLabels, readLifecycleLabels } from './labels.js';
import type { ManagedResource } from './managed-resource.js';
import { localOwnerLiveness, reap } from './reap.js';

describe('lifecycle labels', () => {
  it('round-trip and fit GCE label rules', () => {
    const expiresAt = new Date('2030-01-02T03:04:05Z');
    const labels = lifecycleLabels({ ownerId: 'Worker.Host_1', jobId: '123', expiresAt });
    for (const [key, value] of Object.entries(labels)) {
      expect(key).toMatch(/^[a-z][a-z0-9_-]{0,62}$/);
      expect(value).toMatch(/^[a-z0-9_-]{0,63}$/);
    }
    expect(readLifecycleLabels(labels)).toEqual({ ownerId: 'worker-host_1', jobId: '123', expiresAt });
    expect(readLifecycleLabels({ other: 'x' })).toBeUndefined();
  });

  it('expire after the hard timeout plus grace', () => {
    expect(expiryFor(60_000, 0).getTime()).toBe(60_000 + 15 * 60_000);
    expect(expiryFor(undefined, 0).getTime()).toBe(50 * 60_000 + 15 * 60_000);
  });
});

describe('reap', () => {
  const deadOwner = defaultOwnerId(2 ** 22 + 12345);

  function providerWith(resources: ManagedResource[]) {
    const deleted: string[] = [];
    return {
      deleted,
      listManagedResources: async () => resources,
      deleteManagedResource: async (resource: ManagedResource) => {
        if (resource.id === 'fails') throw new Error('api down');
        deleted.push(resource.id);
      },
    };
  }

  it('deletes expired and ownerless resources, keeps the rest, and goes on after a failure', async () => {
    const now = new Date('2030-01-01T00:00:00Z');
    const provider = providerWith([
      { kind: 'vm', id: 'expired', expiresAt: new Date('2029-12-31T00:00:00Z'), ownerId: defaultOwnerId() },
      { kind: 'vm', id: 'orphan', expiresAt: new Date('2030-01-02T00:00:00Z'), ownerId: deadOwner },
      { kind: 'vm', id: 'fails', expiresAt: new Date('2029-01-01T00:00:00Z') },
      { kind: 'vm', id: 'live', expiresAt: new Date('2030-01-02T00:00:00Z'), ownerId: defaultOwnerId() },
      { kind: 'vm', id: 'elsewhere', ownerId: 'other-host_1' },
    ]);
    const decisions = await reap(provider, { now });
    expect(decisions.map((d) => [d.resource.id, d.why, d.deleted])).toEqual([
      ['expired', 'expired', true],
      ['orphan', 'owner-gone', true],
      ['fails', 'expired', false],
    ]);
    expect(provider.deleted).toEqual(['expired', 'orphan']);
  });

  it('only reports in a dry run', async () => {
    const provider = providerWith([{ kind: 'vm', id: 'orphan', ownerId: deadOwner }]);
    expect(await reap(provider, { dryRun: true })).toEqual([expect.objectContaining({ deleted: false })]);
    expect(provider.deleted).toEqual([]);
  });

  it('counts a worker that died but was not reaped (a zombie) as gone', async () => {
    if (process.platform !== 'linux') return;
    // The shell starts a short child, then becomes `sleep 5`, which never waits for it: the
    // child stays a zombie until the sleep ends.
    const parent = spawn('sh', ['-c', 'sleep 1 & echo $!; exec sleep 8'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    try {
      const [line] = (await once(parent.stdout, 'data')) as [Buffer];
      const owner = defaultOwnerId(Number(String(line).trim()), hostname());
      expect(localOwnerLiveness(owner)).toBe(true);
      const deadline = Date.now() + 6000;
      while (localOwnerLiveness(owner) && Date.now() < deadline) await setTimeout(20);
      expect(localOwnerLiveness(owner)).toBe(false);
    } finally {
      parent.kill('SIGKILL');
    }
  });

  it('tells live, dead and unknown owners apart', () => {
    expect(localOwnerLiveness(defaultOwnerId())).toBe(true);
    expect(localOwnerLiveness(deadOwner)).toBe(false);
    expect(localOwnerLiveness('another-host_1')).toBeUndefined();
    expect(localOwnerLiveness('garbage')).toBeUndefined();
  });
});

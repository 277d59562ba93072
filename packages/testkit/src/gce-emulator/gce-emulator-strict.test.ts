import { InstancesClient, ZoneOperationsClient } from '@google-cloud/compute';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GceEmulator, startGceEmulator } from './gce-emulator.js';
import {
  authClient,
  expectProtoShape,
  type IInstance,
  instanceResource,
  raw,
  userKey,
  v1,
  ZONE,
} from './gce-emulator-test-helpers.js';
import { resolveTimings } from './gce-emulator-timing.js';
import { GCE_INSTANCE_STATUSES } from './gce-emulator-types.js';

type Raw = Awaited<ReturnType<typeof raw>>;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until<T>(
  what: string,
  probe: () => T | Promise<T>,
  timeoutMs = 10_000,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await pause(10);
  }
}

async function insertRaw(emulator: GceEmulator, name: string, extra: IInstance = {}): Promise<Raw> {
  return raw(emulator, `/zones/${ZONE}/instances`, {
    method: 'POST',
    body: JSON.stringify(instanceResource(emulator, name, extra)),
  });
}

async function operationDone(emulator: GceEmulator, name: string): Promise<Record<string, unknown>> {
  return until(`operation ${name}`, async () => {
    const { body } = await raw(emulator, `/zones/${ZONE}/operations/${name}`);
    return body.status === 'DONE' ? body : undefined;
  });
}

function statusOf(emulator: GceEmulator, name: string): string | undefined {
  return emulator.instances().find((i) => i.name === name)?.status;
}

describe('GCE emulator: strict by default', { timeout: 30_000 }, () => {
  it('has every Instance.Status of compute.proto, and nothing else', () => {
    const proto = Object.keys(v1.Instance.Status).filter(
      (key) => Number.isNaN(Number(key)) && key !== 'UNDEFINED_STATUS',
    );
    expect([...GCE_INSTANCE_STATUSES].sort()).toEqual(proto.sort());
  });

  it('defaults to Google’s documented delays times timeFactor 0.01', () => {
    const realistic = resolveTimings('realistic', 0.01);
    expect(realistic).toMatchObject({
      provisioningMs: [20, 100],
      stagingMs: [30, 200],
      sshdUpMs: [100, 400],
      operationWaitMs: 1200,
      runDurationSecondMs: 1000,
    });
    // Insert operations take 5-30 Google seconds.
    expect(realistic.provisioningMs[0] + realistic.stagingMs[0]).toBe(50);
    expect(realistic.provisioningMs[1] + realistic.stagingMs[1]).toBe(300);
    expect(resolveTimings('instant', 1)).toMatchObject({ provisioningMs: [0, 0], earlyWaitChance: 0 });
  });
});

describe('GCE emulator: the realistic profile', { timeout: 30_000 }, () => {
  let emulator: GceEmulator;
  beforeAll(async () => {
    // Deletions take 600 ms here, so a poll sees STOPPING and DEPROVISIONING on a loaded machine.
    emulator = await startGceEmulator({
      guest: 'none',
      timeFactor: 0.01,
      timings: { earlyWaitChance: 0, stoppingMs: 600 },
    });
  });
  afterAll(async () => emulator?.stop());

  it('refuses to delete an instance whose insert still runs (400 resourceNotReady), then deletes it through STOPPING and DEPROVISIONING', async () => {
    // An insert still running when the delete arrives, however loaded the machine.
    emulator.faults.neverRunning({ forMs: 1_500 });
    const inserted = await insertRaw(emulator, 'notready-1');
    expect(inserted.status).toBe(200);
    expectProtoShape(v1.Operation, inserted.body);
    const refused = await raw(emulator, `/zones/${ZONE}/instances/notready-1`, { method: 'DELETE' });
    expect(refused.status).toBe(400);
    expect(refused.body).toEqual({
      error: {
        code: 400,
        message: `The resource 'projects/${emulator.projectId}/zones/${ZONE}/instances/notready-1' is not ready`,
        errors: [{ message: expect.any(String), domain: 'global', reason: 'resourceNotReady' }],
        status: 'INVALID_ARGUMENT',
      },
    });
    const insertDone = await operationDone(emulator, String(inserted.body.name));
    expect(insertDone.error).toBeUndefined();
    // The insert took at least its 1.5 s in STAGING plus the profile's shortest 5 Google seconds.
    expect(
      Date.parse(String(insertDone.endTime)) - Date.parse(String(insertDone.insertTime)),
    ).toBeGreaterThanOrEqual(1_540);
    const deleted = await raw(emulator, `/zones/${ZONE}/instances/notready-1`, { method: 'DELETE' });
    expect(deleted.status).toBe(200);
    const again = await raw(emulator, `/zones/${ZONE}/instances/notready-1`, { method: 'DELETE' });
    expect(again.body).toMatchObject({ error: { errors: [{ reason: 'resourceNotReady' }] } });
    const seen = new Set<string>();
    while (statusOf(emulator, 'notready-1')) {
      seen.add(statusOf(emulator, 'notready-1')!);
      await pause(5);
    }
    expect([...seen]).toEqual(['STOPPING', 'DEPROVISIONING']);
    await operationDone(emulator, String(deleted.body.name));
    expect((await raw(emulator, `/zones/${ZONE}/instances/notready-1`)).status).toBe(404);
  });

  it('queues an insert in PENDING before PROVISIONING when asked', async () => {
    // Each state lasts 300 ms here, so a 10 ms poll sees every one even on a loaded machine.
    const slow = await startGceEmulator({
      guest: 'none',
      timings: { provisioningMs: 300, stagingMs: 300, earlyWaitChance: 0 },
    });
    try {
      slow.faults.queued();
      const inserted = await insertRaw(slow, 'queued-1');
      const seen: string[] = [];
      await until('RUNNING', () => {
        const status = statusOf(slow, 'queued-1');
        if (status && seen.at(-1) !== status) seen.push(status);
        return status === 'RUNNING';
      });
      expect(seen).toEqual(['PENDING', 'PROVISIONING', 'STAGING', 'RUNNING']);
      expect(slow.instances()[0]?.statusHistory).toEqual(seen);
      await operationDone(slow, String(inserted.body.name));
    } finally {
      await slow.stop();
    }
  });

  it('suspends (SUSPENDING, SUSPENDED) and repairs (REPAIRING, then TERMINATED without automaticRestart)', async () => {
    for (const name of ['host-1', 'host-2'])
      await operationDone(emulator, String((await insertRaw(emulator, name)).body.name));
    const suspending = emulator.hostEvent('host-1', 'suspend');
    expect(statusOf(emulator, 'host-1')).toBe('SUSPENDING');
    await suspending;
    const suspended = await raw(emulator, `/zones/${ZONE}/instances/host-1`);
    expect(suspended.body.status).toBe('SUSPENDED');
    expectProtoShape(v1.Instance, suspended.body);
    const repairing = emulator.hostEvent('host-2', 'repair');
    expect(statusOf(emulator, 'host-2')).toBe('REPAIRING');
    await repairing;
    expect(statusOf(emulator, 'host-2')).toBe('TERMINATED');
    for (const name of ['host-1', 'host-2'])
      await raw(emulator, `/zones/${ZONE}/instances/${name}`, { method: 'DELETE' });
    await until('host instances gone', () => !statusOf(emulator, 'host-1') && !statusOf(emulator, 'host-2'));
  });

  it('deletes a Spot VM with instanceTerminationAction DELETE on preemption, lists the preemption late; STOP leaves it TERMINATED', async () => {
    const spot = (action: 'DELETE' | 'STOP'): IInstance => ({
      scheduling: {
        provisioningModel: 'SPOT',
        instanceTerminationAction: action,
        automaticRestart: false,
        onHostMaintenance: 'TERMINATE',
      },
    });
    const late = await startGceEmulator({
      guest: 'none',
      profile: 'instant',
      timings: { preemptedListingMs: 400 },
    });
    try {
      for (const [name, action] of [
        ['spot-delete', 'DELETE'],
        ['spot-stop', 'STOP'],
      ] as const) {
        const inserted = await insertRaw(late, name, spot(action));
        await operationDone(late, String(inserted.body.name));
      }
      const ids = Object.fromEntries(late.instances().map((i) => [i.name, i.id]));
      await late.preempt('spot-delete');
      await late.preempt('spot-stop');
      expect((await raw(late, `/zones/${ZONE}/instances/spot-delete`)).status).toBe(404);
      expect((await raw(late, `/zones/${ZONE}/instances/spot-stop`)).body.status).toBe('TERMINATED');
      const listed = async (id: string) =>
        (
          (await raw(late, `/zones/${ZONE}/operations?filter=${encodeURIComponent(`targetId = "${id}"`)}`))
            .body.items as { operationType: string }[] | undefined
        )?.map((op) => op.operationType) ?? [];
      // Right after the preemption its operation is not listed yet; a moment later it is.
      expect(await listed(ids['spot-delete']!)).toEqual(['insert']);
      await until('the preemption listed', async () => (await listed(ids['spot-delete']!)).length === 2);
      expect(await listed(ids['spot-delete']!)).toEqual(['insert', 'compute.instances.preempted']);
      const list = await raw(late, `/zones/${ZONE}/operations`);
      expectProtoShape(v1.OperationList, list.body);
      await expect(
        startGceEmulator({ guest: 'none', profile: 'instant' }).then(async (other) => {
          try {
            await operationDone(other, String((await insertRaw(other, 'std-1')).body.name));
            await other.preempt('std-1');
          } finally {
            await other.stop();
          }
        }),
      ).rejects.toThrow(/neither preemptible nor Spot/);
    } finally {
      await late.stop();
    }
  });

  it('answers operations.wait early, before DONE, by earlyWaitChance', async () => {
    const early = await startGceEmulator({
      guest: 'none',
      // Answered only when DONE or after operationWaitMs, the wait would take 20 s: far above the bound.
      timings: { earlyWaitChance: 1, provisioningMs: 60_000, operationWaitMs: 20_000 },
    });
    try {
      const inserted = await insertRaw(early, 'early-1');
      const started = Date.now();
      const waited = await raw(early, `/zones/${ZONE}/operations/${String(inserted.body.name)}/wait`, {
        method: 'POST',
      });
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(waited.body.status).not.toBe('DONE');
      expectProtoShape(v1.Operation, waited.body);
    } finally {
      await early.stop();
    }
  });
});

describe('GCE emulator: errors as Google sends them', { timeout: 30_000 }, () => {
  let emulator: GceEmulator;
  beforeAll(async () => {
    emulator = await startGceEmulator({ guest: 'none', profile: 'instant' });
  });
  afterAll(async () => emulator?.stop());

  it('throttles with 403 rateLimitExceeded / userRateLimitExceeded and 429, and refuses with 403 quotaExceeded', async () => {
    emulator.faults.rateLimit({ method: 'zones.get' });
    emulator.faults.rateLimit({ method: 'zones.get', reason: 'userRateLimitExceeded' });
    emulator.faults.tooManyRequests({ method: 'zones.get' });
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await raw(emulator, `/zones/${ZONE}`));
    expect(answers.map((a) => [a.status, (a.body.error as { status: string }).status])).toEqual([
      [403, 'PERMISSION_DENIED'],
      [403, 'PERMISSION_DENIED'],
      [429, 'RESOURCE_EXHAUSTED'],
    ]);
    expect(answers.map((a) => (a.body.error as { errors: unknown[] }).errors[0])).toEqual([
      { message: 'Rate Limit Exceeded', domain: 'usageLimits', reason: 'rateLimitExceeded' },
      { message: 'User Rate Limit Exceeded', domain: 'usageLimits', reason: 'userRateLimitExceeded' },
      {
        message: expect.stringContaining("'Queries per minute'"),
        domain: 'usageLimits',
        reason: 'rateLimitExceeded',
      },
    ]);
    emulator.faults.quotaExceeded();
    const quota = await insertRaw(emulator, 'quota-sync-1');
    expect(quota).toMatchObject({
      status: 403,
      body: { error: { code: 403, errors: [{ reason: 'quotaExceeded', domain: 'usageLimits' }] } },
    });
    expect(emulator.instances()).toEqual([]);
  });

  it('ends inserts with QUOTA_EXCEEDED (FORBIDDEN) and ZONE_RESOURCE_POOL_EXHAUSTED[_WITH_DETAILS] (SERVICE UNAVAILABLE) with errorDetails', async () => {
    emulator.faults.failInsertOperation({ leaveInstance: false });
    const quota = await operationDone(emulator, String((await insertRaw(emulator, 'q-1')).body.name));
    expectProtoShape(v1.Operation, quota);
    expect(quota).toMatchObject({
      httpErrorStatusCode: 403,
      httpErrorMessage: 'FORBIDDEN',
      error: {
        errors: [
          { code: 'QUOTA_EXCEEDED', errorDetails: [{ quotaInfo: { limitName: 'CPUS-per-project-region' } }] },
        ],
      },
    });
    emulator.faults.zoneExhausted(ZONE, { times: 1 });
    emulator.faults.zoneExhausted(ZONE, { times: 1, withDetails: true });
    const plain = await operationDone(emulator, String((await insertRaw(emulator, 'z-1')).body.name));
    const detailed = await operationDone(emulator, String((await insertRaw(emulator, 'z-2')).body.name));
    for (const op of [plain, detailed]) {
      expectProtoShape(v1.Operation, op);
      expect(op).toMatchObject({ httpErrorStatusCode: 503, httpErrorMessage: 'SERVICE UNAVAILABLE' });
    }
    expect(plain).toMatchObject({ error: { errors: [{ code: 'ZONE_RESOURCE_POOL_EXHAUSTED' }] } });
    expect(detailed).toMatchObject({
      error: {
        errors: [
          {
            code: 'ZONE_RESOURCE_POOL_EXHAUSTED_WITH_DETAILS',
            errorDetails: [
              { errorInfo: { reason: 'RESOURCE_AVAILABILITY' } },
              { help: { links: [expect.any(Object)] } },
            ],
          },
        ],
      },
    });
    expect(emulator.instances()).toEqual([]);
  });

  it.each<[string, IInstance, RegExp]>([
    [
      'an L4 on an N1 machine',
      {
        guestAccelerators: [
          { acceleratorType: `zones/${ZONE}/acceleratorTypes/nvidia-l4`, acceleratorCount: 1 },
        ],
      },
      /guestAccelerators\[0\]\.acceleratorType.*needs a G2 machine/,
    ],
    [
      '3 T4s',
      {
        guestAccelerators: [
          { acceleratorType: `zones/${ZONE}/acceleratorTypes/nvidia-tesla-t4`, acceleratorCount: 3 },
        ],
      },
      /acceleratorCount': '3'.*takes 1, 2, 4/,
    ],
    [
      'an accelerator of another zone',
      {
        guestAccelerators: [
          { acceleratorType: 'zones/us-east1-b/acceleratorTypes/nvidia-tesla-t4', acceleratorCount: 1 },
        ],
      },
      /does not exist in zone/,
    ],
    [
      'a metadata key with a dot',
      { metadata: { items: [{ key: 'bad.key', value: 'x' }] } },
      /metadata\.items\[0\]\.key/,
    ],
    [
      'a metadata value over 256 KiB',
      { metadata: { items: [{ key: 'big', value: 'x'.repeat(256 * 1024 + 1) }] } },
      /limited to 262144 bytes/,
    ],
    [
      'metadata over 512 KiB in all',
      { metadata: { items: [0, 1, 2].map((i) => ({ key: `k${i}`, value: 'x'.repeat(200 * 1024) })) } },
      /total size/,
    ],
    [
      '65 labels',
      { labels: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`l${i}`, 'v'])) },
      /At most 64 labels/,
    ],
    ['an upper-case label', { labels: { Owner: 'x' } }, /resource\.labels/],
    ['a 64-character label value', { labels: { owner: 'x'.repeat(64) } }, /resource\.labels/],
    ['a network tag with an underscore', { tags: { items: ['no_ip'] } }, /tags\.items\[0\]/],
    [
      'a subnetwork of another region',
      {
        networkInterfaces: [
          { network: 'global/networks/default', subnetwork: 'regions/us-east1/subnetworks/default' },
        ],
      },
      /same region/,
    ],
    [
      'an unknown disk type',
      {
        disks: [
          {
            boot: true,
            autoDelete: true,
            initializeParams: {
              sourceImage: 'projects/workerkit-emulator/global/images/family/travis-ci-ubuntu-2204',
              diskType: `zones/${ZONE}/diskTypes/pd-turbo`,
            },
          },
        ],
      },
      /Disk type 'pd-turbo'/,
    ],
    [
      'a machine type of another zone',
      { machineType: 'zones/us-east1-b/machineTypes/n1-standard-2' },
      /does not exist in zone/,
    ],
  ])('refuses %s with 400 naming the field', async (_what, extra, message) => {
    const answer = await insertRaw(emulator, 'invalid-1', {
      ...extra,
      ...(extra.guestAccelerators
        ? { scheduling: { onHostMaintenance: 'TERMINATE', automaticRestart: false } }
        : {}),
    });
    expect(answer.status).toBe(400);
    expect((answer.body.error as { message: string }).message).toMatch(message);
    expect(emulator.instances()).toEqual([]);
  });

  it('takes accelerators on the machines made for them', async () => {
    for (const [name, machineType, acceleratorType, acceleratorCount] of [
      ['gpu-n1', 'n1-standard-4', 'nvidia-tesla-t4', 4],
      ['gpu-g2', 'g2-standard-24', 'nvidia-l4', 2],
    ] as const) {
      const answer = await insertRaw(emulator, name, {
        machineType: `zones/${ZONE}/machineTypes/${machineType}`,
        guestAccelerators: [
          { acceleratorType: `zones/${ZONE}/acceleratorTypes/${acceleratorType}`, acceleratorCount },
        ],
        scheduling: { onHostMaintenance: 'TERMINATE', automaticRestart: false },
      });
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      await operationDone(emulator, String(answer.body.name));
      await raw(emulator, `/zones/${ZONE}/instances/${name}`, { method: 'DELETE' });
    }
    await until('GPU instances gone', () => emulator.instances().length === 0);
  });
});

describe('GCE emulator: the guest runs its startup script', { timeout: 30_000 }, () => {
  let emulator: GceEmulator;
  let instances: InstancesClient;
  let operations: ZoneOperationsClient;
  const call = { retry: null, timeout: 15_000 };

  beforeAll(async () => {
    emulator = await startGceEmulator({ profile: 'instant', timings: { runDurationSecondMs: 1 } });
    emulator.addImage({ name: 'agentless-1', family: 'agentless', guestAgent: false, users: ['travis'] });
    const options = {
      ...emulator.endpoint,
      fallback: true,
      authClient: authClient(),
      projectId: emulator.projectId,
    };
    instances = new InstancesClient(options);
    operations = new ZoneOperationsClient(options);
  });
  afterAll(async () => {
    await instances?.close();
    await operations?.close();
    await emulator?.stop();
  });

  async function boot(name: string, extra: IInstance): Promise<void> {
    // No maxRunDuration: one emulated second lasts 1 ms here, for the guest's `at`.
    const scheduling = { automaticRestart: false, onHostMaintenance: 'MIGRATE' };
    let [op] = await operations.wait(
      {
        project: emulator.projectId,
        zone: ZONE,
        operation: String((await insertRaw(emulator, name, { scheduling, ...extra })).body.name),
      },
      call,
    );
    while (op.status !== 'DONE')
      [op] = await operations.wait({ project: emulator.projectId, zone: ZONE, operation: op.name! }, call);
  }

  async function serial(name: string, start?: number) {
    const [output] = await instances.getSerialPortOutput(
      {
        project: emulator.projectId,
        zone: ZONE,
        instance: name,
        port: 1,
        ...(start === undefined ? {} : { start }),
      },
      call,
    );
    return output;
  }

  it('runs it as root at boot, in the guest, and serves its output on serial port 1', async () => {
    await boot('script-1', {
      metadata: {
        items: [
          {
            key: 'startup-script',
            value:
              '#!/bin/bash\necho "uid=$(id -u)"\necho marker > /tmp/started\ncat /tmp/started\necho oops >&2\n',
          },
        ],
      },
    });
    const output = await until('the script finished', async () => {
      const got = await serial('script-1');
      return got.contents?.includes('Finished running startup scripts.') ? got : undefined;
    });
    expect(output.contents).toMatch(/Linux version/);
    expect(output.contents).toMatch(/google_metadata_script_runner\[\d+\]: startup-script: uid=0\n/);
    expect(output.contents).toMatch(/startup-script: marker\n/);
    expect(output.contents).toMatch(/startup-script: oops\n/);
    expect(output.contents).toMatch(/startup-script exit status 0\n/);
    // The script's /tmp is the guest's, not this machine's.
    const { readFileSync, existsSync } = await import('node:fs');
    expect(existsSync('/tmp/started') && readFileSync('/tmp/started', 'utf8') === 'marker\n').toBe(false);
    const [rawOutput] = [(await raw(emulator, `/zones/${ZONE}/instances/script-1/serialPort?port=1`)).body];
    expectProtoShape(v1.SerialPortOutput, rawOutput);
    // Paging: from `next` on there is nothing new yet; an earlier start gives the tail.
    const next = Number(output.next);
    expect((await serial('script-1', next)).contents).toBe('');
    expect((await serial('script-1', next - 9)).contents).toBe(output.contents!.slice(-9));
    await instances.delete({ project: emulator.projectId, zone: ZONE, instance: 'script-1' }, call);
  });

  it('powers the instance off when the script schedules `poweroff` with at (the AUTO_IMPLODE guard)', async () => {
    await boot('implode-1', {
      metadata: { items: [{ key: 'startup-script', value: 'echo poweroff | at now + 1 minutes\n' }] },
    });
    // One emulated minute lasts 60 ms here.
    await until('TERMINATED', () => statusOf(emulator, 'implode-1') === 'TERMINATED');
    expect((await serial('implode-1')).contents).toContain('reboot: Power down');
    await instances.delete({ project: emulator.projectId, zone: ZONE, instance: 'implode-1' }, call);
  });

  it('boots an image without the guest agent: no guest attributes, no metadata users; the startup script can authorize a key', async () => {
    const key = await userKey();
    const metadataUser = await userKey();
    await boot('agentless-1', {
      disks: [
        {
          boot: true,
          autoDelete: true,
          initializeParams: { sourceImage: `projects/${emulator.projectId}/global/images/family/agentless` },
        },
      ],
      metadata: {
        items: [
          { key: 'enable-guest-attributes', value: 'TRUE' },
          { key: 'ssh-keys', value: `builder:${metadataUser.publicKey}` },
          {
            key: 'startup-script',
            value: [
              'home="$(getent passwd travis | cut -d: -f6)"',
              'mkdir -p "$home/.ssh"',
              `echo '${key.publicKey}' >> "$home/.ssh/authorized_keys"`,
              'echo BEGIN-HOST-KEYS; cat /etc/ssh/ssh_host_*_key.pub; echo END-HOST-KEYS',
              '',
            ].join('\n'),
          },
        ],
      },
    });
    const output = await until('host keys on the console', async () => {
      const got = (await serial('agentless-1')).contents ?? '';
      return got.includes('END-HOST-KEYS') ? got : undefined;
    });
    const printed = /startup-script: (ssh-ed25519 \S+)/.exec(output)?.[1];
    expect(printed).toBeDefined();
    const attributes = await raw(
      emulator,
      `/zones/${ZONE}/instances/agentless-1/getGuestAttributes?queryPath=hostkeys%2F`,
    );
    expect(attributes.status).toBe(404);
    const address = emulator.instances().find((i) => i.name === 'agentless-1')!.address;
    const login = (username: string, privateKey: string) =>
      new Promise<string>((resolve) => {
        const client = new ssh2.Client();
        client
          .on('ready', () => {
            client.end();
            resolve('ok');
          })
          .on('error', (error) => resolve(error.message))
          .connect({
            host: address,
            port: emulator.sshPort,
            username,
            privateKey,
            hostVerifier: (blob: Buffer) => `ssh-ed25519 ${blob.toString('base64')}` === printed,
          });
      });
    expect(await login('travis', key.privateKey)).toBe('ok');
    expect(await login('builder', metadataUser.privateKey)).not.toBe('ok');
    await instances.delete({ project: emulator.projectId, zone: ZONE, instance: 'agentless-1' }, call);
    await until('all gone', () => emulator.instances().length === 0);
  });
});

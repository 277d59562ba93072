import {
  GlobalOperationsClient,
  ImagesClient,
  InstancesClient,
  MachineTypesClient,
  ZoneOperationsClient,
  ZonesClient,
} from '@google-cloud/compute';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canConnect } from '../sshd/free-port.js';
import { type GceEmulator, startGceEmulator } from './gce-emulator.js';
import {
  authClient,
  expectProtoShape,
  type IInstance,
  type IOperation,
  instanceResource,
  raw,
  userKey,
  v1,
  ZONE,
} from './gce-emulator-test-helpers.js';

describe('GCE emulator with the unmodified @google-cloud/compute client', { timeout: 30_000 }, () => {
  let emulator: GceEmulator;
  let clients: {
    instances: InstancesClient;
    zoneOperations: ZoneOperationsClient;
    globalOperations: GlobalOperationsClient;
    images: ImagesClient;
    zones: ZonesClient;
    machineTypes: MachineTypesClient;
  };
  const call = { retry: null, timeout: 15_000 };

  beforeAll(async () => {
    emulator = await startGceEmulator({
      // Long enough for a poll every 10 ms to see each state even on a loaded 2-core machine.
      timings: {
        provisioningMs: 150,
        stagingMs: 150,
        sshdUpMs: [50, 100],
        stoppingMs: 20,
        earlyWaitChance: 0,
        preemptedListingMs: 0,
      },
      operationWaitMs: 2_000,
    });
    const options = {
      ...emulator.endpoint,
      fallback: true,
      authClient: authClient(),
      projectId: emulator.projectId,
    };
    clients = {
      instances: new InstancesClient(options),
      zoneOperations: new ZoneOperationsClient(options),
      globalOperations: new GlobalOperationsClient(options),
      images: new ImagesClient(options),
      zones: new ZonesClient(options),
      machineTypes: new MachineTypesClient(options),
    };
  });

  afterAll(async () => {
    await Promise.all(Object.values(clients ?? {}).map((client) => client.close()));
    await emulator?.stop();
  });

  async function insert(name: string, extra: IInstance = {}): Promise<IOperation> {
    const [lro] = await clients.instances.insert(
      { project: emulator.projectId, zone: ZONE, instanceResource: instanceResource(emulator, name, extra) },
      call,
    );
    return lro.latestResponse as IOperation;
  }

  async function waitDone(operation: IOperation, zone = ZONE): Promise<IOperation> {
    let current = operation;
    while (current.status !== 'DONE') {
      [current] = await clients.zoneOperations.wait(
        { project: emulator.projectId, zone, operation: current.name! },
        call,
      );
    }
    return current;
  }

  /** The host keys the guest agent published, once it has (RUNNING comes before sshd answers). */
  async function hostKeyAttributes(name: string) {
    for (let i = 0; i < 300; i++) {
      const answer = await clients.instances
        .getGuestAttributes(
          { project: emulator.projectId, zone: ZONE, instance: name, queryPath: 'hostkeys/' },
          call,
        )
        .then(([attributes]) => attributes)
        .catch(() => undefined);
      if (answer) return answer;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error(`${name}: no host keys published within 3 s`);
  }

  async function sshUp(address: string): Promise<boolean> {
    for (let i = 0; i < 300; i++) {
      if (await canConnect(address, emulator.sshPort)) return true;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return false;
  }

  async function remove(name: string): Promise<void> {
    const [lro] = await clients.instances.delete(
      { project: emulator.projectId, zone: ZONE, instance: name },
      call,
    );
    await waitDone(lro.latestResponse as IOperation);
  }

  it('boots an instance PROVISIONING → STAGING → RUNNING with a real sshd for the ssh-keys user', async () => {
    const key = await userKey();
    // The client builds each method's stub on its first call: do that before the clock starts.
    await clients.instances
      .get({ project: emulator.projectId, zone: ZONE, instance: 'not-there' }, call)
      .catch(() => {});
    const operation = await insert('boot-1', {
      metadata: {
        items: [
          { key: 'ssh-keys', value: `builder:${key.publicKey}` },
          { key: 'enable-guest-attributes', value: 'TRUE' },
        ],
      },
    });
    expect(operation).toMatchObject({
      operationType: 'insert',
      targetLink: expect.stringContaining('/instances/boot-1'),
    });
    const seen = new Set<string>();
    for (let i = 0; i < 100 && !seen.has('RUNNING'); i++) {
      const [instance] = await clients.instances.get(
        { project: emulator.projectId, zone: ZONE, instance: 'boot-1' },
        call,
      );
      seen.add(String(instance.status));
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    // The emulator went through every step; a client polling on a loaded machine may miss one.
    expect(emulator.instances().find((i) => i.name === 'boot-1')?.statusHistory).toEqual([
      'PROVISIONING',
      'STAGING',
      'RUNNING',
    ]);
    expect(['PROVISIONING', 'STAGING', 'RUNNING'].filter((status) => seen.has(status))).toEqual([...seen]);
    expect(seen.has('RUNNING')).toBe(true);
    const done = await waitDone(operation);
    expect(done).toMatchObject({ status: 'DONE', progress: 100 });
    expect(typeof done.id).toBe('string');

    const [instance] = await clients.instances.get(
      { project: emulator.projectId, zone: ZONE, instance: 'boot-1' },
      call,
    );
    const address = instance.networkInterfaces?.[0]?.accessConfigs?.[0]?.natIP;
    expect(address).toMatch(/^127\.\d+\.\d+\.\d+$/);
    expect(instance.networkInterfaces?.[0]?.networkIP).toBe(address);
    expect(instance.disks?.[0]?.diskSizeGb).toBe('20');
    expect(instance.scheduling?.maxRunDuration?.seconds).toBe('3600');

    const attributes = await hostKeyAttributes('boot-1');
    const hostKey = attributes.queryValue?.items?.find((item) => item.key === 'ssh-ed25519');
    expect(hostKey?.namespace).toBe('hostkeys');

    // The published host key is the one sshd presents, and the metadata user logs in with its key.
    const output = await new Promise<string>((resolve, reject) => {
      const client = new ssh2.Client();
      let presented = '';
      client
        .on('ready', () => {
          client.exec('echo "$USER:$HOME" && ls -A ~ | wc -l', (error, stream) => {
            if (error) return reject(error);
            let text = '';
            stream.on('data', (chunk: Buffer) => {
              text += chunk.toString();
            });
            stream.on('close', () => {
              client.end();
              resolve(`${presented} ${text.trim()}`);
            });
          });
        })
        .on('error', reject)
        .connect({
          host: address!,
          port: emulator.sshPort,
          username: 'builder',
          privateKey: key.privateKey,
          hostVerifier: (blob: Buffer) => {
            presented = blob.toString('base64');
            return true;
          },
        });
    });
    const [presented, userAndHome, files] = output.split(/[ \n]/);
    expect(presented).toBe(hostKey?.value);
    expect(userAndHome).toMatch(/^builder:\/.+\/home$/);
    expect(files).toBe('0');

    await remove('boot-1');
    expect(await canConnect(address!, emulator.sshPort)).toBe(false);
    expect(emulator.instances().find((i) => i.name === 'boot-1')).toBeUndefined();
  });

  it('answers in the shapes of the client’s message types', async () => {
    const operation = await insert('shape-1', {
      guestAccelerators: [
        { acceleratorType: `zones/${ZONE}/acceleratorTypes/nvidia-tesla-t4`, acceleratorCount: 1 },
      ],
      scheduling: { onHostMaintenance: 'TERMINATE', automaticRestart: false },
    });
    expectProtoShape(v1.Operation, (await raw(emulator, `/zones/${ZONE}/operations/${operation.name}`)).body);
    await waitDone(operation);
    const instance = await raw(emulator, `/zones/${ZONE}/instances/shape-1`);
    expect(instance.status).toBe(200);
    expectProtoShape(v1.Instance, instance.body);
    expectProtoShape(v1.InstanceList, (await raw(emulator, `/zones/${ZONE}/instances`)).body);
    expectProtoShape(v1.InstanceAggregatedList, (await raw(emulator, '/aggregated/instances')).body);
    expectProtoShape(v1.OperationList, (await raw(emulator, `/zones/${ZONE}/operations`)).body);
    expectProtoShape(v1.OperationAggregatedList, (await raw(emulator, '/aggregated/operations')).body);
    expectProtoShape(v1.OperationList, (await raw(emulator, '/global/operations')).body);
    expectProtoShape(v1.ImageList, (await raw(emulator, '/global/images')).body);
    expectProtoShape(v1.Image, (await raw(emulator, '/global/images/family/travis-ci-ubuntu-2204')).body);
    expectProtoShape(v1.Zone, (await raw(emulator, `/zones/${ZONE}`)).body);
    expectProtoShape(v1.ZoneList, (await raw(emulator, '/zones')).body);
    expectProtoShape(v1.MachineType, (await raw(emulator, `/zones/${ZONE}/machineTypes/n1-standard-2`)).body);
    expectProtoShape(v1.Network, (await raw(emulator, '/global/networks/default')).body);
    expectProtoShape(v1.Subnetwork, (await raw(emulator, '/regions/us-central1/subnetworks/default')).body);
    const notFound = await raw(emulator, `/zones/${ZONE}/instances/nope`);
    expect(notFound.status).toBe(404);
    expect(notFound.body).toEqual({
      error: {
        code: 404,
        message: `The resource 'projects/${emulator.projectId}/zones/${ZONE}/instances/nope' was not found`,
        errors: [{ message: expect.any(String), domain: 'global', reason: 'notFound' }],
        status: 'NOT_FOUND',
      },
    });
    await remove('shape-1');
  });

  it('lists with label filters, legacy regex filters and pagination', async () => {
    await waitDone(await insert('list-a'));
    await waitDone(await insert('list-b', { labels: { workerkit: 'true', 'workerkit-job': '8' } }));
    await waitDone(await insert('list-c', { labels: { other: 'x' } }));
    const [byLabel] = await clients.instances.list(
      { project: emulator.projectId, zone: ZONE, filter: 'labels.workerkit = "true"' },
      { ...call, autoPaginate: false },
    );
    expect(byLabel.map((i) => i.name).sort()).toEqual(['list-a', 'list-b']);
    const [both] = await clients.instances.list(
      {
        project: emulator.projectId,
        zone: ZONE,
        filter: '(labels.workerkit = "true") (labels.workerkit-job = "8")',
      },
      { ...call, autoPaginate: false },
    );
    expect(both.map((i) => i.name)).toEqual(['list-b']);
    const all: string[] = [];
    for await (const instance of clients.instances.listAsync(
      { project: emulator.projectId, zone: ZONE, maxResults: 1 },
      call,
    ))
      all.push(instance.name!);
    expect(all.sort()).toEqual(['list-a', 'list-b', 'list-c']);
    const aggregated: string[] = [];
    for await (const [scope, list] of clients.instances.aggregatedListAsync(
      { project: emulator.projectId, filter: 'labels.workerkit = "true"', maxResults: 1 },
      call,
    )) {
      for (const instance of list.instances ?? []) aggregated.push(`${scope}/${instance.name}`);
    }
    expect(aggregated.sort()).toEqual([`zones/${ZONE}/list-a`, `zones/${ZONE}/list-b`]);
    const [images] = await clients.images.list(
      { project: emulator.projectId, filter: 'name eq ^travis-ci.+' },
      { ...call, autoPaginate: false },
    );
    expect(images.map((i) => i.name)).toEqual([
      'travis-ci-ubuntu-2204-1700000000',
      'travis-ci-ubuntu-2204-1710000000',
    ]);
    const [newest] = await clients.images.getFromFamily(
      { project: emulator.projectId, family: 'travis-ci-ubuntu-2204' },
      call,
    );
    expect(newest.name).toBe('travis-ci-ubuntu-2204-1710000000');
    await expect(
      clients.instances.list(
        { project: emulator.projectId, zone: ZONE, filter: 'a = 1 OR b = 2' },
        { ...call, autoPaginate: false },
      ),
    ).rejects.toMatchObject({ status: 400 });
    await Promise.all(['list-a', 'list-b', 'list-c'].map(remove));
  });

  it('validates inserts as GCE does', async () => {
    await waitDone(await insert('dup-1'));
    await expect(insert('dup-1')).rejects.toMatchObject({ status: 409 });
    await expect(insert('Bad_Name')).rejects.toMatchObject({ status: 400 });
    await expect(
      insert('mt-1', { machineType: `zones/${ZONE}/machineTypes/n9-huge-1` }),
    ).rejects.toMatchObject({ status: 400 });
    await expect(
      insert('gpu-1', { guestAccelerators: [{ acceleratorType: 'nvidia-tesla-t4', acceleratorCount: 1 }] }),
    ).rejects.toMatchObject({ status: 400 });
    await expect(insert('lbl-1', { labels: { Bad: 'x' } })).rejects.toMatchObject({ status: 400 });
    const response = await fetch(`${emulator.url}/compute/v1/projects/${emulator.projectId}/zones`);
    expect(response.status).toBe(401);
    await remove('dup-1');
  });

  it('injects HTTP faults and counts every call per method', async () => {
    emulator.calls.reset();
    emulator.faults.rateLimit({ method: 'zones.get' });
    await expect(clients.zones.get({ project: emulator.projectId, zone: ZONE }, call)).rejects.toMatchObject({
      status: 403,
      message: expect.stringContaining('rateLimitExceeded'),
    });
    emulator.faults.serverError({ method: 'zones.get', status: 503 });
    await expect(clients.zones.get({ project: emulator.projectId, zone: ZONE }, call)).rejects.toMatchObject({
      status: 503,
    });
    const [zone] = await clients.zones.get({ project: emulator.projectId, zone: ZONE }, call);
    expect(zone.status).toBe('UP');
    await clients.machineTypes.get(
      { project: emulator.projectId, zone: ZONE, machineType: 'n1-standard-2' },
      call,
    );
    expect(emulator.calls.snapshot()).toEqual({ 'machineTypes.get': 1, 'zones.get': 3 });
    expect(emulator.calls.total()).toBe(4);
    expect(emulator.faults.pending()).toEqual([]);
  });

  it('fails inserts in an exhausted zone and inserts whose operation is told to fail', async () => {
    emulator.faults.zoneExhausted(ZONE, { times: 1 });
    const exhausted = await waitDone(await insert('cap-1'));
    expect(exhausted.error?.errors?.[0]?.code).toBe('ZONE_RESOURCE_POOL_EXHAUSTED');
    expect(exhausted.httpErrorStatusCode).toBe(503);
    expect(emulator.instances().find((i) => i.name === 'cap-1')).toBeUndefined();
    emulator.faults.failInsertOperation({ code: 'QUOTA_EXCEEDED' });
    const failed = await waitDone(await insert('quota-1'));
    expect(failed.error?.errors?.[0]).toMatchObject({ code: 'QUOTA_EXCEEDED' });
    expect(emulator.instances().find((i) => i.name === 'quota-1')?.status).toBe('TERMINATED');
    await remove('quota-1');
  });

  it('brings an instance up without sshd when SSH never comes up', async () => {
    emulator.faults.sshNeverUp();
    await waitDone(
      await insert('nossh-1', { metadata: { items: [{ key: 'enable-guest-attributes', value: 'TRUE' }] } }),
    );
    const instance = emulator.instances().find((i) => i.name === 'nossh-1')!;
    expect(instance.status).toBe('RUNNING');
    const attributes = await hostKeyAttributes('nossh-1');
    expect(attributes.queryValue?.items?.length).toBe(1);
    expect(await canConnect(instance.address, emulator.sshPort)).toBe(false);
    await remove('nossh-1');
  });

  it('preempts an instance: its sshd dies, it goes TERMINATED, and a compute.instances.preempted operation appears', async () => {
    const key = await userKey();
    await waitDone(
      await insert('pre-1', {
        scheduling: { preemptible: true, automaticRestart: false, onHostMaintenance: 'TERMINATE' },
        metadata: { items: [{ key: 'ssh-keys', value: `u:${key.publicKey}` }] },
      }),
    );
    const before = emulator.instances().find((i) => i.name === 'pre-1')!;
    expect(await sshUp(before.address)).toBe(true);
    await emulator.preempt('pre-1');
    expect(await canConnect(before.address, emulator.sshPort)).toBe(false);
    const [instance] = await clients.instances.get(
      { project: emulator.projectId, zone: ZONE, instance: 'pre-1' },
      call,
    );
    expect(instance.status).toBe('TERMINATED');
    const [zoneOps] = await clients.zoneOperations.list(
      {
        project: emulator.projectId,
        zone: ZONE,
        filter: `(targetId = "${before.id}") (operationType = "compute.instances.preempted")`,
      },
      { ...call, autoPaginate: false },
    );
    expect(zoneOps).toHaveLength(1);
    expect(zoneOps[0]).toMatchObject({ status: 'DONE', user: 'system', targetId: before.id });
    const found: IOperation[] = [];
    for await (const [, list] of clients.globalOperations.aggregatedListAsync(
      { project: emulator.projectId, filter: `targetId eq ${before.id}` },
      call,
    ))
      found.push(...(list.operations ?? []));
    expect(found.map((op) => op.operationType).sort()).toEqual(['compute.instances.preempted', 'insert']);
    await remove('pre-1');
  });

  it('holds nothing after every test deleted what it made', () => {
    expect(emulator.instances()).toEqual([]);
  });
});

describe('GCE emulator: an insert that never finishes', () => {
  it('keeps an instance from RUNNING, lets operations.wait return unfinished, and refuses its delete (resourceNotReady)', async () => {
    const emulator = await startGceEmulator({
      guest: 'none',
      operationWaitMs: 2_000,
      timings: { earlyWaitChance: 0 },
    });
    try {
      emulator.faults.neverRunning();
      const inserted = await raw(emulator, `/zones/${ZONE}/instances`, {
        method: 'POST',
        body: JSON.stringify(instanceResource(emulator, 'stuck-1')),
      });
      expect(inserted.status).toBe(200);
      const started = Date.now();
      const waited = await raw(emulator, `/zones/${ZONE}/operations/${String(inserted.body.name)}/wait`, {
        method: 'POST',
      });
      expect(Date.now() - started).toBeGreaterThanOrEqual(1_900);
      expect(waited.body.status).toBe('RUNNING');
      expect(emulator.instances()[0]?.status).toBe('STAGING');
      const refused = await raw(emulator, `/zones/${ZONE}/instances/stuck-1`, { method: 'DELETE' });
      expect(refused).toMatchObject({
        status: 400,
        body: { error: { code: 400, status: 'INVALID_ARGUMENT', errors: [{ reason: 'resourceNotReady' }] } },
      });
    } finally {
      await emulator.stop();
    }
  });
});

describe('GCE emulator: stop', () => {
  it('kills every guest when stopped', async () => {
    const emulator = await startGceEmulator({ profile: 'instant' });
    const response = await raw(emulator, `/zones/${ZONE}/instances`, {
      method: 'POST',
      body: JSON.stringify({
        ...instanceResource(emulator, 'stop-1'),
        metadata: { items: [{ key: 'ssh-keys', value: `u:${(await userKey()).publicKey}` }] },
      }),
    });
    expect(response.status).toBe(200);
    for (let i = 0; i < 200 && emulator.instances()[0]?.status !== 'RUNNING'; i++)
      await new Promise((resolve) => setTimeout(resolve, 10));
    const { address } = emulator.instances()[0]!;
    // sshd answers a moment after RUNNING, even on the instant profile.
    let up = false;
    for (let i = 0; i < 300 && !up; i++) {
      up = await canConnect(address, emulator.sshPort);
      if (!up) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(up).toBe(true);
    await emulator.stop();
    expect(await canConnect(address, emulator.sshPort)).toBe(false);
  });
});

describe('GCE emulator: requestId', () => {
  it('answers a repeated insert with the same requestId with the first operation', async () => {
    const emulator = await startGceEmulator({
      guest: 'none',
      profile: 'instant',
    });
    try {
      const body = JSON.stringify(instanceResource(emulator, 'req-1'));
      const first = await raw(
        emulator,
        `/zones/${ZONE}/instances?requestId=0f6a3b1e-1111-4b8e-9d0a-2c6a1f5e7a10`,
        { method: 'POST', body },
      );
      const again = await raw(
        emulator,
        `/zones/${ZONE}/instances?requestId=0f6a3b1e-1111-4b8e-9d0a-2c6a1f5e7a10`,
        { method: 'POST', body },
      );
      expect(again.status).toBe(200);
      expect(again.body.name).toBe(first.body.name);
      const other = await raw(
        emulator,
        `/zones/${ZONE}/instances?requestId=5b1f9c2e-2222-4c3d-8e4f-a1b2c3d4e5f6`,
        { method: 'POST', body },
      );
      expect(other.status).toBe(409);
      expect(emulator.instances()).toHaveLength(1);
    } finally {
      await emulator.stop();
    }
  });
});

describe('GCE emulator: scheduling.maxRunDuration', () => {
  it('deletes (DELETE) or stops (STOP) an instance once its run duration is over, guest included', async () => {
    const emulator = await startGceEmulator({
      profile: 'instant',
      timings: { runDurationSecondMs: 5 },
    });
    try {
      const boot = async (name: string, action: 'DELETE' | 'STOP') => {
        const response = await raw(emulator, `/zones/${ZONE}/instances`, {
          method: 'POST',
          body: JSON.stringify({
            ...instanceResource(emulator, name),
            scheduling: {
              automaticRestart: false,
              instanceTerminationAction: action,
              maxRunDuration: { seconds: '60' },
            },
            metadata: { items: [{ key: 'ssh-keys', value: `u:${(await userKey()).publicKey}` }] },
          }),
        });
        expect(response.status).toBe(200);
      };
      await boot('mrd-delete', 'DELETE');
      await boot('mrd-stop', 'STOP');
      for (let i = 0; i < 300 && emulator.instances().some((x) => x.status !== 'TERMINATED'); i++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      // 60 emulated seconds at 5 ms each: both are over within a second.
      expect(emulator.instances().map((x) => [x.name, x.status])).toEqual([['mrd-stop', 'TERMINATED']]);
      expect(await canConnect(emulator.instances()[0]!.address, emulator.sshPort)).toBe(false);
    } finally {
      await emulator.stop();
    }
  });
});

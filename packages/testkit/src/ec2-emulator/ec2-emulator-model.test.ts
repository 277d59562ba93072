import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  CreateKeyPairCommand,
  CreateTagsCommand,
  DeleteKeyPairCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeInstanceTypesCommand,
  DescribeKeyPairsCommand,
  EC2Client,
  GetConsoleOutputCommand,
  ImportKeyPairCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyMaterial } from './ec2-key-material.js';
import { modelViolations } from './ec2-model-check.js';
import { EC2_ACTIONS, type Ec2Emulator, startEc2Emulator } from './index.js';

/** Every answer the emulator sent through the proxy: the action asked and the XML body. */
const answers: { action: string; status: number; xml: string }[] = [];
let emulator: Ec2Emulator;
let proxy: http.Server;
let ec2: EC2Client;

beforeAll(async () => {
  emulator = await startEc2Emulator({ profile: 'instant' });
  const target = new URL(emulator.endpoint);
  proxy = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      const action = new URLSearchParams(body.toString()).get('Action') ?? '';
      const forward = http.request(
        {
          host: target.hostname,
          port: target.port,
          method: request.method,
          path: request.url,
          headers: request.headers,
        },
        (upstream) => {
          const parts: Buffer[] = [];
          upstream.on('data', (chunk: Buffer) => parts.push(chunk));
          upstream.on('end', () => {
            const xml = Buffer.concat(parts).toString('utf8');
            answers.push({ action, status: upstream.statusCode ?? 0, xml });
            response.writeHead(upstream.statusCode ?? 500, upstream.headers);
            response.end(xml);
          });
        },
      );
      forward.end(body);
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  ec2 = new EC2Client({
    region: emulator.region,
    endpoint: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    credentials: emulator.credentials,
    maxAttempts: 1,
  });
});

afterAll(async () => {
  ec2?.destroy();
  await new Promise<void>((resolve) => (proxy ? proxy.close(() => resolve()) : resolve()));
  await emulator?.stop();
});

describe('every XML answer of the EC2 emulator matches the EC2 model in @aws-sdk/client-ec2', () => {
  it('for every action, in every instance state, spot and on-demand', async () => {
    await ec2.send(
      new CreateKeyPairCommand({
        KeyName: 'model',
        KeyType: 'ed25519',
        TagSpecifications: [{ ResourceType: 'key-pair', Tags: [{ Key: 'k', Value: 'v' }] }],
      }),
    );
    await ec2.send(
      new ImportKeyPairCommand({
        KeyName: 'imported',
        PublicKeyMaterial: Buffer.from(generateKeyMaterial('ed25519', 'x').publicKey),
      }),
    );
    await ec2.send(new DescribeKeyPairsCommand({ IncludePublicKey: true }));
    await ec2.send(new DescribeImagesCommand({ Owners: ['self', 'amazon'] }));
    await ec2.send(new DescribeInstanceTypesCommand({}));
    const spot = await ec2.send(
      new RunInstancesCommand({
        ImageId: 'ami-0f1e2d3c4b5a69788',
        MinCount: 1,
        MaxCount: 1,
        InstanceType: 't3.micro',
        KeyName: 'model',
        InstanceMarketOptions: { MarketType: 'spot' },
        InstanceInitiatedShutdownBehavior: 'terminate',
        MetadataOptions: { HttpTokens: 'required' },
        IamInstanceProfile: { Name: 'builder' },
        CreditSpecification: { CpuCredits: 'unlimited' },
        BlockDeviceMappings: [
          { DeviceName: '/dev/sda1', Ebs: { VolumeSize: 20, VolumeType: 'io2', Iops: 3000 } },
        ],
        NetworkInterfaces: [
          {
            DeviceIndex: 0,
            SubnetId: 'subnet-0123abcd',
            Groups: ['sg-0123abcd'],
            AssociatePublicIpAddress: true,
          },
        ],
        TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: 'model' }] }],
        ClientToken: 'model-1',
      }),
    );
    const onDemand = await ec2.send(
      new RunInstancesCommand({
        ImageId: 'ami-0c4d5e6f708192a3b',
        MinCount: 1,
        MaxCount: 1,
        InstanceType: 'm6g.large',
        SecurityGroups: ['builds'],
      }),
    );
    const ids = [spot, onDemand].map((run) => run.Instances![0]!.InstanceId!);
    await ec2.send(new CreateTagsCommand({ Resources: ids, Tags: [{ Key: 'extra', Value: '1' }] }));
    await ec2.send(new DescribeInstancesCommand({ InstanceIds: ids }));
    await ec2.send(new GetConsoleOutputCommand({ InstanceId: ids[0]!, Latest: true }));
    await ec2.send(new GetConsoleOutputCommand({ InstanceId: ids[1]! }));
    await emulator.interruptSpot(ids[0]!, { noticeMs: 0 });
    await ec2.send(
      new DescribeInstancesCommand({
        Filters: [{ Name: 'instance-state-name', Values: ['shutting-down', 'terminated'] }],
      }),
    );
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: ids }));
    await emulator.settled();
    await ec2.send(new DescribeInstancesCommand({ MaxResults: 5 }));
    await ec2
      .send(new DescribeInstancesCommand({ InstanceIds: ['i-0000000000000000f'] }))
      .catch(() => undefined);
    await ec2.send(new DeleteKeyPairCommand({ KeyName: 'model' }));
    await ec2.send(new DeleteKeyPairCommand({ KeyName: 'imported' }));

    const ok = answers.filter((answer) => answer.status === 200);
    expect(new Set(ok.map((answer) => answer.action))).toEqual(new Set(EC2_ACTIONS));
    const violations = ok.flatMap((answer) => modelViolations(answer.action, answer.xml));
    expect(violations).toEqual([]);
    // The checker does find what the model lacks.
    expect(
      modelViolations(
        'GetConsoleOutput',
        '<GetConsoleOutputResponse><instanceId>i-1</instanceId><bogus>x</bogus></GetConsoleOutputResponse>',
      ),
    ).toEqual(['GetConsoleOutput.bogus: GetConsoleOutputResult has no member bogus']);
    expect(
      modelViolations(
        'DescribeInstances',
        '<DescribeInstancesResponse><reservationSet><item><instancesSet><item><instanceState><code>x</code><name>asleep</name></instanceState></item></instancesSet></item></reservationSet></DescribeInstancesResponse>',
      ),
    ).toEqual([
      'DescribeInstances.reservationSet.item.instancesSet.item.instanceState.code: "x" is not a number',
      expect.stringContaining('"asleep" is not a InstanceStateName'),
    ]);
  });
});

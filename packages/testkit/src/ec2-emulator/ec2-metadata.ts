import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import type { Ec2EmulatorState } from './ec2-emulator-state.js';

const PREFIX = '/instance-metadata/';

/**
 * The instance metadata service of one instance, as its guest reaches it. EC2 serves it at
 * 169.254.169.254, which a test may not reach (loopback only), so the emulator serves it under
 * its own address and tells the guest where through `AWS_EC2_METADATA_SERVICE_ENDPOINT`, the
 * variable the AWS SDKs and CLI read for exactly this.
 */
export function instanceMetadataEndpoint(ec2: Ec2EmulatorState, instanceId: string): string {
  return `${ec2.endpoint}${PREFIX}${instanceId}`;
}

/** Whether a request is for the metadata service rather than the EC2 API. */
export function isMetadataRequest(request: http.IncomingMessage): boolean {
  return (request.url ?? '').startsWith(PREFIX);
}

const tokens = new WeakMap<Ec2EmulatorState, Set<string>>();

/**
 * IMDS as EC2 serves it: `PUT /latest/api/token` gives an IMDSv2 session token; with
 * `HttpTokens: required` every GET needs it (401 without). `meta-data/spot/instance-action` is
 * 404 until a spot interruption notice, then `{"action":"terminate","time":"…"}`.
 */
export function answerMetadata(
  ec2: Ec2EmulatorState,
  request: http.IncomingMessage,
): { status: number; body: string; contentType: string } {
  const text = (status: number, body: string) => ({ status, body, contentType: 'text/plain' });
  const [instanceId = '', ...rest] = (request.url ?? '').slice(PREFIX.length).split('?')[0]!.split('/');
  const path = rest.join('/');
  const record = ec2.instances.get(instanceId);
  if (record?.data.state !== 'running') return text(404, 'Not Found');
  const issued = tokens.get(ec2) ?? new Set<string>();
  tokens.set(ec2, issued);
  if (path === 'latest/api/token') {
    if (request.method !== 'PUT') return text(405, 'Method Not Allowed');
    const ttl = Number(request.headers['x-aws-ec2-metadata-token-ttl-seconds']);
    if (!(Number.isInteger(ttl) && ttl >= 1 && ttl <= 21_600)) return text(400, 'Bad Request');
    const token = randomUUID();
    issued.add(token);
    return text(200, token);
  }
  if (request.method !== 'GET') return text(405, 'Method Not Allowed');
  const token = request.headers['x-aws-ec2-metadata-token'];
  const tokenValid = typeof token === 'string' && issued.has(token);
  if (!tokenValid && (token !== undefined || record.data.metadataHttpTokens === 'required'))
    return text(401, 'Unauthorized');
  const data = record.data;
  const values: Record<string, string | undefined> = {
    'latest/meta-data/instance-id': data.instanceId,
    'latest/meta-data/instance-type': data.instanceType,
    'latest/meta-data/ami-id': data.imageId,
    'latest/meta-data/local-ipv4': data.privateIpAddress,
    'latest/meta-data/public-ipv4': data.publicIpAddress,
    'latest/meta-data/placement/availability-zone': `${ec2.region}a`,
    'latest/meta-data/placement/region': ec2.region,
    'latest/meta-data/instance-life-cycle': data.market === 'spot' ? 'spot' : 'on-demand',
    'latest/meta-data/spot/instance-action': data.spotInstanceAction
      ? JSON.stringify(data.spotInstanceAction)
      : undefined,
    'latest/user-data': data.userData,
  };
  const value = values[path];
  return value === undefined ? text(404, 'Not Found') : text(200, value);
}

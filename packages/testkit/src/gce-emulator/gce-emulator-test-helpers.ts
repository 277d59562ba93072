import { protos } from '@google-cloud/compute';
import { OAuth2Client } from 'google-auth-library';
import { expect } from 'vitest';
import { generateSshKey } from '../sshd/sshd-host-key.js';
import type { GceEmulator } from './gce-emulator.js';

/** What the GCE emulator's tests share (not built into dist). */

export type IInstance = protos.google.cloud.compute.v1.IInstance;
export type IOperation = protos.google.cloud.compute.v1.IOperation;
export const v1 = protos.google.cloud.compute.v1;
export const ZONE = 'us-central1-a';

/**
 * What the emulator sends must be valid proto3-JSON for the client's own message types: decode
 * it with the client's generated classes and encode it back (int64 as strings, enums as names).
 * Unknown fields and wrong types do not survive the round trip.
 */
export function expectProtoShape(
  type: { fromObject(o: object): object; toObject(m: object, o: object): object },
  raw: unknown,
): void {
  const back = type.toObject(type.fromObject(raw as object), {
    longs: String,
    enums: String,
    defaults: false,
    oneofs: false,
  });
  expect(back).toEqual(raw);
}

export function authClient(): OAuth2Client {
  const client = new OAuth2Client();
  client.setCredentials({ access_token: 'test-token', expiry_date: Date.now() + 3_600_000 });
  return client;
}

/** A user's ed25519 key: `ssh-ed25519 AAAA…` for the ssh-keys metadata, the OpenSSH private key for ssh2. */
export async function userKey(): Promise<{ publicKey: string; privateKey: string }> {
  // OpenSSH's own ssh-keygen: ssh2's generator now and then makes a key its parser refuses.
  const key = await generateSshKey('ed25519', { comment: 'test' });
  return { publicKey: key.publicKey, privateKey: key.privateKey };
}

export function instanceResource(emulator: GceEmulator, name: string, extra: IInstance = {}): IInstance {
  return {
    name,
    machineType: `zones/${ZONE}/machineTypes/n1-standard-2`,
    disks: [
      {
        boot: true,
        autoDelete: true,
        initializeParams: {
          sourceImage: `projects/${emulator.projectId}/global/images/family/travis-ci-ubuntu-2204`,
          diskSizeGb: 20,
        },
      },
    ],
    networkInterfaces: [
      { network: 'global/networks/default', accessConfigs: [{ type: 'ONE_TO_ONE_NAT', name: 'nat' }] },
    ],
    labels: { workerkit: 'true', 'workerkit-job': '7' },
    scheduling: {
      automaticRestart: false,
      onHostMaintenance: 'MIGRATE',
      instanceTerminationAction: 'DELETE',
      maxRunDuration: { seconds: 3600 },
    },
    ...extra,
  };
}

export async function raw(
  emulator: GceEmulator,
  path: string,
  init: RequestInit = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${emulator.url}/compute/v1/projects/${emulator.projectId}${path}`, {
    ...init,
    headers: {
      authorization: 'Bearer test-token',
      'content-type': 'application/json',
      ...(init.headers as Record<string, string>),
    },
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

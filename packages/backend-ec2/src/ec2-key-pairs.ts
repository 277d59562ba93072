import { randomUUID } from 'node:crypto';
import { ProviderApiError } from '@workerkit/core';
import { generateKeyPair } from '@workerkit/ssh';
import type { Ec2Api } from './ec2-client.js';
import type { Ec2Context } from './ec2-context.js';
import { EC2_ALIAS } from './ec2-options.js';
import type { StartResources } from './ec2-start-cleanup.js';

/** A key pair for this instance, tagged like it, or none when KEY_NAME names an admin key. */
export async function createKeyPair(
  { api, options: config }: Ec2Context,
  hostname: string,
  tags: Record<string, string>,
  created: StartResources,
  signal?: AbortSignal,
): Promise<{ keyName: string; privateKey: string; publicKey: string }> {
  if (config.KEY_NAME) {
    const local = await generateKeyPair({ comment: hostname });
    return { keyName: config.KEY_NAME, privateKey: local.privateKey, publicKey: local.publicKey };
  }
  const keyName = `${hostname.slice(0, 200)}-${randomUUID().slice(0, 8)}`;
  const tagSpecification = [{ ResourceType: 'key-pair' as const, Tags: toTags(tags) }];
  if (config.KEY_PAIR === 'import') {
    const local = await generateKeyPair({ comment: keyName });
    signal?.throwIfAborted();
    created.keyName = keyName;
    await api.call(
      'ImportKeyPair',
      (client, options, sdk) =>
        client.send(
          new sdk.ImportKeyPairCommand({
            KeyName: keyName,
            PublicKeyMaterial: Buffer.from(local.publicKey),
            TagSpecifications: tagSpecification,
          }),
          options,
        ),
      { signal },
    );
    return { keyName, privateKey: local.privateKey, publicKey: local.publicKey };
  }
  created.keyName = keyName;
  const answer = await api.call(
    'CreateKeyPair',
    (client, options, sdk) =>
      client.send(
        new sdk.CreateKeyPairCommand({
          KeyName: keyName,
          KeyType: 'ed25519',
          TagSpecifications: tagSpecification,
        }),
        options,
      ),
    { signal },
  );
  if (!answer.KeyMaterial) {
    throw new ProviderApiError({
      provider: EC2_ALIAS,
      operation: 'CreateKeyPair',
      message: 'no key material returned',
      retryable: true,
    });
  }
  return {
    keyName,
    privateKey: answer.KeyMaterial,
    publicKey: openSshPublicKey(answer.KeyMaterial, keyName),
  };
}

/**
 * The public key line of an unencrypted OpenSSH private key (`openssh-key-v1`, what
 * CreateKeyPair returns for ed25519): the key blob stored in its header.
 */
export function openSshPublicKey(privateKey: string, comment: string): string {
  const body = Buffer.from(
    privateKey.replace(/-----(BEGIN|END) OPENSSH PRIVATE KEY-----/g, '').replace(/\s+/g, ''),
    'base64',
  );
  const magic = 'openssh-key-v1\0';
  if (body.subarray(0, magic.length).toString('latin1') !== magic) {
    throw new ProviderApiError({
      provider: EC2_ALIAS,
      operation: 'CreateKeyPair',
      message: 'the key material is not an OpenSSH private key',
      retryable: false,
    });
  }
  let offset = magic.length;
  const field = () => {
    const length = body.readUInt32BE(offset);
    const value = body.subarray(offset + 4, offset + 4 + length);
    offset += 4 + length;
    return value;
  };
  field(); // cipher
  field(); // kdf
  field(); // kdf options
  offset += 4; // key count
  const blob = field();
  const type = blob.subarray(4, 4 + blob.readUInt32BE(0)).toString('latin1');
  return `${type} ${blob.toString('base64')} ${comment}`;
}
export async function deleteKeyPair(api: Ec2Api, keyName: string, signal?: AbortSignal): Promise<void> {
  await api.call(
    'DeleteKeyPair',
    (client, options, sdk) => client.send(new sdk.DeleteKeyPairCommand({ KeyName: keyName }), options),
    { signal },
  );
}
/** EC2's tag list form. */
export function toTags(tags: Record<string, string>): { Key: string; Value: string }[] {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}

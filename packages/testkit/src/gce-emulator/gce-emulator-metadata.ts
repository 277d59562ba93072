import { notFound } from './gce-emulator-http.js';
import type { InstanceRecord, Json } from './gce-emulator-state.js';

/** `user:ssh-ed25519 AAAA… comment` lines of the `ssh-keys` metadata item. */
export function parseSshKeys(value: string): { user: string; publicKey: string }[] {
  return value
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && line.includes(':'))
    .map((line) => {
      const colon = line.indexOf(':');
      return { user: line.slice(0, colon), publicKey: line.slice(colon + 1).trim() };
    });
}

/** A `ssh-ed25519 AAAA… comment` host key line as the guest agent publishes it: the blob by type. */
export function hostKeyAttributes(publicKeyLine: string): Record<string, string> {
  const [type = 'ssh-ed25519', blob = ''] = publicKeyLine.split(' ');
  return { [type]: blob };
}

/** The guest agent writes host keys to guest attributes, when the metadata enables them. */
export function publishHostKeys(record: InstanceRecord, hostKeys: Record<string, string>): void {
  if ((record.metadata['enable-guest-attributes'] ?? '').toUpperCase() !== 'TRUE') return;
  for (const [type, blob] of Object.entries(hostKeys)) record.guestAttributes[`hostkeys/${type}`] = blob;
}

/** `instances.getGuestAttributes`: one `variableKey`, or every attribute under `queryPath`. */
export function guestAttributes(record: InstanceRecord, query: URLSearchParams): Json {
  const variableKey = query.get('variableKey');
  const queryPath = query.get('queryPath');
  if (variableKey) {
    const value = record.guestAttributes[variableKey];
    if (value === undefined) throw notFound(`guest attribute ${variableKey}`);
    return {
      kind: 'compute#guestAttributes',
      variableKey,
      variableValue: value,
      selfLink: `${record.resource.selfLink}/guestAttributes/${variableKey}`,
    };
  }
  const prefix = queryPath ?? '';
  const items = Object.entries(record.guestAttributes)
    .filter(([k]) => k.startsWith(prefix))
    .map(([k, value]) => {
      const slash = k.lastIndexOf('/');
      return { namespace: k.slice(0, slash), key: k.slice(slash + 1), value };
    });
  if (items.length === 0) throw notFound(`guest attributes ${prefix}`);
  return {
    kind: 'compute#guestAttributes',
    queryPath: prefix,
    queryValue: { items },
    selfLink: `${record.resource.selfLink}/guestAttributes/${prefix}`,
  };
}

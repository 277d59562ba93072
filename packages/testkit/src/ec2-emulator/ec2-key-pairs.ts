import { type Ec2EmulatorState, hex } from './ec2-emulator-state.js';
import type { EmulatedKeyPair } from './ec2-emulator-types.js';
import { checkFilters, Ec2ApiError } from './ec2-errors.js';
import { generateKeyMaterial, parseImportedPublicKey } from './ec2-key-material.js';
import { type Ec2QueryParams, matchesFilters, tagFilterValues } from './ec2-query.js';
import { validateTags } from './ec2-tags.js';
import { list, node, tagSet, type XmlValue } from './ec2-xml.js';

type Members = Record<string, XmlValue>;

export function createKeyPair(ec2: Ec2EmulatorState, params: Ec2QueryParams): Members {
  const keyName = newKeyName(ec2, params.get('KeyName'));
  const keyType = params.get('KeyType') ?? 'rsa';
  if (keyType !== 'rsa' && keyType !== 'ed25519')
    throw new Ec2ApiError('InvalidParameterValue', `Invalid value '${keyType}' for KeyType.`);
  const format = params.get('KeyFormat') ?? 'pem';
  if (format !== 'pem')
    throw new Ec2ApiError('Unsupported', `The emulator only returns pem key material (asked for ${format}).`);
  const tags = keyPairTags(params);
  validateTags(tags);
  const material = generateKeyMaterial(keyType, keyName);
  const pair: EmulatedKeyPair = {
    keyPairId: `key-${hex(9).slice(0, 17)}`,
    keyName,
    keyType,
    fingerprint: material.fingerprint,
    publicKey: material.publicKey,
    privateKey: material.privateKey,
    tags,
    createTime: new Date(),
    imported: false,
  };
  ec2.keyPairs.set(pair.keyPairId, pair);
  return {
    keyName,
    keyFingerprint: pair.fingerprint,
    keyMaterial: material.privateKey,
    keyPairId: pair.keyPairId,
    tagSet: tagSet(tags),
  };
}

export function importKeyPair(ec2: Ec2EmulatorState, params: Ec2QueryParams): Members {
  const keyName = newKeyName(ec2, params.get('KeyName'));
  const material = params.get('PublicKeyMaterial');
  if (!material)
    throw new Ec2ApiError('MissingParameter', 'The request must contain the parameter PublicKeyMaterial');
  const parsed = parseImportedPublicKey(material);
  if (!parsed) throw new Ec2ApiError('InvalidKey.Format', 'Key is not in valid OpenSSH public key format');
  const tags = keyPairTags(params);
  validateTags(tags);
  const pair: EmulatedKeyPair = {
    keyPairId: `key-${hex(9).slice(0, 17)}`,
    keyName,
    keyType: parsed.type,
    fingerprint: parsed.fingerprint,
    publicKey: parsed.publicKey,
    tags,
    createTime: new Date(),
    imported: true,
  };
  ec2.keyPairs.set(pair.keyPairId, pair);
  return { keyFingerprint: pair.fingerprint, keyName, keyPairId: pair.keyPairId, tagSet: tagSet(tags) };
}

export function deleteKeyPair(ec2: Ec2EmulatorState, params: Ec2QueryParams): Members {
  if (!params.has('KeyName') && !params.has('KeyPairId')) {
    throw new Ec2ApiError('MissingParameter', 'The request must contain the parameter KeyName or KeyPairId');
  }
  // EC2 answers success for a name that does not exist (deletion is idempotent).
  const pair = findKeyPair(ec2, params);
  if (pair) ec2.keyPairs.delete(pair.keyPairId);
  return { return: true, keyPairId: pair?.keyPairId };
}

export function describeKeyPairs(ec2: Ec2EmulatorState, params: Ec2QueryParams): Members {
  const names = params.list('KeyName');
  const ids = params.list('KeyPairId');
  const filters = params.filters();
  const valuesOf = (pair: EmulatedKeyPair, name: string): string[] | undefined =>
    tagFilterValues(name, pair.tags) ??
    (
      {
        'key-name': [pair.keyName],
        'key-pair-id': [pair.keyPairId],
        fingerprint: [pair.fingerprint],
        'key-type': [pair.keyType],
      } as Record<string, string[]>
    )[name];
  checkFilters(
    filters,
    (name) =>
      name.startsWith('tag:') ||
      name === 'tag-key' ||
      name === 'tag-value' ||
      ['key-name', 'key-pair-id', 'fingerprint', 'key-type'].includes(name),
  );
  for (const name of names) {
    if (!keyPairNamed(ec2, name)) {
      throw new Ec2ApiError('InvalidKeyPair.NotFound', `The key pair '${name}' does not exist`);
    }
  }
  for (const id of ids) {
    if (!ec2.keyPairs.has(id))
      throw new Ec2ApiError('InvalidKeyPair.NotFound', `The key pair '${id}' does not exist`);
  }
  const includePublicKey = params.bool('IncludePublicKey') ?? false;
  const selected = [...ec2.keyPairs.values()].filter(
    (pair) =>
      (names.length === 0 || names.includes(pair.keyName)) &&
      (ids.length === 0 || ids.includes(pair.keyPairId)) &&
      matchesFilters(filters, (name) => valuesOf(pair, name)),
  );
  return {
    keySet: list(
      selected.map((pair) =>
        node({
          keyPairId: pair.keyPairId,
          keyName: pair.keyName,
          keyFingerprint: pair.fingerprint,
          keyType: pair.keyType,
          tagSet: tagSet(pair.tags),
          publicKey: includePublicKey ? pair.publicKey : undefined,
          createTime: pair.createTime,
        }),
      ),
    ),
  };
}

/** The key pair of a name, if there is one. */
export function keyPairNamed(ec2: Ec2EmulatorState, keyName: string): EmulatedKeyPair | undefined {
  return [...ec2.keyPairs.values()].find((pair) => pair.keyName === keyName);
}

function findKeyPair(ec2: Ec2EmulatorState, params: Ec2QueryParams): EmulatedKeyPair | undefined {
  const name = params.get('KeyName');
  const id = params.get('KeyPairId');
  for (const pair of ec2.keyPairs.values()) {
    if ((name !== undefined && pair.keyName === name) || (id !== undefined && pair.keyPairId === id))
      return pair;
  }
  return undefined;
}

function keyPairTags(params: Ec2QueryParams): Record<string, string> {
  const types = params.tagSpecificationTypes();
  const bad = types.find((type) => type !== 'key-pair');
  if (bad !== undefined)
    throw new Ec2ApiError(
      'InvalidParameterValue',
      `'${bad}' is not a valid taggable resource type for this operation.`,
    );
  return params.tagSpecification('key-pair');
}

function newKeyName(ec2: Ec2EmulatorState, name: string | undefined): string {
  if (!name) throw new Ec2ApiError('MissingParameter', 'The request must contain the parameter KeyName');
  if (name.length > 255)
    throw new Ec2ApiError('InvalidParameterValue', 'KeyName is longer than 255 characters');
  if (keyPairNamed(ec2, name)) {
    throw new Ec2ApiError('InvalidKeyPair.Duplicate', `The keypair '${name}' already exists.`);
  }
  return name;
}

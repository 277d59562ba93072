import { createHash, generateKeyPairSync, type KeyObject, randomBytes } from 'node:crypto';

/** A key pair as EC2's CreateKeyPair makes one. */
export interface GeneratedKeyMaterial {
  type: 'ed25519' | 'rsa';
  /** What CreateKeyPair returns: OpenSSH format for ed25519, PKCS#1 PEM for RSA. */
  privateKey: string;
  /** `ssh-ed25519 AAAA…` / `ssh-rsa AAAA…`, for authorized_keys. */
  publicKey: string;
  /** As EC2 reports it: base64 SHA-256 of the key blob (ed25519), colon-hex SHA-1 of the PKCS#8 key (RSA). */
  fingerprint: string;
}

function sshString(data: Buffer | string): Buffer {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

function sshMpint(unsigned: Buffer): Buffer {
  let bytes = unsigned;
  while (bytes.length > 1 && bytes[0] === 0) bytes = bytes.subarray(1);
  if (bytes.length > 0 && (bytes[0]! & 0x80) !== 0) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  return sshString(bytes);
}

function fromBase64Url(text: string): Buffer {
  return Buffer.from(text, 'base64url');
}

/** The SSH wire-format public key blob of a Node public key. */
export function sshPublicKeyBlob(publicKey: KeyObject): Buffer {
  const jwk = publicKey.export({ format: 'jwk' });
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') {
    return Buffer.concat([sshString('ssh-ed25519'), sshString(fromBase64Url(jwk.x!))]);
  }
  if (jwk.kty === 'RSA') {
    return Buffer.concat([
      sshString('ssh-rsa'),
      sshMpint(fromBase64Url(jwk.e!)),
      sshMpint(fromBase64Url(jwk.n!)),
    ]);
  }
  throw new Error(`unsupported key type ${String(jwk.kty)}`);
}

function wrap(base64: string, width: number): string {
  return base64.match(new RegExp(`.{1,${width}}`, 'g'))!.join('\n');
}

/** An unencrypted `openssh-key-v1` private key for an ed25519 pair (what ssh-keygen writes). */
function opensshEd25519PrivateKey(privateKey: KeyObject, publicKey: KeyObject, comment: string): string {
  const jwk = privateKey.export({ format: 'jwk' });
  const seed = fromBase64Url(jwk.d!);
  const pub = fromBase64Url(jwk.x!);
  const blob = sshPublicKeyBlob(publicKey);
  const check = randomBytes(4);
  let section = Buffer.concat([
    check,
    check,
    sshString('ssh-ed25519'),
    sshString(pub),
    sshString(Buffer.concat([seed, pub])),
    sshString(comment),
  ]);
  const padding: number[] = [];
  for (let i = 1; (section.length + padding.length) % 8 !== 0; i++) padding.push(i);
  section = Buffer.concat([section, Buffer.from(padding)]);
  const count = Buffer.alloc(4);
  count.writeUInt32BE(1);
  const body = Buffer.concat([
    Buffer.from('openssh-key-v1\0'),
    sshString('none'),
    sshString('none'),
    sshString(''),
    count,
    sshString(blob),
    sshString(section),
  ]);
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${wrap(body.toString('base64'), 70)}\n-----END OPENSSH PRIVATE KEY-----\n`;
}

/** `SHA256:…` as OpenSSH prints it (base64 without padding). */
export function sshFingerprint(publicKeyLine: string): string {
  const blob = Buffer.from(publicKeyLine.trim().split(/\s+/)[1] ?? '', 'base64');
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** Generates a key pair the way CreateKeyPair does. */
export function generateKeyMaterial(type: 'ed25519' | 'rsa', comment: string): GeneratedKeyMaterial {
  if (type === 'ed25519') {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const blob = sshPublicKeyBlob(publicKey);
    return {
      type,
      privateKey: opensshEd25519PrivateKey(privateKey, publicKey, comment),
      publicKey: `ssh-ed25519 ${blob.toString('base64')} ${comment}`,
      fingerprint: createHash('sha256').update(blob).digest('base64'),
    };
  }
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const blob = sshPublicKeyBlob(publicKey);
  const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' });
  return {
    type,
    privateKey: privateKey.export({ format: 'pem', type: 'pkcs1' }).toString(),
    publicKey: `ssh-rsa ${blob.toString('base64')} ${comment}`,
    fingerprint: colonHex(createHash('sha1').update(pkcs8).digest()),
  };
}

function colonHex(bytes: Buffer): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/**
 * Reads ImportKeyPair's `PublicKeyMaterial` (base64 of an OpenSSH public key line). Returns
 * undefined when it is not an ssh-ed25519 or ssh-rsa key.
 */
export function parseImportedPublicKey(
  base64: string,
): { type: 'ed25519' | 'rsa'; publicKey: string; fingerprint: string } | undefined {
  const line = Buffer.from(base64, 'base64').toString('utf8').trim();
  const [kind, data] = line.split(/\s+/);
  if (!data || !/^[A-Za-z0-9+/]+={0,2}$/.test(data)) return undefined;
  const blob = Buffer.from(data, 'base64');
  const type = kind === 'ssh-ed25519' ? 'ed25519' : kind === 'ssh-rsa' ? 'rsa' : undefined;
  if (!type) return undefined;
  const nameLength = blob.length >= 4 ? blob.readUInt32BE(0) : -1;
  if (nameLength <= 0 || blob.subarray(4, 4 + nameLength).toString() !== kind) return undefined;
  if (type === 'ed25519' && blob.length !== 4 + 11 + 4 + 32) return undefined;
  const fingerprint =
    type === 'ed25519'
      ? createHash('sha256').update(blob).digest('base64')
      : colonHex(createHash('md5').update(blob).digest());
  return { type, publicKey: line, fingerprint };
}

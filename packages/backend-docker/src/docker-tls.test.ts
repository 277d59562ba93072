import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProviderApiError } from '@workerkit/core';
import { buildBusyboxImage, type DockerdHandle, ensureDockerd } from '@workerkit/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUSYBOX_IMAGE, CollectingSink } from '../test/docker-test-env.js';
import { createDockerProvider } from './index.js';

/** A CA, a server certificate for 127.0.0.1 and a client certificate, made with openssl. */
function makeCertificates(dir: string, name: string): void {
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  openssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}-ca-key.pem`);
  openssl(
    'req',
    '-x509',
    '-new',
    '-key',
    `${name}-ca-key.pem`,
    '-subj',
    `/CN=${name} test CA`,
    '-days',
    '2',
    '-out',
    `${name}-ca.pem`,
  );
  for (const [who, extensions] of [
    ['server', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n'],
    ['client', 'extendedKeyUsage=clientAuth\n'],
  ] as const) {
    openssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}-${who}-key.pem`);
    openssl(
      'req',
      '-new',
      '-key',
      `${name}-${who}-key.pem`,
      '-subj',
      `/CN=${who}`,
      '-out',
      `${name}-${who}.csr`,
    );
    writeFileSync(join(dir, `${name}-${who}.ext`), extensions);
    openssl(
      'x509',
      '-req',
      '-in',
      `${name}-${who}.csr`,
      '-CA',
      `${name}-ca.pem`,
      '-CAkey',
      `${name}-ca-key.pem`,
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      `${name}-${who}.ext`,
      '-out',
      `${name}-${who}.pem`,
    );
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A CERT_PATH directory: the given CA plus the client's certificate and key. */
function certPath(dir: string, label: string, ca: string): string {
  const path = join(dir, label);
  mkdirSync(path);
  copyFileSync(join(dir, ca), join(path, 'ca.pem'));
  copyFileSync(join(dir, 'good-client.pem'), join(path, 'cert.pem'));
  copyFileSync(join(dir, 'good-client-key.pem'), join(path, 'key.pem'));
  return path;
}

describe('docker provider over TCP with TLS (ENDPOINT, CERT_PATH, TLS_VERIFY)', () => {
  let dir: string;
  let daemon: DockerdHandle;
  let endpoint: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'workerkit-tls-'));
    makeCertificates(dir, 'good');
    makeCertificates(dir, 'other');
    const port = await freePort();
    endpoint = `tcp://127.0.0.1:${port}`;
    daemon = await ensureDockerd({
      forcePrivate: true,
      extraArgs: [
        '--tlsverify',
        '--tlscacert',
        join(dir, 'good-ca.pem'),
        '--tlscert',
        join(dir, 'good-server.pem'),
        '--tlskey',
        join(dir, 'good-server-key.pem'),
        '-H',
        endpoint,
      ],
    });
    await buildBusyboxImage(daemon, BUSYBOX_IMAGE);
  }, 120_000);

  afterAll(async () => {
    await daemon?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  const config = (extra: Record<string, string>) => ({
    ENDPOINT: endpoint,
    NATIVE: 'true',
    EXEC_CMD: 'sh /home/travis/build.sh',
    NETWORK_MODE: 'none',
    CPUS: '0',
    ...extra,
  });

  it('runs a job through a verified TLS connection', async () => {
    const provider = createDockerProvider(
      config({ CERT_PATH: certPath(dir, 'verified', 'good-ca.pem'), TLS_VERIFY: '1' }),
    );
    await provider.setup();
    const instance = await provider.start({ imageName: BUSYBOX_IMAGE, jobId: '1', repository: 'tls/job' });
    try {
      await instance.uploadScript('echo over-tls\n');
      const sink = new CollectingSink();
      expect(await instance.runScript(sink)).toMatchObject({ completed: true, exitCode: 0 });
      expect(sink.text).toBe('over-tls\n');
    } finally {
      await instance.stop();
    }
    expect(await provider.listManagedResources()).toEqual([]);
    await provider.close();
  });

  it('TLS_VERIFY rejects a daemon certificate from another CA; without it (Go default) it connects', async () => {
    const wrongCa = certPath(dir, 'wrong-ca', 'other-ca.pem');
    const verifying = createDockerProvider(config({ CERT_PATH: wrongCa, TLS_VERIFY: 'true' }));
    const error = await verifying.setup().catch((e: unknown) => e);
    await verifying.close();
    expect(ProviderApiError.isInstance(error)).toBe(true);
    expect(String(error)).toMatch(/certificate/i);
    const lenient = createDockerProvider(config({ CERT_PATH: wrongCa }));
    await lenient.setup();
    await lenient.close();
  });

  it('a TLS daemon refuses a client without certificates', async () => {
    const plain = createDockerProvider(config({}));
    const error = await plain.setup().catch((e: unknown) => e);
    await plain.close();
    expect(ProviderApiError.isInstance(error)).toBe(true);
  });
});

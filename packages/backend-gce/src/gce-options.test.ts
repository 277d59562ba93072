import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidConfigError, ProviderConfig } from '@workerkit/core';
import { describe, expect, it } from 'vitest';
import { gceOptions, parseGceOptions, UNSUPPORTED_GCE_OPTIONS } from './gce-options.js';

const base = { PROJECT_ID: 'my-project-1', ACCESS_TOKEN: 'token' };
const parse = (values: Record<string, string>) =>
  parseGceOptions(ProviderConfig.fromMap({ ...base, ...values }));

function configError(values: Record<string, string>): InvalidConfigError {
  try {
    parse(values);
  } catch (error) {
    if (InvalidConfigError.isInstance(error)) return error;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(values)} to be rejected`);
}

describe('gce options', () => {
  it('has the Go defaults, except the pre-poll sleeps (long polling needs none)', () => {
    const o = parse({});
    expect(o).toMatchObject({
      ZONES: ['us-central1-a'],
      MACHINE_TYPE: 'n1-standard-2',
      PREMIUM_MACHINE_TYPE: 'n1-standard-4',
      DISK_SIZE: 20,
      GPU_COUNT: 0,
      GPU_TYPE: 'nvidia-tesla-p100',
      NETWORK: 'default',
      PUBLIC_IP: true,
      PUBLIC_IP_CONNECT: true,
      PREEMPTIBLE: false,
      AUTO_IMPLODE: true,
      DEFAULT_LANGUAGE: 'minimal',
      IMAGE_DEFAULT: 'travis-ci.+',
      IMAGE_SELECTOR_TYPE: 'env',
      BOOT_POLL_SLEEP: 3000,
      BOOT_PRE_POLL_SLEEP: 0,
      STOP_POLL_SLEEP: 3000,
      STOP_PRE_POLL_SLEEP: 0,
      SKIP_STOP_POLL: false,
      SSH_DIAL_TIMEOUT: 5000,
      UPLOAD_RETRIES: 120,
      UPLOAD_RETRY_SLEEP: 1000,
      RATE_LIMIT_MAX_CALLS: 10,
      RATE_LIMIT_DURATION: 1000,
      BACKOFF_RETRY_MAX: 60_000,
      REGION: 'us-central1',
    });
  });

  it('takes ZONES as a list and ZONE as its deprecated single-zone name', () => {
    expect(parse({ ZONES: 'us-central1-a, us-central1-b' }).ZONES).toEqual([
      'us-central1-a',
      'us-central1-b',
    ]);
    expect(parse({ ZONE: 'europe-west1-d' }).ZONES).toEqual(['europe-west1-d']);
  });

  it.each([
    ['PROJECT_ID', 'x'],
    ['PROJECT_ID', 'Upper-Case-Project'],
    ['ZONES', 'us-central1'],
    ['ZONES', 'us-central1-a,,nowhere'],
    ['DISK_SIZE', '5'],
    ['DISK_SIZE', 'big'],
    ['GPU_COUNT', '9'],
    ['MACHINE_TYPE', 'N1_STANDARD'],
    ['SPOT', 'maybe'],
    ['BOOT_POLL_SLEEP', '0s'],
    ['BOOT_POLL_SLEEP', '3 seconds'],
    ['RATE_LIMIT_MAX_CALLS', '0'],
    ['RATE_LIMIT_DURATION', '-1s'],
    ['BACKOFF_RETRY_MAX', 'forever'],
    ['SSH_PORT', '70000'],
    ['SSH_USER', 'Root User'],
    ['IMAGE_SELECTOR_TYPE', 'docker'],
    ['API_ENDPOINT', 'not a url'],
    ['UPLOAD_RETRIES', '0'],
  ])('rejects %s=%j with an error naming the option', (key, value) => {
    const error = configError({ [key]: value });
    expect(error.option).toBe(key);
    expect(error.message).toMatch(/^gce: invalid /);
  });

  it('requires PROJECT_ID', () => {
    expect(() => parseGceOptions(ProviderConfig.fromMap({}))).toThrow(
      /gce: invalid PROJECT_ID: got no value/,
    );
  });

  it('refuses plain http to anything but loopback, and endpoints with paths', () => {
    expect(configError({ API_ENDPOINT: 'http://compute.example.com' }).message).toContain(
      'http only for a loopback address',
    );
    expect(configError({ API_ENDPOINT: 'http://127.0.0.1:8080/compute/v1' }).message).toContain('no path');
    expect(parse({ API_ENDPOINT: 'http://127.0.0.1:8080' }).API_ENDPOINT?.port).toBe('8080');
    expect(parse({ API_ENDPOINT: 'https://compute.example.com' }).API_ENDPOINT?.hostname).toBe(
      'compute.example.com',
    );
  });

  it('needs IMAGE_SELECTOR_URL for the api selector', () => {
    expect(configError({ IMAGE_SELECTOR_TYPE: 'api' }).option).toBe('IMAGE_SELECTOR_URL');
    expect(
      parse({ IMAGE_SELECTOR_TYPE: 'api', IMAGE_SELECTOR_URL: 'https://job-board.example/images' })
        .IMAGE_SELECTOR_URL?.href,
    ).toBe('https://job-board.example/images');
  });

  it('keeps ZONES inside REGION when SUBNETWORK is set', () => {
    expect(configError({ SUBNETWORK: 'builds', ZONES: 'us-central1-a,us-east1-b' }).message).toContain(
      'not us-east1-b',
    );
    expect(parse({ SUBNETWORK: 'builds', ZONES: 'us-east1-b', REGION: 'us-east1' }).SUBNETWORK).toBe(
      'builds',
    );
  });

  it('reads ACCOUNT_JSON inline or from a file, and never prints it', () => {
    const json = JSON.stringify({
      client_email: 'worker@p.iam.gserviceaccount.com',
      private_key: '-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n',
    });
    expect(parse({ ACCOUNT_JSON: json }).ACCOUNT_JSON?.clientEmail).toBe('worker@p.iam.gserviceaccount.com');
    const file = join(mkdtempSync(join(tmpdir(), 'gce-account-')), 'account.json');
    writeFileSync(file, json);
    expect(parse({ ACCOUNT_JSON: file }).ACCOUNT_JSON?.clientEmail).toBe('worker@p.iam.gserviceaccount.com');
    const secret = '{"client_email":"x","private_key_missing":"SECRET-VALUE"}';
    const error = configError({ ACCOUNT_JSON: secret });
    expect(error.option).toBe('ACCOUNT_JSON');
    expect(error.message).not.toContain('SECRET-VALUE');
    expect(error.message).toContain('hidden');
    expect(configError({ ACCOUNT_JSON: '/no/such/file.json' }).option).toBe('ACCOUNT_JSON');
  });

  it.each(Object.keys(UNSUPPORTED_GCE_OPTIONS))(
    'rejects the unsupported Go option %s with what to do instead',
    (key) => {
      const error = configError({ [key]: 'x' });
      expect(error.option).toBe(key);
      expect(error.message).toContain(UNSUPPORTED_GCE_OPTIONS[key]);
    },
  );

  it('prints a Go-style help map with every option', () => {
    const help = gceOptions.help();
    expect(help.PROJECT_ID).toBe('[REQUIRED] GCE project id');
    expect(help['ZONES / ZONE']).toContain('(default "us-central1-a")');
    expect(help.BOOT_PRE_POLL_SLEEP).toContain('(default "0s")');
    expect(Object.keys(help)).toHaveLength(Object.keys(gceOptions.specs).length);
  });
});

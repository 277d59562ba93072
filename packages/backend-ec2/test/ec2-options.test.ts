import { readFileSync } from 'node:fs';
import { getBackend, InvalidConfigError, ProviderConfig } from '@workerkit/core';
import { describe, expect, it } from 'vitest';
import { createEc2Provider, ec2Options, parseEc2Options } from '../src/index.js';

const base = { IMAGE_DEFAULT: 'ami-0f1e2d3c4b5a69788' };

function resolve(config: Record<string, string>) {
  return parseEc2Options(ProviderConfig.fromMap({ ...base, ...config }));
}

function invalid(config: Record<string, string>): InvalidConfigError {
  try {
    resolve(config);
  } catch (error) {
    expect(InvalidConfigError.isInstance(error), String(error)).toBe(true);
    return error as InvalidConfigError;
  }
  throw new Error(`expected ${JSON.stringify(config)} to be rejected`);
}

describe('ec2 options', () => {
  it('has the Go defaults, except a Nitro INSTANCE_TYPE', () => {
    const config = resolve({});
    expect(config).toMatchObject({
      REGION: 'eu-west-1',
      INSTANCE_TYPE: 't3.micro',
      DISK_SIZE: 100,
      PUBLIC_IP: true,
      PUBLIC_IP_CONNECT: true,
      EBS_OPTIMIZED: false,
      SSH_DIAL_TIMEOUT: 5000,
      UPLOAD_RETRIES: 120,
      UPLOAD_RETRY_SLEEP: 1000,
      EXEC_CMD: 'bash ~/build.sh',
      IMAGE_SELECTOR_TYPE: 'env',
      SSH_USER: 'travis',
      KEY_PAIR: 'import',
      SPOT: false,
      VM_SIZE_MAP: {
        medium: 'm6g.large',
        large: 'm6g.xlarge',
        'x-large': 'm6g.2xlarge',
        '2x-large': 'm6g.4xlarge',
      },
    });
    expect(config.SECURITY_GROUPS).toBeUndefined();
  });

  it('accepts the Go misnamed keys as aliases', () => {
    expect(resolve({ SECURITY_GROUP_IDS: 'sg-0123abcd,sg-4567ef01' }).SECURITY_GROUPS).toEqual([
      'sg-0123abcd',
      'sg-4567ef01',
    ]);
    expect(resolve({ CUSTOM_TAGS: 'team=ci,cost-center=42' }).TAGS).toEqual({
      team: 'ci',
      'cost-center': '42',
    });
    expect(resolve({ TAGS: 'a=1' }).TAGS).toEqual({ a: '1' });
  });

  it('decodes USER_DATA as URL-safe base64', () => {
    const script = '#!/bin/bash\necho ~>/dev/null?\n';
    expect(resolve({ USER_DATA: Buffer.from(script).toString('base64url') }).USER_DATA).toBe(script);
    expect(invalid({ USER_DATA: 'not base64!' }).option).toBe('USER_DATA');
  });

  it.each([
    ['TAGS', 'novalue', 'TAGS'],
    ['TAGS', '=x', 'TAGS'],
    ['TAGS', 'aws:reserved=1', 'TAGS'],
    ['CUSTOM_TAGS', 'workerkit-owner=me', 'CUSTOM_TAGS'],
    ['TAGS', 'a=1,a=2', 'TAGS'],
    ['TAGS', `${'k'.repeat(129)}=v`, 'TAGS'],
    ['REGION', 'mars-1', 'REGION'],
    ['INSTANCE_TYPE', 'huge', 'INSTANCE_TYPE'],
    ['INSTANCE_TYPE_FALLBACKS', 't3.small,,bad type', 'INSTANCE_TYPE_FALLBACKS'],
    ['VM_SIZE_MAP', 'medium', 'VM_SIZE_MAP'],
    ['SUBNET_ID', 'net-1', 'SUBNET_ID'],
    ['SECURITY_GROUP_IDS', 'sg-1|x', 'SECURITY_GROUP_IDS'],
    ['DISK_SIZE', '0', 'DISK_SIZE'],
    ['DISK_SIZE', 'big', 'DISK_SIZE'],
    ['DISK_TYPE', 'ssd', 'DISK_TYPE'],
    ['SSH_DIAL_TIMEOUT', '5 seconds', 'SSH_DIAL_TIMEOUT'],
    ['UPLOAD_RETRIES', '-1', 'UPLOAD_RETRIES'],
    ['UPLOAD_RETRY_SLEEP', '0', 'UPLOAD_RETRY_SLEEP'],
    ['SPOT', 'sometimes', 'SPOT'],
    ['CPU_CREDIT_SPECIFICATION', 'infinite', 'CPU_CREDIT_SPECIFICATION'],
    ['IAM_INSTANCE_PROFILE', 'arn:aws:iam::12:role/x y', 'IAM_INSTANCE_PROFILE'],
    ['ENDPOINT', 'ftp://127.0.0.1', 'ENDPOINT'],
    ['IMAGE_SELECTOR_TYPE', 'magic', 'IMAGE_SELECTOR_TYPE'],
    ['SSH_PORT', '70000', 'SSH_PORT'],
    ['SSH_USER', 'Bad User', 'SSH_USER'],
    ['KEY_PAIR', 'reuse', 'KEY_PAIR'],
    ['API_MAX_ATTEMPTS', '0', 'API_MAX_ATTEMPTS'],
    ['RATE_LIMIT_MAX_CALLS', '0', 'RATE_LIMIT_MAX_CALLS'],
  ])('rejects %s=%j with an error naming the option', (key, value, option) => {
    const error = invalid({ [key]: value });
    expect(error.option).toBe(option);
    expect(error.message).toContain('ec2: invalid');
    expect(error.message).toContain(JSON.stringify(value));
  });

  it('refuses root disks EC2 refuses, and IMAGE_ALIASES (not supported)', () => {
    expect(invalid({ DISK_TYPE: 'io1' }).option).toBe('DISK_IOPS');
    expect(invalid({ DISK_TYPE: 'st1' }).option).toBe('DISK_TYPE');
    expect(invalid({ DISK_TYPE: 'gp2', DISK_IOPS: '3000' }).option).toBe('DISK_IOPS');
    expect(invalid({ IMAGE_ALIASES: 'xenial' }).message).toContain('image aliases are not supported');
  });

  it('checks options that depend on each other', () => {
    expect(invalid({ AWS_ACCESS_KEY_ID: 'AKIA1' }).option).toBe('AWS_SECRET_ACCESS_KEY');
    const secretOnly = invalid({ AWS_SECRET_ACCESS_KEY: 'very-secret' });
    expect(secretOnly.option).toBe('AWS_ACCESS_KEY_ID');
    expect(secretOnly.message).not.toContain('very-secret');
    expect(invalid({ IMAGE_SELECTOR_TYPE: 'api' }).option).toBe('IMAGE_SELECTOR_URL');
    expect(invalid({ SUBNET_ID: 'subnet-0123abcd', SECURITY_GROUPS: 'default' }).option).toBe(
      'SECURITY_GROUPS',
    );
  });

  it('never prints secrets', () => {
    const error = invalid({
      AWS_ACCESS_KEY_ID: 'AKIA1',
      AWS_SECRET_ACCESS_KEY: 'x',
      AWS_SESSION_TOKEN: 'tok',
      REGION: 'nowhere',
    });
    expect(error.message).not.toContain('AKIA1');
    expect(ec2Options.help().AWS_SECRET_ACCESS_KEY).not.toContain('default');
  });

  it('fails before anything is created: no provider for a malformed TAGS value', () => {
    expect(() => createEc2Provider({ ...base, TAGS: 'oops' })).toThrow(/ec2: invalid TAGS: got "oops"/);
  });

  it('prints a Go-style help map with the aliases', () => {
    const help = ec2Options.help();
    expect(help['SECURITY_GROUPS / SECURITY_GROUP_IDS']).toBe(
      'Security groups to assign (ids, or names in the default VPC)',
    );
    expect(help.REGION).toBe('Which region to run workers in (default "eu-west-1")');
    expect(help['TAGS / CUSTOM_TAGS']).toContain('key1=value1,key2=value2');
  });

  it('registers the ec2 backend when imported', () => {
    const backend = getBackend('ec2');
    expect(backend).toMatchObject({
      alias: 'ec2',
      humanReadableName: 'EC2',
      packageName: '@workerkit/backend-ec2',
    });
    expect(backend?.providerHelp).toEqual(ec2Options.help());
  });

  it('documents every option in the README table, generated from the definition', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    expect(readme).toContain(`<!-- options:start -->\n${ec2Options.markdownTable()}\n<!-- options:end -->`);
  });
});

import { describe, expect, it } from 'vitest';
import { defineOptions } from '../config/define-options.js';
import { ProviderConfig } from '../config/provider-config.js';
import { WorkerkitError } from '../errors/workerkit-error.js';
import { fleetOptions } from './fleet-options.js';
import { loadFleetModule } from './fleet-session.js';
import { leaseOwnerId, withLeaseStates } from './owner-leases.js';
import { parseRedisUrl, redactRedisUrl } from './redis-url.js';

describe('fleet configuration', () => {
  it('parses Redis URLs with TLS, user, password and database number', () => {
    expect(parseRedisUrl('rediss://worker:p%40ss@redis.example:6380/4')).toEqual({
      tls: true,
      host: 'redis.example',
      port: 6380,
      db: 4,
      username: 'worker',
      password: 'p@ss',
    });
    expect(parseRedisUrl('redis://127.0.0.1')).toEqual({ tls: false, host: '127.0.0.1', port: 6379, db: 0 });
    for (const bad of [
      'http://h',
      'redis://',
      'redis://h:0',
      'redis://h/db1',
      'redis://h/1?tls=true',
      'not a url',
    ]) {
      expect(parseRedisUrl(bad)).toBeUndefined();
    }
    expect(redactRedisUrl('redis://:secret@h:1/2')).toBe('redis://:***@h:1/2');
  });

  it('declares the Go option names, with the URL secret in errors', () => {
    const options = defineOptions('gce', fleetOptions({ api: 'GCE API', limiterName: 'gce-api' }));
    expect(options.parse(ProviderConfig.fromMap({}))).toEqual({
      RATE_LIMIT_PREFIX: 'workerkit',
      RATE_LIMIT_DYNAMIC_CONFIG: false,
      RATE_LIMIT_DYNAMIC_CONFIG_TTL: 10_000,
      OWNER_LEASE_TTL: 120_000,
    });
    const error = (() => {
      try {
        options.parse(ProviderConfig.fromMap({ RATE_LIMIT_REDIS_URL: 'redis://:hunter2@h/x' }));
      } catch (caught) {
        return caught as Error;
      }
      throw new Error('no error');
    })();
    expect(error.message).toContain('RATE_LIMIT_REDIS_URL');
    expect(error.message).toContain('rediss://');
    expect(error.message).not.toContain('hunter2');
  });

  it('names the package to install when @workerkit/redis cannot be imported', async () => {
    const missing = Object.assign(new Error("Cannot find package '@workerkit/redis'"), {
      code: 'ERR_MODULE_NOT_FOUND',
    });
    const failure = loadFleetModule('@workerkit/backend-gce', () => Promise.reject(missing));
    await expect(failure).rejects.toThrow(WorkerkitError);
    await expect(failure).rejects.toThrow(
      'RATE_LIMIT_REDIS_URL is set but @workerkit/redis is not installed: install it next to @workerkit/backend-gce (npm install @workerkit/redis)',
    );
  });

  it('combines local liveness with lease states: local answers win, never-seen owners stay unknown', () => {
    const liveness = withLeaseStates(
      (owner) => (owner === 'here_1' ? false : undefined),
      new Map([
        ['here_1', 'live'],
        ['a_1', 'live'],
        ['b_1', 'expired'],
        ['c_1', 'unknown'],
      ] as const),
    );
    expect(['here_1', 'a_1', 'b_1', 'c_1', 'd_1'].map(liveness)).toEqual([
      false,
      true,
      false,
      undefined,
      undefined,
    ]);
    expect(leaseOwnerId('Build.Host_12')).toBe('build-host_12');
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { ProviderConfig } from './config/provider-config.js';
import { UnknownBackendError } from './errors/unknown-backend-error.js';
import type { Provider } from './provider.js';
import {
  type BackendDefinition,
  eachBackend,
  newBackendProvider,
  registerBackend,
  unregisterBackend,
} from './registry.js';

const created: { config: ProviderConfig; ownerId: string }[] = [];

function definition(alias: string, packageName = `@test/${alias}`): BackendDefinition {
  return {
    alias,
    humanReadableName: alias.toUpperCase(),
    packageName,
    providerHelp: { KEY: 'help' },
    create: (config, context) => {
      created.push({ config, ownerId: context.ownerId });
      return { alias } as Provider;
    },
  };
}

afterEach(() => {
  for (const alias of ['zeta', 'alpha', 'mid']) unregisterBackend(alias);
  created.length = 0;
});

describe('backend registry', () => {
  it('lists backends sorted by alias', () => {
    registerBackend(definition('zeta'));
    registerBackend(definition('alpha'));
    registerBackend(definition('mid'));
    const aliases: string[] = [];
    eachBackend((backend) => aliases.push(backend.alias));
    expect(aliases.filter((a) => ['zeta', 'alpha', 'mid'].includes(a))).toEqual(['alpha', 'mid', 'zeta']);
  });

  it('ignores a second registration of the same package (two copies installed)', () => {
    registerBackend(definition('alpha'));
    expect(() => registerBackend(definition('alpha'))).not.toThrow();
  });

  it('refuses a different backend under a taken alias', () => {
    registerBackend(definition('alpha'));
    expect(() => registerBackend(definition('alpha', '@someone/other'))).toThrow(
      'backend alias "alpha" is already registered by @test/alpha; @someone/other cannot take it',
    );
  });

  it('lives on globalThis so a second copy of core sees it', () => {
    registerBackend(definition('alpha'));
    const shared = (globalThis as Record<symbol, Map<string, BackendDefinition>>)[
      Symbol.for('workerkit.registry.v1')
    ];
    expect(shared?.get('alpha')?.packageName).toBe('@test/alpha');
  });

  it('creates a provider from a plain map or a ProviderConfig, with an owner id', () => {
    registerBackend(definition('alpha'));
    newBackendProvider('alpha', { endpoint: 'x' });
    newBackendProvider('alpha', ProviderConfig.fromMap({ ENDPOINT: 'y' }), { ownerId: 'worker-1' });
    expect(created.map((c) => [c.config.get('ENDPOINT'), c.ownerId])).toEqual([
      ['x', expect.stringMatching(/_\d+$/)],
      ['y', 'worker-1'],
    ]);
  });

  it('names the package to install for an unknown alias', () => {
    let error: unknown;
    try {
      newBackendProvider('nope');
    } catch (caught) {
      error = caught;
    }
    expect(UnknownBackendError.isInstance(error)).toBe(true);
    expect(String((error as Error).message)).toContain('unknown backend provider: nope');
    expect(String((error as Error).message)).toContain('@workerkit/backend-nope');
  });
});

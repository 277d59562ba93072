import { ProviderConfig } from './config/provider-config.js';
import { UnknownBackendError } from './errors/unknown-backend-error.js';
import { WorkerkitError } from './errors/workerkit-error.js';
import { defaultOwnerId } from './lifecycle/labels.js';
import { type Logger, stderrLogger } from './logger.js';
import type { Provider } from './provider.js';

/** What every provider gets besides its own options. */
export interface ProviderContext {
  /** Names the worker that owns created resources (lifecycle labels). */
  ownerId: string;
  logger: Logger;
}

export interface BackendDefinition {
  /** The short name used in config and the CLI (`docker`, `gce`). */
  alias: string;
  humanReadableName: string;
  /** The npm package that registers it; two copies of one package register once. */
  packageName?: string;
  /** Option key → help text, as the Go worker's `--help` printed it. */
  providerHelp: Readonly<Record<string, string>>;
  create(config: ProviderConfig, context: ProviderContext): Provider;
}

const REGISTRY_KEY = Symbol.for('workerkit.registry.v1');

type GlobalWithRegistry = typeof globalThis & { [REGISTRY_KEY]?: Map<string, BackendDefinition> };

/** Lives on `globalThis` so every copy of @workerkit/core sees the same backends. */
function registry(): Map<string, BackendDefinition> {
  const holder = globalThis as GlobalWithRegistry;
  holder[REGISTRY_KEY] ??= new Map();
  return holder[REGISTRY_KEY];
}

/**
 * Adds a backend. Registering the same definition again (or the same package's from a second
 * copy) does nothing; a different backend under a taken alias throws.
 */
export function registerBackend(definition: BackendDefinition): void {
  const backends = registry();
  const existing = backends.get(definition.alias);
  if (existing === undefined) {
    backends.set(definition.alias, Object.freeze({ ...definition }));
    return;
  }
  if (sameBackend(existing, definition)) return;
  throw new WorkerkitError({
    message:
      `backend alias "${definition.alias}" is already registered by ${existing.packageName ?? existing.humanReadableName}; ` +
      `${definition.packageName ?? definition.humanReadableName} cannot take it`,
  });
}

function sameBackend(a: BackendDefinition, b: BackendDefinition): boolean {
  if (a.create === b.create) return true;
  return (
    a.packageName !== undefined &&
    a.packageName === b.packageName &&
    a.humanReadableName === b.humanReadableName
  );
}

/** Calls `fn` for every registered backend, sorted by alias. */
export function eachBackend(fn: (definition: BackendDefinition) => void): void {
  for (const alias of [...registry().keys()].sort()) fn(registry().get(alias)!);
}

export function getBackend(alias: string): BackendDefinition | undefined {
  return registry().get(alias);
}

/** Creates a provider of a registered backend; an unknown alias names the package to install. */
export function newBackendProvider(
  alias: string,
  config: ProviderConfig | Readonly<Record<string, string | undefined>> = {},
  context: Partial<ProviderContext> = {},
): Provider {
  const definition = registry().get(alias);
  if (!definition) throw new UnknownBackendError({ alias, known: [...registry().keys()].sort() });
  return definition.create(toProviderConfig(config), providerContext(context));
}

/** A complete context from a partial one: this process's owner id and a stderr logger by default. */
export function providerContext(context: Partial<ProviderContext> = {}): ProviderContext {
  return { ownerId: context.ownerId ?? defaultOwnerId(), logger: context.logger ?? stderrLogger };
}

/**
 * Accepts a `ProviderConfig` (of any copy of @workerkit/core) or a plain map, for factories like
 * `createDockerProvider(config)`.
 */
export function toProviderConfig(
  config: ProviderConfig | Readonly<Record<string, string | undefined>> = {},
): ProviderConfig {
  return ProviderConfig.from(config);
}

/** Removes a backend; for tests that register throwaway ones. */
export function unregisterBackend(alias: string): boolean {
  return registry().delete(alias);
}

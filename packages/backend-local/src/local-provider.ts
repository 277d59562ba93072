import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, resolve } from 'node:path';
import {
  expiryFor,
  type Instance,
  type ManagedResource,
  type Provider,
  type ProviderConfig,
  type ProviderContext,
  providerContext,
  type SignalOptions,
  type StartAttributes,
  type StartOptions,
  toProviderConfig,
  WorkerkitError,
} from '@workerkit/core';
import { LocalInstance } from './local-instance.js';
import { type LocalOptions, parseLocalOptions } from './local-options.js';
import {
  createWorkdir,
  deleteWorkdir,
  listWorkdirs,
  removeWorkdir,
  WORKDIR_PREFIX,
} from './local-workdir.js';

/** Runs each job's script with bash in its own temp directory on this machine. */
export class LocalProvider implements Provider {
  readonly alias = 'local';
  readonly supportsProgress = false;
  readonly #options: LocalOptions;
  readonly #context: ProviderContext;
  readonly #baseDir: string;

  constructor(config: ProviderConfig, context: ProviderContext) {
    this.#options = parseLocalOptions(config);
    this.#context = context;
    this.#baseDir = resolve(this.#options.SCRIPTS_DIR ?? tmpdir());
  }

  async setup({ signal }: SignalOptions = {}): Promise<void> {
    signal?.throwIfAborted();
    await mkdir(this.#baseDir, { recursive: true });
  }

  async start(attributes: StartAttributes, { signal }: StartOptions = {}): Promise<Instance> {
    signal?.throwIfAborted();
    const started = performance.now();
    const dir = await createWorkdir(this.#baseDir, {
      ownerId: this.#context.ownerId,
      ...(attributes.jobId ? { jobId: attributes.jobId } : {}),
      expiresAt: expiryFor(attributes.hardTimeoutMs),
    });
    if (signal?.aborted) {
      await removeWorkdir(dir);
      throw signal.reason;
    }
    return new LocalInstance({
      dir,
      shell: this.#options.SHELL,
      killGraceMs: this.#options.KILL_GRACE,
      hardTimeoutMs: attributes.hardTimeoutMs,
      startupDuration: performance.now() - started,
    });
  }

  listManagedResources(): Promise<ManagedResource[]> {
    return listWorkdirs(this.#baseDir);
  }

  async deleteManagedResource(resource: ManagedResource): Promise<void> {
    const dir = resolve(resource.id);
    if (
      resource.kind !== 'directory' ||
      dirname(dir) !== this.#baseDir ||
      !basename(dir).startsWith(WORKDIR_PREFIX)
    ) {
      throw new WorkerkitError({
        message: `local: ${resource.kind} ${resource.id} is not one of this provider's directories`,
      });
    }
    await deleteWorkdir(dir);
  }

  async close(): Promise<void> {}

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** A local provider without touching the registry. */
export function createLocalProvider(
  config: ProviderConfig | Readonly<Record<string, string | undefined>> = {},
  context: Partial<ProviderContext> = {},
): LocalProvider {
  return new LocalProvider(toProviderConfig(config), providerContext(context));
}

import {
  type Instance,
  type ManagedResource,
  type Provider,
  type ProviderConfig,
  type ProviderContext,
  providerContext,
  type StartAttributes,
  type StartOptions,
  sleep,
  toProviderConfig,
  WorkerkitError,
} from '@workerkit/core';
import { FakeInstance } from './fake-instance.js';
import type { FakeCall, FakeJob } from './fake-job.js';
import { type FakeOptions, parseFakeOptions } from './fake-options.js';

/**
 * A deterministic provider: instances live in memory, runs replay scripted output. Queue
 * per-start behaviour with `enqueue`, inspect what was asked of it in `calls`.
 */
export class FakeProvider implements Provider {
  readonly alias = 'fake';
  readonly supportsProgress = true;
  /** Every call made, in order. */
  readonly calls: FakeCall[] = [];
  readonly #options: FakeOptions;
  readonly #context: ProviderContext;
  readonly #queue: FakeJob[] = [];
  readonly #live = new Map<string, ManagedResource>();
  #counter = 0;

  constructor(config: ProviderConfig, context: ProviderContext) {
    this.#options = parseFakeOptions(config);
    this.#context = context;
  }

  /** The next `start` behaves as `job` says; each start takes one, in order. */
  enqueue(...jobs: FakeJob[]): this {
    this.#queue.push(...jobs);
    return this;
  }

  async setup(): Promise<void> {
    this.calls.push({ method: 'setup' });
  }

  async start(attributes: StartAttributes, { signal, progress }: StartOptions = {}): Promise<Instance> {
    const job = this.#queue.shift() ?? {};
    const call: FakeCall & { method: 'start' } = { method: 'start', attributes };
    this.calls.push(call);
    try {
      signal?.throwIfAborted();
      if (job.startDelayMs) await sleep(job.startDelayMs, signal);
      if (job.startError) throw job.startError;
    } catch (error) {
      call.error = String(error);
      throw error;
    }
    for (const entry of job.progress ?? []) progress?.progress(entry);
    const id = `fake-${++this.#counter}`;
    call.instanceId = id;
    this.#live.set(id, {
      kind: 'instance',
      id,
      ownerId: this.#context.ownerId,
      ...(attributes.jobId ? { jobId: attributes.jobId } : {}),
    });
    progress?.progress({ message: `started fake instance ${id}`, state: 'success' });
    return new FakeInstance({
      id,
      job,
      options: this.#options,
      hardTimeoutMs: attributes.hardTimeoutMs,
      record: (entry) => this.calls.push(entry),
      onStop: () => this.#live.delete(id),
    });
  }

  async listManagedResources(): Promise<ManagedResource[]> {
    return [...this.#live.values()];
  }

  async deleteManagedResource(resource: ManagedResource): Promise<void> {
    if (!this.#live.delete(resource.id)) {
      throw new WorkerkitError({ message: `fake: no live instance ${resource.id}` });
    }
  }

  async close(): Promise<void> {
    this.calls.push({ method: 'close' });
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** A fake provider without touching the registry. */
export function createFakeProvider(
  config: ProviderConfig | Readonly<Record<string, string | undefined>> = {},
  context: Partial<ProviderContext> = {},
): FakeProvider {
  return new FakeProvider(toProviderConfig(config), providerContext(context));
}

import {
  abortable,
  createImageSelector,
  formatDuration,
  type ImageSelector,
  InvalidConfigError,
  LIFECYCLE_LABELS,
  type Logger,
  type ManagedResource,
  markStartPhase,
  nullProgresser,
  type OwnerLeaseStore,
  type Provider,
  ProviderApiError,
  type ProviderConfig,
  type ProviderContext,
  providerContext,
  readLifecycleLabels,
  type SignalOptions,
  type StartAttributes,
  type StartOptions,
  toProviderConfig,
  withDefaults,
} from '@workerkit/core';
import { generateKeyPair, type SshScriptTarget } from '@workerkit/ssh';
import { bootInZones, type GceStartResources } from './gce-boot.js';
import type { GceApi } from './gce-client.js';
import { deleteInstance } from './gce-delete.js';
import { gceErrorClass, isNotFound } from './gce-errors.js';
import type { HostKeySource } from './gce-host-keys.js';
import { GceImages } from './gce-images.js';
import { GceInstance } from './gce-instance.js';
import { buildInstance, chooseMachine, pinnedZone } from './gce-instance-spec.js';
import { type GceOptions, parseGceOptions, regionOfZone } from './gce-options.js';
import { createGceRateLimiter, type GceRateLimiter } from './gce-rate-limiter.js';
import { loadGceApi } from './gce-sdk.js';
import { connectToGuest } from './gce-ssh-connect.js';

interface ZonePlan {
  /** Configured zones (ZONES) that are UP. */
  zones: string[];
  /** Other UP zones in the same regions, tried when a configured zone is out of capacity. */
  alternates: string[];
}

/**
 * Google Compute Engine provider: each job gets its own VM with its own ed25519 key, reached
 * over SSH with the host key the guest published (guest attributes, or the serial console for
 * images without the guest agent). The Google SDK is loaded by the first setup or start.
 */
export class GceProvider implements Provider {
  readonly alias = 'gce';
  readonly supportsProgress = true;
  readonly options: GceOptions;
  readonly #ownerId: string;
  readonly #logger: Logger;
  readonly #selector: ImageSelector;
  /** Made with the provider (it needs no SDK), so `ownerLeases` answers before the first call. */
  readonly #limiter: GceRateLimiter;
  #runtime: Promise<{ api: GceApi; images: GceImages }> | undefined;
  #plan: Promise<ZonePlan> | undefined;
  /** Where each image's guests publish their host keys, learnt from the first job on it. */
  readonly #hostKeySources = new Map<string, HostKeySource>();

  constructor(config: ProviderConfig, context: ProviderContext) {
    this.options = parseGceOptions(config);
    this.#ownerId = context.ownerId;
    this.#logger = context.logger;
    this.#limiter = createGceRateLimiter(this.options, context);
    this.#selector = createImageSelector(this.options.IMAGE_SELECTOR_TYPE, {
      config,
      ...(this.options.IMAGE_SELECTOR_URL ? { url: this.options.IMAGE_SELECTOR_URL } : {}),
    });
  }

  /** The API client and image lookup, made once: the first call loads the Google SDK. */
  #loaded(): Promise<{ api: GceApi; images: GceImages }> {
    this.#runtime ??= loadGceApi(this.options, this.#logger, this.#limiter).then((api) => ({
      api,
      images: new GceImages(api, this.options, this.#selector),
    }));
    this.#runtime.catch(() => {
      this.#runtime = undefined;
    });
    return this.#runtime;
  }

  /** Owner leases in the fleet's Redis (RATE_LIMIT_REDIS_URL), which `reap` consults. */
  get ownerLeases(): OwnerLeaseStore | undefined {
    return this.#limiter.ownerLeases;
  }

  /**
   * Checks the configuration against the API (credentials, project, zones exist and are UP,
   * machine types, network, subnetwork) and finds alternate zones; runs once, and again only
   * after a failure. Credentials that do not work and an unknown project are `InvalidConfigError`.
   */
  async setup({ signal }: SignalOptions = {}): Promise<void> {
    // Concurrent starts share one check, so it runs without any caller's signal (one job's abort
    // must not fail the others' starts); each caller waits with its own.
    this.#plan ??= this.#checkSetup(undefined);
    const plan = this.#plan;
    plan.catch(() => {
      if (this.#plan === plan) this.#plan = undefined;
    });
    await abortable(plan, signal);
  }

  async #checkSetup(signal: AbortSignal | undefined): Promise<ZonePlan> {
    const o = this.options;
    const { api } = await this.#loaded();
    const zones = await this.#checkAccess(api, signal);
    const status = new Map(zones.map((z) => [z.name ?? '', z.status ?? '']));
    const missing = o.ZONES.find((zone) => !status.has(zone));
    if (missing !== undefined) {
      throw new InvalidConfigError({
        provider: 'gce',
        option: 'ZONES',
        value: o.ZONES.join(','),
        expected: `zones of project ${o.PROJECT_ID}: ${missing} does not exist`,
      });
    }
    const up = o.ZONES.filter((zone) => status.get(zone) === 'UP');
    if (up.length === 0) {
      throw new ProviderApiError({
        provider: 'gce',
        operation: 'setup',
        message: `no zone of ${o.ZONES.join(', ')} is UP`,
        retryable: true,
      });
    }
    const regions = new Set(o.ZONES.map(regionOfZone));
    const alternates = [...status]
      .filter(([zone, state]) => state === 'UP' && !o.ZONES.includes(zone) && regions.has(regionOfZone(zone)))
      .map(([zone]) => zone)
      .sort();
    const zone = up[0]!;
    for (const [option, machineType] of [
      ['MACHINE_TYPE', o.MACHINE_TYPE],
      ['PREMIUM_MACHINE_TYPE', o.PREMIUM_MACHINE_TYPE],
    ] as const) {
      await this.#mustExist(option, machineType, `a machine type available in ${zone}`, () =>
        api.getMachineType(zone, machineType, { signal }),
      );
    }
    await this.#mustExist('NETWORK', o.NETWORK, `a network of project ${o.PROJECT_ID}`, () =>
      api.getNetwork(o.NETWORK, { signal }),
    );
    if (o.SUBNETWORK !== undefined) {
      const subnetwork = o.SUBNETWORK;
      await this.#mustExist('SUBNETWORK', subnetwork, `a subnetwork in region ${o.REGION}`, () =>
        api.getSubnetwork(o.REGION, subnetwork, { signal }),
      );
    }
    return { zones: up, alternates };
  }

  /** The first calls: credentials that cannot be used or a project that does not exist are configuration errors. */
  async #checkAccess(api: GceApi, signal: AbortSignal | undefined) {
    const o = this.options;
    const credentials =
      o.ACCESS_TOKEN !== undefined
        ? 'ACCESS_TOKEN'
        : o.ACCOUNT_JSON !== undefined
          ? 'ACCOUNT_JSON'
          : undefined;
    try {
      await api.initialize();
      return await api.listZones({ signal });
    } catch (error) {
      if (signal?.aborted) throw error;
      const kind = gceErrorClass(error);
      const status = (error as { code?: string }).code;
      if (kind === 'not-found' && status === '404')
        throw new InvalidConfigError({
          provider: 'gce',
          option: 'PROJECT_ID',
          value: o.PROJECT_ID,
          expected: 'an existing project the credentials can see',
          cause: error,
        });
      if (kind === 'config' || (ProviderApiError.isInstance(error) && error.operation === 'initialize'))
        throw new InvalidConfigError({
          provider: 'gce',
          option: credentials ?? 'ACCOUNT_JSON',
          value: undefined,
          secret: true,
          expected: `credentials that may use Compute Engine in project ${o.PROJECT_ID}${
            credentials ? '' : ' (none set: Google application default credentials were tried)'
          }: ${error instanceof Error ? error.message : String(error)}`,
          cause: error,
        });
      throw error;
    }
  }

  async #mustExist(
    option: string,
    value: string,
    expected: string,
    check: () => Promise<void>,
  ): Promise<void> {
    try {
      await check();
    } catch (error) {
      if (isNotFound(error))
        throw new InvalidConfigError({ provider: 'gce', option, value, expected, cause: error });
      throw error;
    }
  }

  async start(
    attributes: StartAttributes,
    { signal, progress = nullProgresser }: StartOptions = {},
  ): Promise<GceInstance> {
    signal?.throwIfAborted();
    const o = this.options;
    const attrs = withDefaults(attributes, { language: o.DEFAULT_LANGUAGE });
    if (attrs.os === 'windows') {
      throw new InvalidConfigError({
        provider: 'gce',
        option: 'os',
        value: 'windows',
        expected: 'a Linux job: Windows instances (WinRM) are not supported',
      });
    }
    const machine = chooseMachine(o, attrs);
    const pinned = pinnedZone(attrs);
    await this.setup({ signal });
    const plan = await this.#plan!;
    const { api, images } = await this.#loaded();
    const image = await images.select(attrs, signal, progress);
    const keyPair = await generateKeyPair({ comment: 'workerkit' });
    progress.progress({ message: 'rendered startup script', state: 'success' });
    signal?.throwIfAborted();

    const zones = pinned ? [pinned] : [...shuffle(plan.zones), ...shuffle(plan.alternates)];
    const deadline = AbortSignal.timeout(o.BOOT_TIMEOUT);
    const bootSignal = signal ? AbortSignal.any([signal, deadline]) : deadline;
    const created: GceStartResources = { instance: undefined };
    let target: SshScriptTarget | undefined;
    // BOOT_TIMEOUT bounds the insert and the wait for RUNNING; the SSH wait has its own bound.
    let phase: 'boot' | 'ssh' = 'boot';
    try {
      const ready = await bootInZones(
        { api, options: o, logger: this.#logger },
        {
          zones,
          attributes: attrs,
          instanceFor: (name, zone) =>
            buildInstance(o, {
              name,
              zone,
              imageSelfLink: image.selfLink ?? `projects/${api.imageProject}/global/images/${image.name}`,
              machine,
              attributes: attrs,
              publicKey: keyPair.publicKey,
              ownerId: this.#ownerId,
              project: o.PROJECT_ID,
            }),
          created,
          progress,
          signal: bootSignal,
        },
      );

      const instance = await api.getInstance(ready.zone, ready.name, { signal: bootSignal });
      markStartPhase('boot');
      phase = 'ssh';
      target = await connectToGuest(
        { api, options: o, logger: this.#logger },
        {
          instance,
          zone: ready.zone,
          name: ready.name,
          image: image.name ?? '',
          hostKeySources: this.#hostKeySources,
          privateKey: keyPair.privateKey,
          progress,
          signal,
        },
      );
      signal?.throwIfAborted();
      return new GceInstance({
        api,
        options: o,
        logger: this.#logger,
        name: ready.name,
        zone: ready.zone,
        id: String(instance.id ?? ''),
        imageName: image.name ?? '',
        startupDuration: ready.startupDuration,
        hardTimeoutMs: attrs.hardTimeoutMs,
        target,
        progress,
      });
    } catch (error) {
      await target?.close().catch(() => {});
      const timedOut = phase === 'boot' && deadline.aborted && !signal?.aborted;
      if (timedOut)
        progress.progress({
          message: 'timeout waiting for instance to be ready',
          state: 'failure',
          interrupts: true,
        });
      const leftover = created.instance;
      if (leftover) {
        // Never leave a VM behind: delete it without the (possibly aborted) caller's signal,
        // through resourceNotReady while its insert still runs.
        await deleteInstance(api, o, leftover.zone, leftover.name).catch((cleanupError: unknown) =>
          this.#logger.error('gce: could not delete instance after a failed start', {
            instance: leftover.name,
            error: String(cleanupError),
          }),
        );
      }
      if (signal?.aborted) throw signal.reason;
      if (timedOut) {
        throw new ProviderApiError({
          provider: 'gce',
          operation: 'start',
          message: `instance was not running within BOOT_TIMEOUT (${formatDuration(o.BOOT_TIMEOUT)})`,
          retryable: true,
          cause: error,
        });
      }
      throw asConfigError(error);
    }
  }

  async listManagedResources({ signal }: SignalOptions = {}): Promise<ManagedResource[]> {
    const { api } = await this.#loaded();
    const instances = await api.listInstances(`labels.${LIFECYCLE_LABELS.managed} = "true"`, { signal });
    const resources: ManagedResource[] = [];
    for (const instance of instances) {
      const lifecycle = readLifecycleLabels(instance.labels ?? undefined);
      if (!lifecycle || !instance.name) continue;
      const zone =
        String(instance.zone ?? '')
          .split('/')
          .at(-1) ?? '';
      resources.push({
        kind: 'instance',
        id: instance.name,
        ...lifecycle,
        details: { zone, status: String(instance.status ?? '') },
      });
    }
    return resources.sort((a, b) => a.id.localeCompare(b.id));
  }

  async deleteManagedResource(resource: ManagedResource, { signal }: SignalOptions = {}): Promise<void> {
    const zone = resource.details?.zone;
    if (resource.kind !== 'instance' || !zone) {
      throw new InvalidConfigError({
        provider: 'gce',
        option: 'resource',
        value: `${resource.kind}:${resource.id}`,
        expected: 'an instance found by listManagedResources (with details.zone)',
      });
    }
    const { api } = await this.#loaded();
    await deleteInstance(api, this.options, zone, resource.id, signal ? { signal } : {});
  }

  async close(): Promise<void> {
    const runtime = this.#runtime;
    this.#runtime = undefined;
    const loaded = runtime && (await runtime.catch(() => undefined));
    // The API closes the limiter with its clients; without one, the limiter is closed here.
    await (loaded ? loaded.api.close() : this.#limiter.close());
  }

  /** `await using provider = …` closes it. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * An insert GCE refused as invalid (400) or forbidden (401/403 other than throttling and quota):
 * the configuration or the job's VM request is wrong, and a retry would fail the same way.
 */
function asConfigError(error: unknown): unknown {
  if (
    gceErrorClass(error) !== 'config' ||
    !ProviderApiError.isInstance(error) ||
    error.operation !== 'instances.insert'
  )
    return error;
  const message = error.message;
  const option = /guestAccelerators/.test(message)
    ? 'GPU_TYPE / GPU_COUNT / vm_config'
    : /machineType/.test(message)
      ? 'MACHINE_TYPE / vm_size'
      : /disks/.test(message)
        ? 'DISK_SIZE'
        : /subnetwork/.test(message)
          ? 'SUBNETWORK'
          : /tags/.test(message)
            ? 'TRAVIS_SITE'
            : 'instance request';
  return new InvalidConfigError({
    provider: 'gce',
    option,
    value: undefined,
    expected: `what Compute Engine accepts: ${message}`,
    cause: error,
  });
}

function shuffle<T>(items: readonly T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}

/** Creates the gce provider from its options (see the README for every option). */
export function createGceProvider(
  config: ProviderConfig | Readonly<Record<string, string | undefined>>,
  context: Partial<ProviderContext> = {},
): GceProvider {
  return new GceProvider(toProviderConfig(config), providerContext(context));
}

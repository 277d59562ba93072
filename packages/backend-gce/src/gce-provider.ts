import {
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
import { generateKeyPair, type SshConnection } from '@workerkit/ssh';
import { bootInZones, type GceStartResources } from './gce-boot.js';
import { GceApi } from './gce-client.js';
import { isNotFound } from './gce-errors.js';
import { GceImages } from './gce-images.js';
import { deleteInstance, GceInstance } from './gce-instance.js';
import { buildInstance, chooseMachine, pinnedZone } from './gce-instance-spec.js';
import { type GceOptions, parseGceOptions, regionOfZone } from './gce-options.js';
import { createGceRateLimiter } from './gce-rate-limiter.js';
import { connectToGuest } from './gce-ssh-connect.js';

interface ZonePlan {
  /** Configured zones (ZONES) that are UP. */
  zones: string[];
  /** Other UP zones in the same regions, tried when a configured zone is out of capacity. */
  alternates: string[];
}

/**
 * Google Compute Engine provider: each job gets its own VM with its own ed25519 key, reached
 * over SSH with the host key taken from guest attributes.
 */
export class GceProvider implements Provider {
  readonly alias = 'gce';
  readonly supportsProgress = true;
  readonly options: GceOptions;
  readonly api: GceApi;
  readonly #ownerId: string;
  readonly #logger: Logger;
  readonly #selector: ImageSelector;
  readonly #images: GceImages;
  #plan: Promise<ZonePlan> | undefined;

  constructor(config: ProviderConfig, context: ProviderContext) {
    this.options = parseGceOptions(config);
    this.#ownerId = context.ownerId;
    this.#logger = context.logger;
    this.#selector = createImageSelector(this.options.IMAGE_SELECTOR_TYPE, {
      config,
      ...(this.options.IMAGE_SELECTOR_URL ? { url: this.options.IMAGE_SELECTOR_URL } : {}),
    });
    this.api = new GceApi(this.options, this.#logger, createGceRateLimiter(this.options, context));
    this.#images = new GceImages(this.api, this.options, this.#selector);
  }

  /** Owner leases in the fleet's Redis (RATE_LIMIT_REDIS_URL), which `reap` consults. */
  get ownerLeases(): OwnerLeaseStore | undefined {
    return this.api.limiter.ownerLeases;
  }

  /**
   * Checks the configuration against the API (zones exist and are UP, machine types, network,
   * subnetwork) and finds alternate zones; runs once, and again only after a failure.
   */
  async setup({ signal }: SignalOptions = {}): Promise<void> {
    this.#plan ??= this.#checkSetup(signal);
    try {
      await this.#plan;
    } catch (error) {
      this.#plan = undefined;
      throw error;
    }
  }

  async #checkSetup(signal: AbortSignal | undefined): Promise<ZonePlan> {
    const o = this.options;
    await this.api.initialize();
    const zones = await this.api.listZones({ signal });
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
        this.api.getMachineType(zone, machineType, { signal }),
      );
    }
    await this.#mustExist('NETWORK', o.NETWORK, `a network of project ${o.PROJECT_ID}`, () =>
      this.api.getNetwork(o.NETWORK, { signal }),
    );
    if (o.SUBNETWORK !== undefined) {
      const subnetwork = o.SUBNETWORK;
      await this.#mustExist('SUBNETWORK', subnetwork, `a subnetwork in region ${o.REGION}`, () =>
        this.api.getSubnetwork(o.REGION, subnetwork, { signal }),
      );
    }
    return { zones: up, alternates };
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
    const image = await this.#images.select(attrs, signal, progress);
    const keyPair = await generateKeyPair({ comment: 'workerkit' });
    progress.progress({ message: 'rendered startup script', state: 'success' });
    signal?.throwIfAborted();

    const zones = pinned ? [pinned] : [...shuffle(plan.zones), ...shuffle(plan.alternates)];
    const deadline = AbortSignal.timeout(o.BOOT_TIMEOUT);
    const bootSignal = signal ? AbortSignal.any([signal, deadline]) : deadline;
    const created: GceStartResources = { instance: undefined };
    let connection: SshConnection | undefined;
    // BOOT_TIMEOUT bounds the insert and the wait for RUNNING; the SSH wait has its own bound.
    let phase: 'boot' | 'ssh' = 'boot';
    try {
      const ready = await bootInZones(
        { api: this.api, options: o, logger: this.#logger },
        {
          zones,
          attributes: attrs,
          instanceFor: (name, zone) =>
            buildInstance(o, {
              name,
              zone,
              imageSelfLink:
                image.selfLink ?? `projects/${this.api.imageProject}/global/images/${image.name}`,
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

      const instance = await this.api.getInstance(ready.zone, ready.name, { signal: bootSignal });
      markStartPhase('boot');
      phase = 'ssh';
      connection = await connectToGuest(
        { api: this.api, options: o, logger: this.#logger },
        { instance, zone: ready.zone, name: ready.name, privateKey: keyPair.privateKey, progress, signal },
      );
      signal?.throwIfAborted();
      return new GceInstance({
        api: this.api,
        options: o,
        logger: this.#logger,
        name: ready.name,
        zone: ready.zone,
        id: String(instance.id ?? ''),
        imageName: image.name ?? '',
        startupDuration: ready.startupDuration,
        hardTimeoutMs: attrs.hardTimeoutMs,
        connection,
        progress,
      });
    } catch (error) {
      await connection?.close().catch(() => {});
      const timedOut = phase === 'boot' && deadline.aborted && !signal?.aborted;
      if (timedOut)
        progress.progress({
          message: 'timeout waiting for instance to be ready',
          state: 'failure',
          interrupts: true,
        });
      const leftover = created.instance;
      if (leftover) {
        // Never leave a VM behind: delete it without the (possibly aborted) caller's signal.
        await deleteInstance(this.api, o, leftover.zone, leftover.name).catch((cleanupError: unknown) =>
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
      throw error;
    }
  }

  async listManagedResources({ signal }: SignalOptions = {}): Promise<ManagedResource[]> {
    const instances = await this.api.listInstances(`labels.${LIFECYCLE_LABELS.managed} = "true"`, { signal });
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
    await deleteInstance(this.api, this.options, zone, resource.id, signal ? { signal } : {});
  }

  async close(): Promise<void> {
    await this.api.close();
  }
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

import { randomUUID } from 'node:crypto';
import {
  createImageSelector,
  formatDuration,
  type ImageSelector,
  InvalidConfigError,
  imageSelectParams,
  LIFECYCLE_LABELS,
  type Logger,
  type ManagedResource,
  nullProgresser,
  type Progresser,
  type Provider,
  ProviderApiError,
  type ProviderConfig,
  type ProviderContext,
  providerContext,
  readLifecycleLabels,
  type SignalOptions,
  type StartAttributes,
  type StartOptions,
  sleep,
  toProviderConfig,
  withDefaults,
} from '@workerkit/core';
import { connect, generateKeyPair, type HostKeyPolicy, type SshConnection } from '@workerkit/ssh';
import { GceApi, type IImage, type IInstance } from './gce-client.js';
import { isNotFound, isZoneCapacityError } from './gce-errors.js';
import { deleteInstance, GceInstance } from './gce-instance.js';
import { buildInstance, chooseMachine, instanceName, pinnedZone } from './gce-instance-spec.js';
import { waitForOperation } from './gce-operations.js';
import { type GceOptions, parseGceOptions, regionOfZone } from './gce-options.js';

/** How long a resolved image stays cached per provider (new images show up after this). */
const IMAGE_CACHE_MS = 60 * 60_000;

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
  readonly #images = new Map<string, { at: number; image: Promise<IImage> }>();
  #plan: Promise<ZonePlan> | undefined;

  constructor(config: ProviderConfig, context: ProviderContext) {
    this.options = parseGceOptions(config);
    this.#ownerId = context.ownerId;
    this.#logger = context.logger;
    this.#selector = createImageSelector(this.options.IMAGE_SELECTOR_TYPE, {
      config,
      ...(this.options.IMAGE_SELECTOR_URL ? { url: this.options.IMAGE_SELECTOR_URL } : {}),
    });
    this.api = new GceApi(this.options, this.#logger);
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
    const image = await this.#selectImage(attrs, signal, progress);
    const keyPair = await generateKeyPair({ comment: 'workerkit' });
    progress.progress({ message: 'rendered startup script', state: 'success' });
    signal?.throwIfAborted();

    const zones = pinned ? [pinned] : [...shuffle(plan.zones), ...shuffle(plan.alternates)];
    const deadline = AbortSignal.timeout(o.BOOT_TIMEOUT);
    const bootSignal = signal ? AbortSignal.any([signal, deadline]) : deadline;
    let created: { zone: string; name: string } | undefined;
    let connection: SshConnection | undefined;
    // BOOT_TIMEOUT bounds the insert and the wait for RUNNING; the SSH wait has its own bound.
    let phase: 'boot' | 'ssh' = 'boot';
    try {
      let ready: { zone: string; name: string; startupDuration: number } | undefined;
      for (const [index, zone] of zones.entries()) {
        const name = instanceName(o, attrs);
        const spec = buildInstance(o, {
          name,
          zone,
          imageSelfLink: image.selfLink ?? `projects/${this.api.imageProject}/global/images/${image.name}`,
          machine,
          attributes: attrs,
          publicKey: keyPair.publicKey,
          ownerId: this.#ownerId,
          project: o.PROJECT_ID,
        });
        const bootStart = Date.now();
        // From here on a failure deletes the instance, even if the insert's answer never arrived.
        created = { zone, name };
        let operation = await this.api
          .insertInstance(zone, spec, randomUUID(), { signal: bootSignal, abortInFlight: false })
          .catch((error: unknown) => {
            if (!bootSignal.aborted)
              progress.progress({ message: 'could not insert instance', state: 'failure' });
            throw error;
          });
        progress.progress({ message: 'inserted instance', state: 'success' });
        bootSignal.throwIfAborted();
        if (o.BOOT_PRE_POLL_SLEEP > 0) {
          progress.progress({
            message: `sleeping ${formatDuration(o.BOOT_PRE_POLL_SLEEP)} before checking instance insert`,
          });
          await sleep(o.BOOT_PRE_POLL_SLEEP, bootSignal);
        }
        progress.progress({ message: 'polling for instance insert completion...', continues: true });
        try {
          operation = await waitForOperation(this.api, zone, operation, {
            signal: bootSignal,
            pollSleepMs: o.BOOT_POLL_SLEEP,
            onPending: () => progress.progress({ message: '.', raw: true }),
          });
        } catch (error) {
          if (bootSignal.aborted) throw error;
          const next = zones[index + 1];
          if (isZoneCapacityError(error) && next !== undefined) {
            this.#logger.warn('gce: switching zones due to error', { zone, next, error: String(error) });
            progress.progress({
              message: `zone ${zone} is out of capacity, trying ${next}`,
              interrupts: true,
            });
            await deleteInstance(this.api, o, zone, name);
            created = undefined;
            continue;
          }
          progress.progress({
            message: 'instance could not be inserted',
            state: 'failure',
            interrupts: true,
          });
          throw error;
        }
        const startupDuration = Date.now() - bootStart;
        progress.progress({
          message: `instance is ready (${formatDuration(startupDuration)})`,
          state: 'success',
          interrupts: true,
        });
        ready = { zone, name, startupDuration };
        break;
      }
      if (!ready)
        throw new ProviderApiError({
          provider: 'gce',
          operation: 'start',
          message: 'no zone left to try',
          retryable: true,
        });

      const instance = await this.api.getInstance(ready.zone, ready.name, { signal: bootSignal });
      const host = this.#connectAddress(instance);
      phase = 'ssh';
      progress.progress({ message: 'waiting for ssh connectivity...', continues: true });
      const sshStart = Date.now();
      connection = await connect({
        host,
        port: o.SSH_PORT,
        username: o.SSH_USER,
        auth: { privateKey: keyPair.privateKey },
        hostKey: this.#hostKeysFromGuestAttributes(ready.zone, ready.name, signal),
        ...(signal ? { signal } : {}),
        dialTimeoutMs: o.SSH_DIAL_TIMEOUT,
        readyTimeoutMs: o.UPLOAD_RETRIES * o.UPLOAD_RETRY_SLEEP,
        onAttempt: () => progress.progress({ message: '.', raw: true }),
        logger: this.#logger,
      });
      progress.progress({
        message: `ssh connectivity established (${formatDuration(Date.now() - sshStart)})`,
        state: 'success',
        interrupts: true,
      });
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
        hardTimeoutMs: attrs.hardTimeout,
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
      if (created) {
        // Never leave a VM behind: delete it without the (possibly aborted) caller's signal.
        await deleteInstance(this.api, o, created.zone, created.name).catch((cleanupError: unknown) =>
          this.#logger.error('gce: could not delete instance after a failed start', {
            instance: created?.name,
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

  /** The instance's SSH address: the NAT IP when PUBLIC_IP and PUBLIC_IP_CONNECT, else the internal IP. */
  #connectAddress(instance: IInstance): string {
    const nic = instance.networkInterfaces?.[0];
    const natIp = nic?.accessConfigs?.[0]?.natIP;
    const address =
      this.options.PUBLIC_IP && this.options.PUBLIC_IP_CONNECT && natIp ? natIp : nic?.networkIP;
    if (!address) {
      throw new ProviderApiError({
        provider: 'gce',
        operation: 'instances.get',
        message: `instance ${instance.name} has no IP address`,
        retryable: false,
      });
    }
    return address;
  }

  /** Host keys as the guest agent publishes them (`hostkeys/<type>`); undefined until it has. */
  #hostKeysFromGuestAttributes(
    zone: string,
    name: string,
    signal: AbortSignal | undefined,
  ): () => Promise<HostKeyPolicy | undefined> {
    let policy: HostKeyPolicy | undefined;
    return async () => {
      if (policy) return policy;
      const items = await this.api.guestAttributes(zone, name, 'hostkeys/', { signal });
      const publicKeys = items
        .filter((item) => item.namespace === 'hostkeys' && item.key && item.value)
        .map((item) => `${item.key} ${item.value}`);
      if (publicKeys.length > 0) policy = { kind: 'public-keys', publicKeys };
      return policy;
    };
  }

  async #selectImage(
    attrs: StartAttributes,
    signal: AbortSignal | undefined,
    progress: Progresser,
  ): Promise<IImage> {
    try {
      let name = attrs.imageName;
      if (!name) {
        name = await this.#selector.select(imageSelectParams('gce', attrs), signal ? { signal } : {});
        if (name === 'default') name = this.options.IMAGE_DEFAULT;
      }
      const image = await this.#findImage(name, signal);
      progress.progress({ message: `selected image "${image.name}"`, state: 'success' });
      return image;
    } catch (error) {
      if (!signal?.aborted) progress.progress({ message: 'could not select image', state: 'failure' });
      throw error;
    }
  }

  /** The newest READY image in IMAGE_PROJECT_ID whose name matches `pattern` (cached per provider). */
  #findImage(pattern: string, signal: AbortSignal | undefined): Promise<IImage> {
    const cached = this.#images.get(pattern);
    if (cached && Date.now() - cached.at < IMAGE_CACHE_MS) return cached.image;
    const filter = `name eq ^${pattern}`;
    const image = this.api.listImages(filter, { signal }).then((images) => {
      const newest = images
        .filter((i) => i.status === undefined || i.status === null || i.status === 'READY')
        .sort(
          (a, b) =>
            String(a.creationTimestamp ?? '').localeCompare(String(b.creationTimestamp ?? '')) ||
            String(a.name).localeCompare(String(b.name)),
        )
        .at(-1);
      if (!newest?.name) {
        throw new ProviderApiError({
          provider: 'gce',
          operation: 'images.list',
          message: `no image found with filter ${filter} in project ${this.api.imageProject}`,
          retryable: false,
        });
      }
      return newest;
    });
    this.#images.set(pattern, { at: Date.now(), image });
    image.catch(() => this.#images.delete(pattern));
    return image;
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

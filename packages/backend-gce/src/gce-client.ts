import {
  ImagesClient,
  InstancesClient,
  MachineTypesClient,
  NetworksClient,
  type protos,
  SubnetworksClient,
  ZoneOperationsClient,
  ZonesClient,
} from '@google-cloud/compute';
import {
  abortable,
  backoffDelay,
  defaultOwnerId,
  type Logger,
  ProviderApiError,
  retryWithBackoff,
  timeApiCall,
} from '@workerkit/core';
import { JWT, OAuth2Client } from 'google-auth-library';
import { gceErrorClass, toGceApiError } from './gce-errors.js';
import type { GceOptions } from './gce-options.js';
import { createGceRateLimiter, type GceRateLimiter } from './gce-rate-limiter.js';

export type IInstance = protos.google.cloud.compute.v1.IInstance;
export type IOperation = protos.google.cloud.compute.v1.IOperation;
export type IImage = protos.google.cloud.compute.v1.IImage;
export type IZone = protos.google.cloud.compute.v1.IZone;

const COMPUTE_SCOPES = ['https://www.googleapis.com/auth/compute'];

/** How the SDK reaches the API: Google's endpoint, or `API_ENDPOINT` (plain HTTP for loopback emulators). */
export function gceClientOptions(options: GceOptions) {
  const endpoint = options.API_ENDPOINT;
  const base = {
    projectId: options.PROJECT_ID,
    fallback: true as const,
    ...(endpoint
      ? {
          apiEndpoint: endpoint.hostname.replace(/^\[|\]$/g, ''),
          port: endpoint.port ? Number(endpoint.port) : endpoint.protocol === 'http:' ? 80 : 443,
          protocol: endpoint.protocol.replace(':', ''),
        }
      : {}),
  };
  if (options.ACCESS_TOKEN !== undefined) {
    const authClient = new OAuth2Client();
    // A fixed token: far-future expiry so the client never tries to refresh it.
    authClient.setCredentials({
      access_token: options.ACCESS_TOKEN,
      expiry_date: Date.now() + 10 * 365 * 86_400_000,
    });
    return { ...base, authClient };
  }
  if (options.ACCOUNT_JSON !== undefined) {
    const authClient = new JWT({
      email: options.ACCOUNT_JSON.clientEmail,
      key: options.ACCOUNT_JSON.privateKey,
      scopes: COMPUTE_SCOPES,
    });
    return { ...base, authClient };
  }
  // Application default credentials, found by the SDK itself.
  return { ...base, scopes: COMPUTE_SCOPES };
}

export interface CallOptions {
  signal?: AbortSignal | undefined;
  /** Retry retryable failures with backoff (default true). */
  retry?: boolean;
  /**
   * Whether an abort also abandons a request already sent (default true). Inserts and deletes
   * pass false: their outcome must be known, or a VM could exist that nobody deletes.
   */
  abortInFlight?: boolean;
}

/**
 * Every Compute Engine call the backend makes, behind the rate limiter, with our own retries
 * (jittered exponential backoff bounded by BACKOFF_RETRY_MAX; the SDK's retries are off), abort
 * support, and SDK errors mapped to `ProviderApiError`.
 */
export class GceApi {
  readonly project: string;
  readonly imageProject: string;
  readonly limiter: GceRateLimiter;
  readonly #instances: InstancesClient;
  readonly #zoneOperations: ZoneOperationsClient;
  readonly #images: ImagesClient;
  readonly #zones: ZonesClient;
  readonly #machineTypes: MachineTypesClient;
  readonly #networks: NetworksClient;
  readonly #subnetworks: SubnetworksClient;
  readonly #callTimeoutMs: number;
  readonly #backoffMaxMs: number;
  readonly #logger: Logger;
  #initialized: Promise<void> | undefined;

  constructor(
    options: GceOptions,
    logger: Logger,
    limiter = createGceRateLimiter(options, { logger, ownerId: defaultOwnerId() }),
  ) {
    this.project = options.PROJECT_ID;
    this.imageProject = options.IMAGE_PROJECT_ID ?? options.PROJECT_ID;
    this.limiter = limiter;
    this.#callTimeoutMs = options.API_CALL_TIMEOUT;
    this.#backoffMaxMs = options.BACKOFF_RETRY_MAX;
    this.#logger = logger;
    const clientOptions = gceClientOptions(options);
    this.#instances = new InstancesClient(clientOptions);
    this.#zoneOperations = new ZoneOperationsClient(clientOptions);
    this.#images = new ImagesClient(clientOptions);
    this.#zones = new ZonesClient(clientOptions);
    this.#machineTypes = new MachineTypesClient(clientOptions);
    this.#networks = new NetworksClient(clientOptions);
    this.#subnetworks = new SubnetworksClient(clientOptions);
  }

  /** Creates the SDK's stubs once; a failure (e.g. no default credentials) is a `ProviderApiError`. */
  initialize(): Promise<void> {
    this.#initialized ??= (async () => {
      try {
        await Promise.all(this.#clients().map((client) => client.initialize()));
      } catch (error) {
        this.#initialized = undefined;
        throw toGceApiError('initialize', error);
      }
    })();
    return this.#initialized;
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.#clients().map((client) => client.close()), this.limiter.close()]);
  }

  #clients() {
    return [
      this.#instances,
      this.#zoneOperations,
      this.#images,
      this.#zones,
      this.#machineTypes,
      this.#networks,
      this.#subnetworks,
    ];
  }

  get #callOptions() {
    return { retry: null, timeout: this.#callTimeoutMs, autoPaginate: false as const };
  }

  /** Runs one API call through limiter, retries and abort handling. */
  async call<T>(
    operation: string,
    fn: () => Promise<T>,
    { signal, retry = true, abortInFlight = true }: CallOptions = {},
  ): Promise<T> {
    await this.initialize();
    return retryWithBackoff(
      async () => {
        await this.limiter.acquire(signal);
        try {
          return await timeApiCall('gce', operation, () => (abortInFlight ? abortable(fn(), signal) : fn()));
        } catch (error) {
          if (signal?.aborted) throw signal.reason;
          const mapped = toGceApiError(operation, error);
          const kind = gceErrorClass(mapped);
          if (kind === 'throttled' || (kind === 'transient' && Number(mapped.code) >= 500)) {
            // Throttled or failing: every caller in this worker holds back, not just this one.
            this.limiter.pause(
              backoffDelay(1, { initialMs: 500, maxMs: 500, jitter: 1 }),
              Number(mapped.code) >= 500 ? 'server-error' : 'throttled',
            );
          }
          throw mapped;
        }
      },
      // Only throttling and transient failures are worth the same call again; quota, capacity
      // and not-ready answers are for the caller to handle (requeue, another zone, a later delete).
      (error) => retry && ['throttled', 'transient'].includes(gceErrorClass(error)),
      {
        initialMs: 1000,
        maxMs: 30_000,
        maxElapsedMs: this.#backoffMaxMs,
        ...(signal ? { signal } : {}),
        onRetry: ({ attempt, delayMs, error }) =>
          this.#logger.warn(`gce: ${operation} failed, retrying in ${delayMs} ms`, {
            attempt,
            error: String(error),
          }),
      },
    );
  }

  // ---- instances ----

  insertInstance(
    zone: string,
    instance: IInstance,
    requestId: string,
    options?: CallOptions,
  ): Promise<IOperation> {
    return this.call(
      'instances.insert',
      async () => {
        const [lro] = await this.#instances.insert(
          { project: this.project, zone, instanceResource: instance, requestId },
          this.#callOptions,
        );
        return lro.latestResponse as IOperation;
      },
      options,
    );
  }

  getInstance(zone: string, name: string, options?: CallOptions): Promise<IInstance> {
    return this.call(
      'instances.get',
      async () =>
        (await this.#instances.get({ project: this.project, zone, instance: name }, this.#callOptions))[0],
      options,
    );
  }

  deleteInstance(zone: string, name: string, requestId: string, options?: CallOptions): Promise<IOperation> {
    return this.call(
      'instances.delete',
      async () => {
        const [lro] = await this.#instances.delete(
          { project: this.project, zone, instance: name, requestId },
          this.#callOptions,
        );
        return lro.latestResponse as IOperation;
      },
      options,
    );
  }

  /** Guest attributes under `queryPath` (e.g. `hostkeys/`); an empty list when none are published yet. */
  async guestAttributes(
    zone: string,
    name: string,
    queryPath: string,
    options?: CallOptions,
  ): Promise<{ namespace: string; key: string; value: string }[]> {
    try {
      const [attributes] = await this.call(
        'instances.getGuestAttributes',
        () =>
          this.#instances.getGuestAttributes(
            { project: this.project, zone, instance: name, queryPath },
            this.#callOptions,
          ),
        options,
      );
      return (attributes.queryValue?.items ?? []).map((item) => ({
        namespace: item.namespace ?? '',
        key: item.key ?? '',
        value: item.value ?? '',
      }));
    } catch (error) {
      if (ProviderApiError.isInstance(error) && error.code === '404') return [];
      throw error;
    }
  }

  /**
   * Serial port 1 from byte `start` on: `contents` and `next` (where the following read starts).
   */
  async serialPortOutput(
    zone: string,
    name: string,
    start: number,
    options?: CallOptions,
  ): Promise<{ contents: string; next: number }> {
    const [output] = await this.call(
      'instances.getSerialPortOutput',
      () =>
        this.#instances.getSerialPortOutput(
          { project: this.project, zone, instance: name, port: 1, start },
          this.#callOptions,
        ),
      options,
    );
    return { contents: output.contents ?? '', next: Number(output.next ?? start) };
  }

  /**
   * Every instance in the project matching `filter`, over all zones. The SDK pages through the
   * aggregated list itself; the limiter admits the listing once (it is used by gc and leak checks,
   * not per job).
   */
  listInstances(filter: string, options?: CallOptions): Promise<IInstance[]> {
    return this.call(
      'instances.aggregatedList',
      async () => {
        const found: IInstance[] = [];
        const pages = this.#instances.aggregatedListAsync(
          { project: this.project, filter, maxResults: 500 },
          this.#callOptions,
        );
        for await (const [, scoped] of pages) found.push(...(scoped.instances ?? []));
        return found;
      },
      options,
    );
  }

  // ---- operations ----

  /** Long-polls a zone operation (`zoneOperations.wait`): returns when it is DONE or the server's wait ran out. */
  waitOperation(zone: string, name: string, options?: CallOptions): Promise<IOperation> {
    return this.call(
      'zoneOperations.wait',
      async () =>
        (
          await this.#zoneOperations.wait({ project: this.project, zone, operation: name }, this.#callOptions)
        )[0],
      options,
    );
  }

  /** Zone operations matching `filter` (first page; callers filter narrowly). */
  async listZoneOperations(zone: string, filter: string, options?: CallOptions): Promise<IOperation[]> {
    const [operations] = await this.call(
      'zoneOperations.list',
      () =>
        this.#zoneOperations.list(
          { project: this.project, zone, filter, maxResults: 500 },
          this.#callOptions,
        ),
      options,
    );
    return operations;
  }

  // ---- images, zones, types ----

  /** Images in the image project matching `filter`, all pages. */
  async listImages(filter: string, options?: CallOptions): Promise<IImage[]> {
    const found: IImage[] = [];
    let pageToken: string | undefined;
    do {
      const token = pageToken;
      const [images, , response] = await this.call(
        'images.list',
        () =>
          this.#images.list(
            { project: this.imageProject, filter, maxResults: 500, ...(token ? { pageToken: token } : {}) },
            this.#callOptions,
          ),
        options,
      );
      found.push(...images);
      pageToken = response?.nextPageToken ?? undefined;
    } while (pageToken);
    return found;
  }

  async listZones(options?: CallOptions): Promise<IZone[]> {
    const found: IZone[] = [];
    let pageToken: string | undefined;
    do {
      const token = pageToken;
      const [zones, , response] = await this.call(
        'zones.list',
        () =>
          this.#zones.list(
            { project: this.project, maxResults: 500, ...(token ? { pageToken: token } : {}) },
            this.#callOptions,
          ),
        options,
      );
      found.push(...zones);
      pageToken = response?.nextPageToken ?? undefined;
    } while (pageToken);
    return found;
  }

  async getMachineType(zone: string, machineType: string, options?: CallOptions): Promise<void> {
    await this.call(
      'machineTypes.get',
      () => this.#machineTypes.get({ project: this.project, zone, machineType }, this.#callOptions),
      options,
    );
  }

  async getNetwork(network: string, options?: CallOptions): Promise<void> {
    await this.call(
      'networks.get',
      () => this.#networks.get({ project: this.project, network }, this.#callOptions),
      options,
    );
  }

  async getSubnetwork(region: string, subnetwork: string, options?: CallOptions): Promise<void> {
    await this.call(
      'subnetworks.get',
      () => this.#subnetworks.get({ project: this.project, region, subnetwork }, this.#callOptions),
      options,
    );
  }
}

import { randomUUID } from 'node:crypto';
import {
  CreateKeyPairCommand,
  DeleteKeyPairCommand,
  DescribeInstancesCommand,
  DescribeInstanceTypesCommand,
  DescribeKeyPairsCommand,
  type Filter,
  GetConsoleOutputCommand,
  ImportKeyPairCommand,
  type Instance as InstanceDescription,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import {
  expiryFor,
  formatDuration,
  hostnameFromJob,
  InvalidConfigError,
  LIFECYCLE_LABELS,
  lifecycleLabels,
  type ManagedResource,
  nullProgresser,
  type Progresser,
  type Provider,
  ProviderApiError,
  type ProviderContext,
  readLifecycleLabels,
  type SignalOptions,
  type StartAttributes,
  type StartOptions,
  sleep,
  withDefaults,
} from '@workerkit/core';
import { generateKeyPair, type HostKeyPolicy, SshScriptTarget } from '@workerkit/ssh';
import { createEc2Api, type Ec2Api } from './ec2-client.js';
import { ec2ErrorCode, toEc2ApiError } from './ec2-errors.js';
import { Ec2ImageResolver, type ResolvedImage } from './ec2-image.js';
import { Ec2Instance } from './ec2-instance.js';
import { EC2_ALIAS, type Ec2Config } from './ec2-options.js';
import {
  buildRunInstancesRequest,
  type LaunchChoice,
  launchChoices,
  renderUserData,
} from './ec2-run-instances-request.js';

/** Codes after which the next instance type / market is tried. */
const NEXT_CHOICE_CODES = new Set([
  'InsufficientInstanceCapacity',
  'InsufficientCapacity',
  'Unsupported',
  'SpotMaxPriceTooLow',
  'MaxSpotInstanceCountExceeded',
  'InstanceLimitExceeded',
]);

const LIVE_STATES = ['pending', 'running', 'stopping', 'stopped'];
const HOST_KEYS = /-----BEGIN SSH HOST KEY KEYS-----\r?\n([\s\S]*?)-----END SSH HOST KEY KEYS-----/;
/** Time allowed to clean up after a failed or aborted start. */
const CLEANUP_TIMEOUT_MS = 120_000;

/** The host keys cloud-init printed to the console, as `type base64` lines. */
export function hostKeysFromConsoleOutput(output: string): string[] {
  const match = HOST_KEYS.exec(output);
  if (!match) return [];
  return match[1]!
    .split(/\r?\n/)
    .map((line) => line.trim().split(/\s+/).slice(0, 2).join(' '))
    .filter((line) => /^(ssh-|ecdsa-)\S+ [A-Za-z0-9+/]+=*$/.test(line));
}

/** What a start created so far: what a failure or abort must delete. */
class StartResources {
  keyName: string | undefined;
  clientTokens: string[] = [];
  instanceId: string | undefined;
}

/** The ec2 provider: instances on AWS EC2 (or an API-compatible endpoint), reached over SSH. */
export class Ec2Provider implements Provider {
  readonly alias = EC2_ALIAS;
  readonly supportsProgress = true;
  readonly config: Ec2Config;
  readonly api: Ec2Api;
  readonly #context: ProviderContext;
  readonly #images: Ec2ImageResolver;

  constructor(
    config: Ec2Config,
    context: ProviderContext,
    api: Ec2Api = createEc2Api(config, context.logger),
  ) {
    this.config = config;
    this.#context = context;
    this.api = api;
    this.#images = new Ec2ImageResolver(config, api);
  }

  /** Checks credentials, region and that the configured instance types exist there. */
  async setup(options: SignalOptions = {}): Promise<void> {
    const types = [...new Set([this.config.INSTANCE_TYPE, ...this.config.INSTANCE_TYPE_FALLBACKS])];
    try {
      await this.api.call(
        'DescribeInstanceTypes',
        (client, sendOptions) =>
          client.send(new DescribeInstanceTypesCommand({ InstanceTypes: types as never[] }), sendOptions),
        { signal: options.signal },
      );
    } catch (error) {
      if (ec2ErrorCode(error) === 'InvalidInstanceType') {
        throw new InvalidConfigError({
          provider: EC2_ALIAS,
          option: 'INSTANCE_TYPE',
          value: types.join(','),
          expected: `instance types offered in ${this.config.REGION}`,
          cause: error,
        });
      }
      throw error;
    }
  }

  async start(attributes: StartAttributes, options: StartOptions = {}): Promise<Ec2Instance> {
    const { signal } = options;
    signal?.throwIfAborted();
    const progress = options.progress ?? nullProgresser;
    const started = performance.now();
    const job = withDefaults(attributes);
    const created = new StartResources();
    try {
      const image = await this.#selectImage(job, progress, signal);
      const hostname = hostnameFromJob(job);
      const tags: Record<string, string> = {
        ...(this.config.TAGS ?? {}),
        Name: hostname,
        ...lifecycleLabels({
          ownerId: this.#context.ownerId,
          ...(job.jobId ? { jobId: job.jobId } : {}),
          expiresAt: expiryFor(job.hardTimeout),
        }),
      };
      const key = await this.#createKeyPair(hostname, tags, created, signal);
      const userData = renderUserData(this.config, {
        hardTimeoutMs: job.hardTimeout,
        ...(this.config.KEY_NAME ? { authorizedKey: key.publicKey } : {}),
      });
      const { instance, choice } = await this.#runInstance(
        image,
        key.keyName,
        userData,
        tags,
        job,
        created,
        progress,
        signal,
      );
      const running = await this.#waitRunning(instance.InstanceId!, started, progress, signal);
      const target = await this.#connectSsh(running, key.privateKey, progress, signal);
      const startupDuration = performance.now() - started;
      const instanceId = instance.InstanceId!;
      const keyName = key.keyName;
      return new Ec2Instance({
        api: this.api,
        instanceId,
        imageName: image.name,
        market: choice.market,
        startupDuration,
        hardTimeoutMs: job.hardTimeout,
        target,
        progress,
        logger: this.#context.logger,
        release: (releaseSignal) => this.#release({ instanceId, keyName }, releaseSignal),
      });
    } catch (error) {
      await this.#cleanUpFailedStart(created, error);
      throw error;
    }
  }

  async listManagedResources(options: SignalOptions = {}): Promise<ManagedResource[]> {
    const managedFilter: Filter = { Name: 'tag-key', Values: [LIFECYCLE_LABELS.managed] };
    const [instances, keyPairs] = await Promise.all([
      this.#describeAllInstances(
        [managedFilter, { Name: 'instance-state-name', Values: LIVE_STATES }],
        options.signal,
      ),
      this.api.call(
        'DescribeKeyPairs',
        (client, sendOptions) =>
          client.send(new DescribeKeyPairsCommand({ Filters: [managedFilter] }), sendOptions),
        { signal: options.signal },
      ),
    ]);
    const resources: ManagedResource[] = [];
    for (const instance of instances) {
      const lifecycle = readLifecycleLabels(tagMap(instance.Tags));
      if (!lifecycle || !instance.InstanceId) continue;
      resources.push({
        kind: 'instance',
        id: instance.InstanceId,
        ...lifecycle,
        details: {
          region: this.config.REGION,
          state: instance.State?.Name ?? 'unknown',
          keyName: instance.KeyName ?? '',
        },
      });
    }
    for (const pair of keyPairs.KeyPairs ?? []) {
      const lifecycle = readLifecycleLabels(tagMap(pair.Tags));
      if (!lifecycle || !pair.KeyPairId) continue;
      resources.push({
        kind: 'key-pair',
        id: pair.KeyPairId,
        ...lifecycle,
        details: { region: this.config.REGION, keyName: pair.KeyName ?? '' },
      });
    }
    return resources;
  }

  /** Every instance matching `filters`, page by page. */
  async #describeAllInstances(filters: Filter[], signal?: AbortSignal): Promise<InstanceDescription[]> {
    const found: InstanceDescription[] = [];
    let nextToken: string | undefined;
    do {
      const token = nextToken;
      const page = await this.api.call(
        'DescribeInstances',
        (client, sendOptions) =>
          client.send(
            new DescribeInstancesCommand({
              Filters: filters,
              MaxResults: 500,
              ...(token ? { NextToken: token } : {}),
            }),
            sendOptions,
          ),
        { signal },
      );
      for (const reservation of page.Reservations ?? []) found.push(...(reservation.Instances ?? []));
      nextToken = page.NextToken;
    } while (nextToken);
    return found;
  }

  async deleteManagedResource(resource: ManagedResource, options: SignalOptions = {}): Promise<void> {
    if (resource.kind === 'instance') {
      await this.#terminate(resource.id, options.signal);
    } else if (resource.kind === 'key-pair') {
      await this.api.call(
        'DeleteKeyPair',
        (client, sendOptions) =>
          client.send(new DeleteKeyPairCommand({ KeyPairId: resource.id }), sendOptions),
        { signal: options.signal },
      );
    } else {
      throw new TypeError(`ec2: cannot delete a resource of kind "${resource.kind}"`);
    }
  }

  async close(): Promise<void> {
    this.api.client.destroy();
  }

  // ---- start steps ----------------------------------------------------------------------------

  async #selectImage(
    job: StartAttributes,
    progress: Progresser,
    signal?: AbortSignal,
  ): Promise<ResolvedImage> {
    try {
      const reference = await this.#images.select(job, signal);
      const image = await this.#images.resolve(reference, signal);
      progress.progress({ message: `selected image "${image.name}"`, state: 'success' });
      return image;
    } catch (error) {
      if (!signal?.aborted) progress.progress({ message: 'could not select image', state: 'failure' });
      throw error;
    }
  }

  /** A key pair for this instance, tagged like it, or none when KEY_NAME names an admin key. */
  async #createKeyPair(
    hostname: string,
    tags: Record<string, string>,
    created: StartResources,
    signal?: AbortSignal,
  ): Promise<{ keyName: string; privateKey: string; publicKey: string }> {
    if (this.config.KEY_NAME) {
      const local = await generateKeyPair({ comment: hostname });
      return { keyName: this.config.KEY_NAME, privateKey: local.privateKey, publicKey: local.publicKey };
    }
    const keyName = `${hostname.slice(0, 200)}-${randomUUID().slice(0, 8)}`;
    const tagSpecification = [{ ResourceType: 'key-pair' as const, Tags: toTags(tags) }];
    if (this.config.KEY_PAIR === 'import') {
      const local = await generateKeyPair({ comment: keyName });
      signal?.throwIfAborted();
      created.keyName = keyName;
      await this.api.call(
        'ImportKeyPair',
        (client, options) =>
          client.send(
            new ImportKeyPairCommand({
              KeyName: keyName,
              PublicKeyMaterial: Buffer.from(local.publicKey),
              TagSpecifications: tagSpecification,
            }),
            options,
          ),
        { signal },
      );
      return { keyName, privateKey: local.privateKey, publicKey: local.publicKey };
    }
    created.keyName = keyName;
    const answer = await this.api.call(
      'CreateKeyPair',
      (client, options) =>
        client.send(
          new CreateKeyPairCommand({
            KeyName: keyName,
            KeyType: 'ed25519',
            TagSpecifications: tagSpecification,
          }),
          options,
        ),
      { signal },
    );
    if (!answer.KeyMaterial) {
      throw new ProviderApiError({
        provider: EC2_ALIAS,
        operation: 'CreateKeyPair',
        message: 'no key material returned',
        retryable: true,
      });
    }
    return { keyName, privateKey: answer.KeyMaterial, publicKey: '' };
  }

  async #runInstance(
    image: ResolvedImage,
    keyName: string,
    userData: string,
    tags: Record<string, string>,
    job: StartAttributes,
    created: StartResources,
    progress: Progresser,
    signal?: AbortSignal,
  ): Promise<{ instance: InstanceDescription; choice: LaunchChoice }> {
    const choices = launchChoices(this.config, job.vmSize);
    const startToken = randomUUID();
    const failures: string[] = [];
    let lastError: unknown;
    for (const [index, choice] of choices.entries()) {
      // One token per attempt: a retried call (5xx, throttling) cannot launch a second instance.
      const clientToken = `${startToken}-${index}`;
      created.clientTokens.push(clientToken);
      const request = buildRunInstancesRequest(this.config, {
        imageId: image.imageId,
        choice,
        keyName,
        userData,
        tags,
        clientToken,
      });
      try {
        const answer = await this.api.call(
          'RunInstances',
          (client, options) => client.send(new RunInstancesCommand(request), options),
          { signal },
        );
        const instance = answer.Instances?.[0];
        if (!instance?.InstanceId) {
          throw new ProviderApiError({
            provider: EC2_ALIAS,
            operation: 'RunInstances',
            message: 'no instance returned',
            retryable: true,
          });
        }
        created.instanceId = instance.InstanceId;
        progress.progress({
          message: `started instance "${instance.InstanceId}" (${choice.instanceType}, ${choice.market})`,
          state: 'success',
        });
        return { instance, choice };
      } catch (error) {
        if (signal?.aborted) throw error;
        const code = ec2ErrorCode(error);
        if (!code || !NEXT_CHOICE_CODES.has(code)) {
          progress.progress({ message: 'could not start instance', state: 'failure' });
          throw error;
        }
        lastError = error;
        failures.push(`${choice.instanceType} ${choice.market}: ${code}`);
        this.#context.logger.info('ec2: no capacity, trying the next instance type / market', {
          choice,
          code,
        });
      }
    }
    progress.progress({ message: 'could not start instance: no capacity', state: 'failure' });
    throw new ProviderApiError({
      provider: EC2_ALIAS,
      operation: 'RunInstances',
      message: `no capacity for any instance type or market (${failures.join('; ')})`,
      retryable: true,
      ...(ec2ErrorCode(lastError) ? { code: ec2ErrorCode(lastError)! } : {}),
      cause: lastError,
    });
  }

  async #waitRunning(
    instanceId: string,
    started: number,
    progress: Progresser,
    signal?: AbortSignal,
  ): Promise<InstanceDescription> {
    const deadline = performance.now() + this.config.BOOT_TIMEOUT;
    let delayMs = this.config.BOOT_POLL_SLEEP;
    progress.progress({ message: 'waiting for instance to be running...', continues: true });
    for (;;) {
      await sleep(Math.min(delayMs, Math.max(0, deadline - performance.now())), signal);
      let instance: InstanceDescription | undefined;
      try {
        const answer = await this.api.call(
          'DescribeInstances',
          (client, options) =>
            client.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }), options),
          { signal },
        );
        instance = answer.Reservations?.[0]?.Instances?.[0];
      } catch (error) {
        // Right after RunInstances EC2 may not know the id yet (eventual consistency).
        if (ec2ErrorCode(error) !== 'InvalidInstanceID.NotFound') {
          if (!signal?.aborted)
            progress.progress({
              message: 'could not check the instance state',
              state: 'failure',
              interrupts: true,
            });
          throw error;
        }
      }
      const state = instance?.State?.Name;
      if (state === 'running' && (instance?.PrivateIpAddress || instance?.PublicIpAddress)) {
        progress.progress({
          message: `instance is ready (${formatDuration(performance.now() - started)})`,
          state: 'success',
          interrupts: true,
        });
        return instance!;
      }
      if (
        state === 'shutting-down' ||
        state === 'terminated' ||
        state === 'stopping' ||
        state === 'stopped'
      ) {
        progress.progress({
          message: `instance ${state} while starting`,
          state: 'failure',
          interrupts: true,
        });
        throw new ProviderApiError({
          provider: EC2_ALIAS,
          operation: 'start',
          message: `instance ${instanceId} is ${state} while starting (${instance?.StateReason?.Code ?? 'no reason given'})`,
          retryable: true,
          ...(instance?.StateReason?.Code ? { code: instance.StateReason.Code } : {}),
        });
      }
      if (performance.now() >= deadline) {
        progress.progress({
          message: 'timeout waiting for instance to be ready',
          state: 'failure',
          interrupts: true,
        });
        throw new ProviderApiError({
          provider: EC2_ALIAS,
          operation: 'start',
          message: `instance ${instanceId} still ${state ?? 'unknown'} after ${formatDuration(this.config.BOOT_TIMEOUT)}`,
          retryable: true,
          code: 'BootTimeout',
        });
      }
      progress.progress({ message: '.', raw: true });
      delayMs = Math.min(5000, delayMs * 1.5);
    }
  }

  async #connectSsh(
    instance: InstanceDescription,
    privateKey: string,
    progress: Progresser,
    signal?: AbortSignal,
  ): Promise<SshScriptTarget> {
    const usePublic = this.config.PUBLIC_IP && this.config.PUBLIC_IP_CONNECT && instance.PublicIpAddress;
    const host =
      (usePublic ? instance.PublicIpAddress : instance.PrivateIpAddress) ?? instance.PublicIpAddress!;
    const instanceId = instance.InstanceId!;
    let published: HostKeyPolicy | undefined;
    const hostKey =
      this.config.SSH_HOST_KEY_CHECK === 'insecure'
        ? ({ kind: 'insecure' } as const)
        : async (): Promise<HostKeyPolicy | undefined> => {
            if (published) return published;
            const answer = await this.api.call(
              'GetConsoleOutput',
              (client, options) =>
                client.send(new GetConsoleOutputCommand({ InstanceId: instanceId, Latest: true }), options),
              { signal },
            );
            const keys = hostKeysFromConsoleOutput(
              Buffer.from(answer.Output ?? '', 'base64').toString('utf8'),
            );
            if (keys.length === 0) return undefined;
            published = { kind: 'public-keys', publicKeys: keys };
            return published;
          };
    const waitStarted = performance.now();
    progress.progress({ message: 'waiting for ssh connectivity...', continues: true });
    const target = new SshScriptTarget({
      connect: {
        host,
        port: this.config.SSH_PORT,
        username: this.config.SSH_USER,
        auth: { privateKey },
        hostKey,
        dialTimeoutMs: this.config.SSH_DIAL_TIMEOUT,
        readyTimeoutMs: this.config.UPLOAD_RETRIES * this.config.UPLOAD_RETRY_SLEEP,
        backoff: {
          initialDelayMs: Math.min(250, this.config.UPLOAD_RETRY_SLEEP),
          maxDelayMs: this.config.UPLOAD_RETRY_SLEEP,
        },
        onAttempt: () => progress.progress({ message: '.', raw: true }),
        logger: this.#context.logger,
      },
      command: this.config.EXEC_CMD,
    });
    try {
      await target.connected(signal ? { signal } : {});
    } catch (error) {
      await target.close().catch(() => {});
      if (!signal?.aborted) {
        progress.progress({
          message: 'could not establish ssh connectivity',
          state: 'failure',
          interrupts: true,
        });
      }
      throw error;
    }
    progress.progress({
      message: `ssh connectivity established (${formatDuration(performance.now() - waitStarted)})`,
      state: 'success',
      interrupts: true,
    });
    return target;
  }

  // ---- deletion -------------------------------------------------------------------------------

  async #terminate(instanceId: string, signal?: AbortSignal): Promise<void> {
    try {
      await this.api.call(
        'TerminateInstances',
        (client, options) =>
          client.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] }), options),
        { signal },
      );
    } catch (error) {
      if (ec2ErrorCode(error) !== 'InvalidInstanceID.NotFound') throw error;
    }
  }

  async #deleteKeyPair(keyName: string, signal?: AbortSignal): Promise<void> {
    await this.api.call(
      'DeleteKeyPair',
      (client, options) => client.send(new DeleteKeyPairCommand({ KeyName: keyName }), options),
      { signal },
    );
  }

  /** Terminates an instance and deletes its per-instance key pair; both are attempted. */
  async #release(
    { instanceId, keyName }: { instanceId: string; keyName: string },
    signal?: AbortSignal,
  ): Promise<void> {
    const results = await Promise.allSettled([
      this.#terminate(instanceId, signal),
      this.config.KEY_NAME ? Promise.resolve() : this.#deleteKeyPair(keyName, signal),
    ]);
    const failure = results.find((result) => result.status === 'rejected');
    if (failure) throw toEc2ApiError('stop', failure.reason);
  }

  /**
   * Deletes what a failed or aborted start created. An aborted RunInstances may still have
   * launched: its client tokens find the instance.
   */
  async #cleanUpFailedStart(created: StartResources, cause: unknown): Promise<void> {
    const signal = AbortSignal.timeout(CLEANUP_TIMEOUT_MS);
    const instanceIds = new Set<string>(created.instanceId ? [created.instanceId] : []);
    try {
      if (!created.instanceId && created.clientTokens.length > 0) {
        const answer = await this.api.call(
          'DescribeInstances',
          (client, options) =>
            client.send(
              new DescribeInstancesCommand({
                Filters: [{ Name: 'client-token', Values: created.clientTokens }],
              }),
              options,
            ),
          { signal },
        );
        for (const reservation of answer.Reservations ?? []) {
          for (const instance of reservation.Instances ?? [])
            if (instance.InstanceId) instanceIds.add(instance.InstanceId);
        }
      }
      await Promise.all([
        ...[...instanceIds].map((id) => this.#terminate(id, signal)),
        ...(created.keyName ? [this.#deleteKeyPair(created.keyName, signal)] : []),
      ]);
    } catch (error) {
      this.#context.logger.error(
        'ec2: cleanup after a failed start did not finish; `workerkit gc` will retry',
        {
          instances: [...instanceIds],
          keyName: created.keyName,
          error: String(error),
          cause: String(cause),
        },
      );
    }
  }
}

function tagMap(tags: { Key?: string; Value?: string }[] | undefined): Record<string, string> {
  const map: Record<string, string> = {};
  for (const tag of tags ?? []) if (tag.Key !== undefined) map[tag.Key] = tag.Value ?? '';
  return map;
}

function toTags(tags: Record<string, string>): { Key: string; Value: string }[] {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}

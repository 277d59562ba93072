import { DescribeInstanceTypesCommand } from '@aws-sdk/client-ec2';
import {
  expiryFor,
  hostnameFromJob,
  InvalidConfigError,
  lifecycleLabels,
  type ManagedResource,
  markStartPhase,
  nullProgresser,
  type OwnerLeaseStore,
  type Progresser,
  type Provider,
  type ProviderContext,
  type SignalOptions,
  type StartAttributes,
  type StartOptions,
  withDefaults,
} from '@workerkit/core';
import { waitRunning } from './ec2-boot-wait.js';
import { createEc2Api, type Ec2Api } from './ec2-client.js';
import type { Ec2Context } from './ec2-context.js';
import { ec2ErrorCode } from './ec2-errors.js';
import { Ec2ImageResolver, type ResolvedImage } from './ec2-image.js';
import { Ec2Instance } from './ec2-instance.js';
import { createKeyPair } from './ec2-key-pairs.js';
import { runInstance } from './ec2-launch.js';
import { deleteEc2Resource, listEc2Resources } from './ec2-managed-resources.js';
import { EC2_ALIAS, type Ec2Config } from './ec2-options.js';
import { renderUserData } from './ec2-run-instances-request.js';
import { connectSsh } from './ec2-ssh-connect.js';
import { cleanUpFailedStart, releaseInstance, StartResources } from './ec2-start-cleanup.js';

/** The ec2 provider: instances on AWS EC2 (or an API-compatible endpoint), reached over SSH. */
export class Ec2Provider implements Provider {
  readonly alias = EC2_ALIAS;
  readonly supportsProgress = true;
  readonly config: Ec2Config;
  readonly api: Ec2Api;
  readonly #context: ProviderContext;
  readonly #images: Ec2ImageResolver;
  /** What the start steps and resource functions share. */
  readonly #ec2: Ec2Context;

  constructor(
    config: Ec2Config,
    context: ProviderContext,
    api: Ec2Api = createEc2Api(config, context.logger, undefined, context.ownerId),
  ) {
    this.config = config;
    this.#context = context;
    this.api = api;
    this.#images = new Ec2ImageResolver(config, api);
    this.#ec2 = { api, config, logger: context.logger };
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
          expiresAt: expiryFor(job.hardTimeoutMs),
        }),
      };
      const key = await createKeyPair(this.#ec2, hostname, tags, created, signal);
      const userData = renderUserData(this.config, {
        hardTimeoutMs: job.hardTimeoutMs,
        ...(this.config.KEY_NAME ? { authorizedKey: key.publicKey } : {}),
      });
      const { instance, choice } = await runInstance(
        this.#ec2,
        image,
        key.keyName,
        userData,
        tags,
        job,
        created,
        progress,
        signal,
      );
      const running = await waitRunning(this.#ec2, instance.InstanceId!, started, progress, signal);
      markStartPhase('boot');
      const target = await connectSsh(this.#ec2, running, key.privateKey, progress, signal);
      const startupDuration = performance.now() - started;
      const instanceId = instance.InstanceId!;
      const keyName = key.keyName;
      return new Ec2Instance({
        api: this.api,
        instanceId,
        imageName: image.name,
        market: choice.market,
        startupDuration,
        hardTimeoutMs: job.hardTimeoutMs,
        target,
        progress,
        logger: this.#context.logger,
        release: (releaseSignal) => releaseInstance(this.#ec2, { instanceId, keyName }, releaseSignal),
      });
    } catch (error) {
      await cleanUpFailedStart(this.#ec2, created, error);
      throw error;
    }
  }

  listManagedResources(options: SignalOptions = {}): Promise<ManagedResource[]> {
    return listEc2Resources(this.#ec2, options);
  }

  deleteManagedResource(resource: ManagedResource, options: SignalOptions = {}): Promise<void> {
    return deleteEc2Resource(this.#ec2, resource, options);
  }

  /** Owner leases in the fleet's Redis (RATE_LIMIT_REDIS_URL), which `reap` consults. */
  get ownerLeases(): OwnerLeaseStore | undefined {
    return this.api.limiter.ownerLeases;
  }

  async close(): Promise<void> {
    this.api.client.destroy();
    await this.api.limiter.close();
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
}

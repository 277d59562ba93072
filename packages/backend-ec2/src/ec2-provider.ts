import {
  expiryFor,
  hostnameFromJob,
  lifecycleLabels,
  type ManagedResource,
  markStartPhase,
  nullProgresser,
  type OwnerLeaseStore,
  type Progresser,
  type Provider,
  type ProviderConfig,
  type ProviderContext,
  providerContext,
  type SignalOptions,
  type StartAttributes,
  type StartOptions,
  toProviderConfig,
  withDefaults,
} from '@workerkit/core';
import { Ec2InstanceTypes } from './ec2-architecture.js';
import { livenessCheck, waitForAddress } from './ec2-boot-wait.js';
import { createEc2Api, type Ec2Api } from './ec2-client.js';
import type { Ec2Context } from './ec2-context.js';
import { Ec2ImageResolver } from './ec2-image.js';
import { Ec2Instance } from './ec2-instance.js';
import { createKeyPair } from './ec2-key-pairs.js';
import { runInstance } from './ec2-launch.js';
import { type PlannedLaunch, planLaunch } from './ec2-launch-plan.js';
import { deleteEc2Resource, listEc2Resources } from './ec2-managed-resources.js';
import { EC2_ALIAS, type Ec2Options, parseEc2Options } from './ec2-options.js';
import { launchChoices, renderUserData } from './ec2-run-instances-request.js';
import { connectSsh } from './ec2-ssh-connect.js';
import { cleanUpFailedStart, releaseInstance, StartResources } from './ec2-start-cleanup.js';

/**
 * Creates an ec2 provider without touching the global registry. `config` holds the options
 * under their documented names (see README); bad values throw `InvalidConfigError` here,
 * before anything is created.
 */
export function createEc2Provider(
  config: ProviderConfig | Readonly<Record<string, string | undefined>> = {},
  context: Partial<ProviderContext> = {},
): Ec2Provider {
  return new Ec2Provider(parseEc2Options(toProviderConfig(config)), providerContext(context));
}

/** The ec2 provider: instances on AWS EC2 (or an API-compatible endpoint), reached over SSH. */
export class Ec2Provider implements Provider {
  readonly alias = EC2_ALIAS;
  readonly supportsProgress = true;
  readonly options: Ec2Options;
  readonly api: Ec2Api;
  readonly #context: ProviderContext;
  readonly #images: Ec2ImageResolver;
  readonly #types: Ec2InstanceTypes;
  /** What the start steps and resource functions share. */
  readonly #ec2: Ec2Context;

  constructor(
    options: Ec2Options,
    context: ProviderContext,
    api: Ec2Api = createEc2Api(options, context.logger, context.ownerId),
  ) {
    this.options = options;
    this.#context = context;
    this.api = api;
    this.#images = new Ec2ImageResolver(options, api);
    this.#types = new Ec2InstanceTypes(api, options.REGION);
    this.#ec2 = { api, options, logger: context.logger };
  }

  /**
   * Checks credentials, region and that every configured instance type exists there (one
   * DescribeInstanceTypes, whose architectures are kept for matching images).
   */
  async setup(options: SignalOptions = {}): Promise<void> {
    const types = [
      this.options.INSTANCE_TYPE,
      ...this.options.INSTANCE_TYPE_FALLBACKS,
      ...Object.values(this.options.VM_SIZE_MAP),
    ];
    await this.#types.architectures(types, 'INSTANCE_TYPE', options.signal);
    const reference = this.options.IMAGE_DEFAULT;
    if (reference) {
      // The default image must fit the default instance type: better said now than per job.
      await planLaunch(
        this.#types,
        this.#images,
        reference,
        launchChoices(this.options, undefined),
        'INSTANCE_TYPE',
        options.signal,
      );
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
      const plan = await this.#plan(job, progress, signal);
      const hostname = hostnameFromJob(job);
      const tags = this.#tags(job, hostname);
      const key = await createKeyPair(this.#ec2, hostname, tags, created, signal);
      const userData = renderUserData(this.options, {
        hardTimeoutMs: job.hardTimeoutMs,
        authorizedKey: key.publicKey,
      });
      const { instance, choice } = await runInstance(
        this.#ec2,
        plan,
        key.keyName,
        userData,
        tags,
        created,
        progress,
        signal,
      );
      const instanceId = instance.InstanceId!;
      const addressed = await waitForAddress(this.#ec2, instance, started, progress, signal);
      markStartPhase('boot');
      const stillBooting = livenessCheck(this.#ec2, instanceId, started, progress);
      const target = await connectSsh(this.#ec2, addressed, key.privateKey, stillBooting, progress, signal);
      const keyName = created.keyName;
      return new Ec2Instance({
        api: this.api,
        instanceId,
        imageName: choice.image.name,
        market: choice.market,
        startupDuration: performance.now() - started,
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
    this.api.destroy();
    await this.api.limiter.close();
  }

  /** `await using provider = …` closes it. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  // ---- start steps ----------------------------------------------------------------------------

  /** The image reference for the job, paired with each instance type of its architecture. */
  async #plan(job: StartAttributes, progress: Progresser, signal?: AbortSignal): Promise<PlannedLaunch[]> {
    try {
      const reference = await this.#images.select(job, signal);
      const plan = await planLaunch(
        this.#types,
        this.#images,
        reference,
        launchChoices(this.options, job.vmSize),
        job.vmSize && this.options.VM_SIZE_MAP[job.vmSize] ? 'VM_SIZE_MAP' : 'INSTANCE_TYPE',
        signal,
      );
      progress.progress({ message: `selected image "${plan[0]!.image.name}"`, state: 'success' });
      return plan;
    } catch (error) {
      if (!signal?.aborted) progress.progress({ message: 'could not select image', state: 'failure' });
      throw error;
    }
  }

  /** Name, TAGS, the workerkit lifecycle tags and the Go worker's `travis.*` tags. */
  #tags(job: StartAttributes, hostname: string): Record<string, string> {
    const [org, repo] = (job.repository ?? '').split('/');
    return {
      ...(this.options.TAGS ?? {}),
      Name: hostname,
      ...(job.dist ? { 'travis.dist': job.dist } : {}),
      ...(job.repository ? { 'travis.repo': job.repository } : {}),
      ...(repo ? { 'travis.github_repo': repo } : {}),
      ...(org && repo ? { 'travis.github_org': org } : {}),
      ...(job.jobId ? { 'travis.job_id': job.jobId } : {}),
      ...lifecycleLabels({
        ownerId: this.#context.ownerId,
        ...(job.jobId ? { jobId: job.jobId } : {}),
        expiresAt: expiryFor(job.hardTimeoutMs),
      }),
    };
  }
}

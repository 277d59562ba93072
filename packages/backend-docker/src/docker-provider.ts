import type { Agent as HttpAgent } from 'node:http';
import {
  type Instance,
  type Logger,
  type ManagedResource,
  type Progresser,
  type Provider,
  ProviderApiError,
  type ProviderConfig,
  type ProviderContext,
  providerContext,
  type SignalOptions,
  type StartAttributes,
  type StartOptions,
  toProviderConfig,
} from '@workerkit/core';
import type Docker from 'dockerode';
import { createContainerFollowed, type FollowedCreateContext } from './container-create.js';
import { lastOutput, startContainer } from './container-start.js';
import { CpuSetAllocator } from './cpu-set-allocator.js';
import { containerNameFor, containerSpec, type SshEndpoint } from './docker-container-spec.js';
import { engineMessage, statusOf, toDockerApiError } from './docker-errors.js';
import { DockerImageSelection } from './docker-image-selection.js';
import { DockerInstance, type Releasable, removeContainer } from './docker-instance.js';
import {
  type DockerResourceScope,
  deleteDockerResource,
  listDockerResources,
} from './docker-managed-resources.js';
import { NativeChannel, type ScriptChannel } from './docker-native-channel.js';
import { DOCKER_ALIAS, type DockerOptions, parseDockerOptions } from './docker-options.js';
import { plainEngineTarget } from './exec-attach.js';
import { FOLLOW_SETTLE_MS, LateCleanups } from './followed-call.js';
import { HostOutputDirs } from './host-output.js';
import { withJobContainerName } from './job-container-name.js';
import { PortPool } from './port-pool.js';
import { WarmContainers } from './warm-containers.js';

/** What needs dockerode, made once it is loaded (setup() or the first call that talks to the daemon). */
interface EngineClient {
  docker: Docker;
  agent: HttpAgent;
  images: DockerImageSelection;
  warm: WarmContainers | undefined;
}

let clientModule: Promise<typeof import('./docker-client.js')> | undefined;

/** Loads dockerode (once per process): importing this package must not. */
function loadDockerClient(): Promise<typeof import('./docker-client.js')> {
  clientModule ??= import('./docker-client.js').catch((error: unknown) => {
    clientModule = undefined;
    throw new ProviderApiError({
      provider: DOCKER_ALIAS,
      operation: 'setup',
      message: `loading the Docker SDK failed (the "dockerode" package, a dependency of @workerkit/backend-docker: reinstall it): ${error instanceof Error ? error.message : String(error)}`,
      retryable: false,
      code: 'sdk-missing',
      cause: error,
    });
  });
  return clientModule;
}

/**
 * A docker provider without touching the global registry. `config` holds the Go option names
 * (`ENDPOINT`, `NATIVE`, …) as a ProviderConfig or a plain map.
 */
export function createDockerProvider(
  config: ProviderConfig | Readonly<Record<string, string | undefined>>,
  context: Partial<ProviderContext> = {},
): DockerProvider {
  return new DockerProvider(toProviderConfig(config), providerContext(context));
}

/** The Docker backend: one container per job, run natively (exec) or over ssh. */
export class DockerProvider implements Provider {
  readonly alias = DOCKER_ALIAS;
  readonly supportsProgress = true;
  readonly options: DockerOptions;
  readonly #config: ProviderConfig;
  readonly #ownerId: string;
  readonly #logger: Logger;
  readonly #cpuSets: CpuSetAllocator | undefined;
  readonly #sshPorts: PortPool | undefined;
  readonly #hostOutput: HostOutputDirs | undefined;
  readonly #lateCleanups = new LateCleanups();
  #client: Promise<EngineClient> | undefined;
  #loaded: EngineClient | undefined;

  /** Checks every option (nothing is loaded or contacted yet). */
  constructor(config: ProviderConfig, context: ProviderContext) {
    this.options = parseDockerOptions(config);
    this.#config = config;
    this.#ownerId = context.ownerId;
    this.#logger = context.logger;
    this.#cpuSets = this.options.CPUS > 0 ? new CpuSetAllocator(this.options.CPU_SET_SIZE) : undefined;
    if (!this.options.NATIVE && this.options.SSH_ADDRESS) {
      this.#sshPorts = new PortPool(this.options.SSH_PORT.first, this.options.SSH_PORT.last);
    }
    if (this.options.HOST_OUTPUT_DIR) this.#hostOutput = new HostOutputDirs(this.options.HOST_OUTPUT_DIR);
  }

  /** The dockerode client, once setup() or a call that talks to the daemon loaded it. */
  get docker(): Docker {
    if (!this.#loaded)
      throw new Error('docker: the client is made by setup() (or the first start); call it first');
    return this.#loaded.docker;
  }

  /** Loads dockerode and makes the client and what uses it, once. */
  #engine(): Promise<EngineClient> {
    this.#client ??= loadDockerClient().then(({ createDockerClient }) => {
      const { docker, agent } = createDockerClient(this.options);
      this.#loaded = {
        docker,
        agent,
        images: new DockerImageSelection(docker, this.options, this.#config),
        warm:
          this.options.WARM_CONTAINERS > 0
            ? new WarmContainers({
                docker,
                settings: this.options,
                ownerId: this.#ownerId,
                logger: this.#logger,
                hostOutput: this.#hostOutput,
              })
            : undefined,
      };
      return this.#loaded;
    });
    // A failed load (a missing package) is tried again by the next call.
    this.#client.catch(() => {
      this.#client = undefined;
    });
    return this.#client;
  }

  /** Warm containers ready for a job (0 when WARM_CONTAINERS is off). */
  get warmCount(): number {
    return this.#loaded?.warm?.readyCount ?? 0;
  }

  /**
   * Fills the warm pool (WARM_CONTAINERS) with containers for the image these attributes
   * select, so even the first job skips create and start; resolves when they run. Without a
   * pool it does nothing.
   */
  async prewarm(attributes: StartAttributes, options: SignalOptions = {}): Promise<void> {
    if (this.options.WARM_CONTAINERS === 0) return;
    const { images, warm } = await this.#engine();
    const image = await images.select(attributes, options.signal);
    warm!.topUp(image.id);
    await this.whenWarmPoolIdle();
  }

  /** Resolves once no warm container is being started (refills run after each job's stop). */
  whenWarmPoolIdle(): Promise<void> {
    return this.#loaded?.warm?.idle() ?? Promise.resolve();
  }

  /** CPUs free for new containers (undefined when CPU sets are off). */
  get freeCpus(): number | undefined {
    return this.#cpuSets?.free;
  }

  /**
   * Checks that the daemon answers and speaks the configured API version, and that
   * HOST_OUTPUT_DIR (if set) exists or can be made and holds a FIFO.
   */
  async setup(options: SignalOptions = {}): Promise<void> {
    await this.#checkDaemon(options);
    if (!this.#hostOutput) return;
    try {
      await this.#hostOutput.check();
    } catch (error) {
      throw new ProviderApiError({
        provider: DOCKER_ALIAS,
        operation: 'setup',
        message: `HOST_OUTPUT_DIR ${this.#hostOutput.root} cannot hold the output FIFOs (it needs mkfifo and a local directory): ${error instanceof Error ? error.message : String(error)}`,
        retryable: false,
        code: 'host-output-dir',
        cause: error,
      });
    }
  }

  async #checkDaemon(options: SignalOptions): Promise<void> {
    const { docker } = await this.#engine();
    let version: Docker.DockerVersion;
    try {
      version = await docker.version();
    } catch (error) {
      options.signal?.throwIfAborted();
      if (statusOf(error) === 400) {
        throw new ProviderApiError({
          provider: DOCKER_ALIAS,
          operation: 'setup',
          message: `API_VERSION is ${this.options.API_VERSION}, which the daemon at ${this.options.ENDPOINT.address} refuses: ${engineMessage(error)}`,
          retryable: false,
          code: 'api-version',
          cause: error,
        });
      }
      throw toDockerApiError(`connecting to ${this.options.ENDPOINT.address}`, error);
    }
    const wanted = minor(this.options.API_VERSION);
    const highest = minor(version.ApiVersion);
    const lowest = minor((version as { MinAPIVersion?: string }).MinAPIVersion ?? '1.12');
    if (wanted > highest || wanted < lowest) {
      throw new ProviderApiError({
        provider: DOCKER_ALIAS,
        operation: 'setup',
        message: `the daemon at ${this.options.ENDPOINT.address} speaks API ${lowest === 12 ? '' : `1.${lowest}-`}1.${highest}, API_VERSION is ${this.options.API_VERSION}`,
        retryable: false,
        code: 'api-version',
      });
    }
  }

  async start(attributes: StartAttributes, options: StartOptions = {}): Promise<Instance> {
    const { signal } = options;
    const progress = options.progress;
    signal?.throwIfAborted();
    const began = Date.now();
    const { images, warm } = await this.#engine();
    const image = await images.select(attributes, signal);
    signal?.throwIfAborted();
    report(progress, { message: `using image ${image.name}`, state: 'success' });
    const holds: Releasable[] = [];
    let sshEndpoint: SshEndpoint | undefined;
    let containerId: string | undefined;
    let channel: ScriptChannel | undefined;
    const name = containerNameFor(attributes);
    try {
      const cpuSet = this.#cpuSets?.acquire(this.options.CPUS);
      if (cpuSet) holds.push(cpuSet);
      if (this.#sshPorts) {
        const port = await this.#sshPorts.acquireBindable(this.options.SSH_ADDRESS!);
        holds.push(port);
        sshEndpoint = { address: this.options.SSH_ADDRESS!, port: port.port };
      }
      // ssh mode's modules (and ssh2) load only when it is used.
      const ssh = this.options.NATIVE
        ? undefined
        : await (await import('./docker-ssh-channel.js')).prepareSshAccess(name);
      if (warm) holds.push({ release: () => warm.topUp(image.id) });
      const claimed = warm ? await warm.claim(image.id, name, attributes, cpuSet, signal) : undefined;
      let outputDir = claimed?.outputDir;
      let state: Docker.ContainerInspectInfo | undefined;
      if (claimed) {
        containerId = claimed.id;
        if (outputDir) holds.push(this.#outputDirHold(outputDir));
        report(progress, { message: `claimed warm container ${containerId.slice(0, 7)}`, state: 'success' });
      } else {
        outputDir = this.#hostOutput?.create();
        if (outputDir) holds.push(this.#outputDirHold(outputDir));
        const spec = containerSpec(
          {
            settings: this.options,
            attributes,
            imageId: image.id,
            ownerId: this.#ownerId,
            ...(cpuSet ? { cpusetCpus: cpuSet.cpusetCpus } : {}),
            ...(sshEndpoint ? { ssh: sshEndpoint } : {}),
            ...(outputDir ? { output: { dir: outputDir, bind: this.#hostOutput!.bind(outputDir) } } : {}),
          },
          name,
        );
        report(progress, { message: `creating container ${name}` });
        // An abort waits for the create's answer (see createContainerFollowed): the container
        // then has an ID, and the cleanup below removes it.
        containerId = await withJobContainerName(
          { docker: this.docker, logger: this.#logger, progress },
          name,
          attributes,
          'container create',
          () => createContainerFollowed(this.#followedCreate, spec, signal),
        );
        report(progress, { message: `created container ${containerId.slice(0, 7)}` });
        signal?.throwIfAborted();
        if (ssh) await ssh.install(this.docker.getContainer(containerId), signal);
        state = await startContainer(this.docker, containerId, this.options.INSPECT_INTERVAL, signal);
        report(progress, { message: `container ${containerId.slice(0, 7)} running`, state: 'success' });
      }
      const container = this.docker.getContainer(containerId);
      channel = ssh
        ? await this.#connectSsh(container, signal, (connectSignal) =>
            ssh.connect({
              host: this.options.SSH_ADDRESS || containerAddress(state!),
              port: sshEndpoint?.port ?? this.options.SSH_PORT.first,
              dialTimeoutMs: this.options.SSH_DIAL_TIMEOUT,
              readyTimeoutMs: this.options.SSH_READY_TIMEOUT,
              execCommand: this.options.EXEC_CMD,
              env: this.options.proxyEnv,
              pty: this.options.TTY,
              logger: this.#logger,
              ...(progress ? { progress } : {}),
              signal: connectSignal,
            }),
          )
        : new NativeChannel({
            docker: this.docker,
            containerId,
            execCommand: this.options.EXEC_CMD,
            tty: this.options.TTY,
            env: this.options.proxyEnv,
            inspectIntervalMs: this.options.INSPECT_INTERVAL,
            logger: this.#logger,
            plainTarget: plainEngineTarget(this.options),
            hostOutput: outputDir ? { dirs: this.#hostOutput!, dir: outputDir } : undefined,
          });
      signal?.throwIfAborted();
      return new DockerInstance({
        docker: this.docker,
        containerId,
        containerName: name,
        imageName: image.name,
        startupDuration: Date.now() - began,
        channel,
        holds,
        stopTimeoutMs: this.options.STOP_TIMEOUT,
        hardTimeoutMs: attributes.hardTimeoutMs,
        logger: this.#logger,
      });
    } catch (error) {
      await channel?.close().catch(() => {});
      // Whatever exists is removed before the start rejects.
      const target = containerId;
      if (target) {
        await removeContainer(this.docker, target, { logger: this.#logger }).catch((removeError: unknown) =>
          this.#logger.error('docker: removing a container after a failed start failed', {
            container: target,
            error: engineMessage(removeError),
          }),
        );
      }
      for (const hold of holds) hold.release();
      report(progress, {
        message: `start failed: ${error instanceof Error ? error.message : String(error)}`,
        state: 'failure',
      });
      if (signal?.aborted) throw signal.reason;
      throw error;
    }
  }

  get #followedCreate(): FollowedCreateContext {
    return { docker: this.docker, logger: this.#logger, late: this.#lateCleanups };
  }

  /** Removes a HOST_OUTPUT_DIR directory once its container is gone. */
  #outputDirHold(dir: string): Releasable {
    return { release: () => this.#hostOutput?.remove(dir) };
  }

  /**
   * Waits for sshd to accept the login, but gives up at once when the container exits meanwhile
   * (a broken sshd): the daemon's wait call tells, without polling.
   */
  async #connectSsh(
    container: Docker.Container,
    signal: AbortSignal | undefined,
    connect: (signal: AbortSignal) => Promise<ScriptChannel>,
  ): Promise<ScriptChannel> {
    const watch = new AbortController();
    const exited = new AbortController();
    const waiting = container
      .wait({ abortSignal: watch.signal })
      .then(async (answer: { StatusCode?: number }) => {
        const output = await lastOutput(container);
        exited.abort(
          new ProviderApiError({
            provider: DOCKER_ALIAS,
            operation: 'ssh',
            message: `the container exited (exit code ${answer.StatusCode}) before its sshd accepted a login; check CMD${output ? `; its output ends: ${output}` : ''}`,
            retryable: false,
            code: 'container-exited',
          }),
        );
      })
      .catch(() => {});
    try {
      return await connect(signal ? AbortSignal.any([signal, exited.signal]) : exited.signal);
    } catch (error) {
      if (exited.signal.aborted && !signal?.aborted) throw exited.signal.reason;
      throw error;
    } finally {
      watch.abort();
      await waiting;
    }
  }

  /**
   * Containers with the lifecycle labels (and this provider's CONTAINER_LABELS, which scope a
   * worker pool), running or not, and HOST_OUTPUT_DIR directories left without a container:
   * what `reap`/`workerkit gc` and leak checks look at.
   */
  async listManagedResources(options: SignalOptions = {}): Promise<ManagedResource[]> {
    return listDockerResources(await this.#resourceScope(), options.signal);
  }

  /** Removes a container (and its HOST_OUTPUT_DIR directory), or a left-over directory. */
  async deleteManagedResource(resource: ManagedResource, options: SignalOptions = {}): Promise<void> {
    return deleteDockerResource(await this.#resourceScope(), resource, options.signal);
  }

  async #resourceScope(): Promise<DockerResourceScope> {
    return {
      docker: (await this.#engine()).docker,
      containerLabels: this.options.CONTAINER_LABELS,
      hostOutput: this.#hostOutput,
      logger: this.#logger,
    };
  }

  /** Removes the warm containers (WARM_CONTAINERS) and closes the daemon connections. */
  async close(): Promise<void> {
    const client = await this.#client?.catch(() => undefined);
    if (!client) return;
    const { warm, agent } = client;
    await warm?.close();
    await this.#lateCleanups.settle(FOLLOW_SETTLE_MS);
    agent.destroy();
  }

  /** `await using provider = …` closes it. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

function minor(version: string): number {
  return Number(/^v?1\.(\d+)/.exec(version)?.[1] ?? Number.NaN);
}

function containerAddress(state: Docker.ContainerInspectInfo): string {
  const networks = Object.values(state.NetworkSettings.Networks ?? {});
  const address =
    (state.NetworkSettings as { IPAddress?: string }).IPAddress ||
    networks.find((network) => network.IPAddress)?.IPAddress;
  if (!address) {
    throw new ProviderApiError({
      provider: DOCKER_ALIAS,
      operation: 'ssh',
      message:
        'the container has no IP address; with NETWORK_MODE=host or none set SSH_ADDRESS (and an SSH_PORT range)',
      retryable: false,
      code: 'no-address',
    });
  }
  return address;
}

function report(progress: Progresser | undefined, entry: Parameters<Progresser['progress']>[0]): void {
  try {
    progress?.progress(entry);
  } catch {
    // A broken progress sink must not break the start.
  }
}

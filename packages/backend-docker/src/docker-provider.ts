import { readFileSync } from 'node:fs';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import {
  type Instance,
  type Logger,
  type ManagedResource,
  type Progresser,
  type Provider,
  ProviderApiError,
  type ProviderConfig,
  type ProviderContext,
  type SignalOptions,
  type StartAttributes,
  type StartOptions,
} from '@workerkit/core';
import Docker from 'dockerode';
import { createContainerFollowed, type FollowedCreateContext } from './container-create.js';
import { lastOutput, startContainer } from './container-start.js';
import { CpuSetAllocator } from './cpu-set-allocator.js';
import { containerNameFor, containerSpec, type SshEndpoint } from './docker-container-spec.js';
import { dockerApiError, engineMessage, statusOf } from './docker-errors.js';
import { DockerImageSelection } from './docker-image-selection.js';
import { DockerInstance, type Releasable, removeContainer } from './docker-instance.js';
import {
  type DockerResourceScope,
  deleteDockerResource,
  listDockerResources,
} from './docker-managed-resources.js';
import { NativeChannel, type ScriptChannel } from './docker-native-channel.js';
import { DOCKER_ALIAS, type DockerSettings, parseDockerSettings } from './docker-options.js';
import { prepareSshAccess } from './docker-ssh-channel.js';
import { plainEngineTarget } from './exec-attach.js';
import { FOLLOW_SETTLE_MS, LateCleanups } from './followed-call.js';
import { HostOutputDirs } from './host-output.js';
import { withJobContainerName } from './job-container-name.js';
import { PortPool } from './port-pool.js';
import { WarmContainers } from './warm-containers.js';

/** docker-modem takes an http(s) Agent; @types/dockerode does not list it. */
type DockerOptionsWithAgent = Docker.DockerOptions & { agent: HttpAgent };

/** Creates the dockerode client for the configured endpoint; environment variables are ignored. */
export function createDockerClient(settings: DockerSettings): { docker: Docker; agent: HttpAgent } {
  const endpoint = settings.ENDPOINT;
  const version = `v${settings.API_VERSION}`;
  // dockerode merges DOCKER_HOST/DOCKER_CERT_PATH from the environment under explicit options:
  // every connection field is set explicitly so only the provider's configuration counts.
  const cleared = {
    host: undefined,
    port: undefined,
    socketPath: undefined,
    ca: undefined,
    cert: undefined,
    key: undefined,
  };
  if (endpoint.kind === 'unix') {
    const agent = new HttpAgent({ keepAlive: true });
    return {
      docker: new Docker({
        ...cleared,
        socketPath: endpoint.socketPath,
        version,
        agent,
      } as DockerOptionsWithAgent),
      agent,
    };
  }
  const tls = settings.tls;
  const agent =
    endpoint.protocol === 'https' || tls
      ? new HttpsAgent({ keepAlive: true, rejectUnauthorized: settings.TLS_VERIFY ?? false, ...(tls ?? {}) })
      : new HttpAgent({ keepAlive: true });
  const docker = new Docker({
    ...cleared,
    host: endpoint.host,
    port: endpoint.port,
    protocol: endpoint.protocol === 'https' || tls ? 'https' : 'http',
    ...(tls ?? {}),
    version,
    agent,
  } as DockerOptionsWithAgent);
  return { docker, agent };
}

/** The Docker backend: one container per job, run natively (exec) or over ssh. */
export class DockerProvider implements Provider {
  readonly alias = DOCKER_ALIAS;
  readonly supportsProgress = true;
  readonly settings: DockerSettings;
  readonly docker: Docker;
  readonly #agent: HttpAgent;
  readonly #ownerId: string;
  readonly #logger: Logger;
  readonly #images: DockerImageSelection;
  readonly #cpuSets: CpuSetAllocator | undefined;
  readonly #sshPorts: PortPool | undefined;
  readonly #warm: WarmContainers | undefined;
  readonly #hostOutput: HostOutputDirs | undefined;
  readonly #lateCleanups = new LateCleanups();

  constructor(config: ProviderConfig, context: ProviderContext) {
    this.settings = parseDockerSettings(config, (path) => readFileSync(path));
    this.#ownerId = context.ownerId;
    this.#logger = context.logger;
    const client = createDockerClient(this.settings);
    this.docker = client.docker;
    this.#agent = client.agent;
    this.#images = new DockerImageSelection(this.docker, this.settings, config);
    this.#cpuSets = this.settings.CPUS > 0 ? new CpuSetAllocator(this.settings.CPU_SET_SIZE) : undefined;
    if (!this.settings.NATIVE && this.settings.SSH_ADDRESS) {
      this.#sshPorts = new PortPool(this.settings.SSH_PORT.first, this.settings.SSH_PORT.last);
    }
    if (this.settings.HOST_OUTPUT_DIR) this.#hostOutput = new HostOutputDirs(this.settings.HOST_OUTPUT_DIR);
    if (this.settings.WARM_CONTAINERS > 0) {
      this.#warm = new WarmContainers({
        docker: this.docker,
        settings: this.settings,
        ownerId: this.#ownerId,
        logger: this.#logger,
        hostOutput: this.#hostOutput,
      });
    }
  }

  /** Warm containers ready for a job (0 when WARM_CONTAINERS is off). */
  get warmCount(): number {
    return this.#warm?.readyCount ?? 0;
  }

  /**
   * Fills the warm pool (WARM_CONTAINERS) with containers for the image these attributes
   * select, so even the first job skips create and start; resolves when they run. Without a
   * pool it does nothing.
   */
  async prewarm(attributes: StartAttributes, options: SignalOptions = {}): Promise<void> {
    if (!this.#warm) return;
    const image = await this.#images.select(attributes, options.signal);
    this.#warm.topUp(image.id);
    await this.whenWarmPoolIdle();
  }

  /** Resolves once no warm container is being started (refills run after each job's stop). */
  whenWarmPoolIdle(): Promise<void> {
    return this.#warm?.idle() ?? Promise.resolve();
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
    let version: Docker.DockerVersion;
    try {
      version = await this.docker.version();
    } catch (error) {
      options.signal?.throwIfAborted();
      if (statusOf(error) === 400) {
        throw new ProviderApiError({
          provider: DOCKER_ALIAS,
          operation: 'setup',
          message: `API_VERSION is ${this.settings.API_VERSION}, which the daemon at ${this.settings.ENDPOINT.address} refuses: ${engineMessage(error)}`,
          retryable: false,
          code: 'api-version',
          cause: error,
        });
      }
      throw dockerApiError(`connecting to ${this.settings.ENDPOINT.address}`, error);
    }
    const wanted = minor(this.settings.API_VERSION);
    const highest = minor(version.ApiVersion);
    const lowest = minor((version as { MinAPIVersion?: string }).MinAPIVersion ?? '1.12');
    if (wanted > highest || wanted < lowest) {
      throw new ProviderApiError({
        provider: DOCKER_ALIAS,
        operation: 'setup',
        message: `the daemon at ${this.settings.ENDPOINT.address} speaks API ${lowest === 12 ? '' : `1.${lowest}-`}1.${highest}, API_VERSION is ${this.settings.API_VERSION}`,
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
    const image = await this.#images.select(attributes, signal);
    signal?.throwIfAborted();
    report(progress, { message: `using image ${image.name}`, state: 'success' });
    const holds: Releasable[] = [];
    let sshEndpoint: SshEndpoint | undefined;
    let containerId: string | undefined;
    let channel: ScriptChannel | undefined;
    const name = containerNameFor(attributes);
    try {
      const cpuSet = this.#cpuSets?.acquire(this.settings.CPUS);
      if (cpuSet) holds.push(cpuSet);
      if (this.#sshPorts) {
        const port = await this.#sshPorts.acquireBindable(this.settings.SSH_ADDRESS!);
        holds.push(port);
        sshEndpoint = { address: this.settings.SSH_ADDRESS!, port: port.port };
      }
      const ssh = this.settings.NATIVE ? undefined : await prepareSshAccess(name);
      const warm = this.#warm;
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
            settings: this.settings,
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
        state = await startContainer(this.docker, containerId, this.settings.INSPECT_INTERVAL, signal);
        report(progress, { message: `container ${containerId.slice(0, 7)} running`, state: 'success' });
      }
      const container = this.docker.getContainer(containerId);
      channel = ssh
        ? await this.#connectSsh(container, signal, (connectSignal) =>
            ssh.connect({
              host: this.settings.SSH_ADDRESS || containerAddress(state!),
              port: sshEndpoint?.port ?? this.settings.SSH_PORT.first,
              dialTimeoutMs: this.settings.SSH_DIAL_TIMEOUT,
              readyTimeoutMs: this.settings.SSH_READY_TIMEOUT,
              execCommand: this.settings.EXEC_CMD,
              env: this.settings.proxyEnv,
              pty: this.settings.TTY,
              logger: this.#logger,
              ...(progress ? { progress } : {}),
              signal: connectSignal,
            }),
          )
        : new NativeChannel({
            docker: this.docker,
            containerId,
            execCommand: this.settings.EXEC_CMD,
            tty: this.settings.TTY,
            env: this.settings.proxyEnv,
            inspectIntervalMs: this.settings.INSPECT_INTERVAL,
            logger: this.#logger,
            plainTarget: plainEngineTarget(this.settings),
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
        stopTimeoutMs: this.settings.STOP_TIMEOUT,
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
  listManagedResources(options: SignalOptions = {}): Promise<ManagedResource[]> {
    return listDockerResources(this.#resourceScope, options.signal);
  }

  /** Removes a container (and its HOST_OUTPUT_DIR directory), or a left-over directory. */
  deleteManagedResource(resource: ManagedResource, options: SignalOptions = {}): Promise<void> {
    return deleteDockerResource(this.#resourceScope, resource, options.signal);
  }

  get #resourceScope(): DockerResourceScope {
    return {
      docker: this.docker,
      containerLabels: this.settings.CONTAINER_LABELS,
      hostOutput: this.#hostOutput,
      logger: this.#logger,
    };
  }

  /** Removes the warm containers (WARM_CONTAINERS) and closes the daemon connections. */
  async close(): Promise<void> {
    await this.#warm?.close();
    await this.#lateCleanups.settle(FOLLOW_SETTLE_MS);
    this.#agent.destroy();
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

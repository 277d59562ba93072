import type { Instance as Ec2InstanceDescription } from '@aws-sdk/client-ec2';
import {
  type Instance,
  type Logger,
  type OutputSink,
  type Progresser,
  type RunOptions,
  type RunResult,
  type SignalOptions,
  StaleVmError,
} from '@workerkit/core';
import type { SshScriptTarget } from '@workerkit/ssh';
import type { Ec2Api } from './ec2-client.js';
import type { Ec2Market } from './ec2-run-instances-request.js';

/** What EC2 reports for a spot instance it reclaimed. */
export const SPOT_TERMINATION_REASON = 'Server.SpotInstanceTermination';

export interface Ec2InstanceInit {
  api: Ec2Api;
  instanceId: string;
  imageName: string;
  market: Ec2Market;
  startupDuration: number;
  hardTimeoutMs: number | undefined;
  target: SshScriptTarget;
  progress: Progresser;
  logger: Logger;
  /** Terminates the instance and deletes its key pair (shared with the failed-start path). */
  release: (signal?: AbortSignal) => Promise<void>;
}

/** A started EC2 instance: the build runs over SSH; `stop` terminates it and deletes its key pair. */
export class Ec2Instance implements Instance {
  readonly id: string;
  readonly imageName: string;
  readonly startupDuration: number;
  readonly supportsProgress = true;
  readonly market: Ec2Market;
  readonly #init: Ec2InstanceInit;
  #stopping: Promise<void> | undefined;

  constructor(init: Ec2InstanceInit) {
    this.#init = init;
    this.id = init.instanceId;
    this.imageName = init.imageName;
    this.startupDuration = init.startupDuration;
    this.market = init.market;
  }

  async uploadScript(script: string | Uint8Array, options: SignalOptions = {}): Promise<void> {
    try {
      await this.#init.target.upload(script, options);
    } catch (error) {
      if (StaleVmError.isInstance(error)) {
        this.#init.progress.progress({
          message: 'existing script detected',
          state: 'failure',
          interrupts: true,
        });
      }
      throw error;
    }
    this.#init.progress.progress({ message: 'uploaded script', state: 'success' });
  }

  async runScript(output: OutputSink, options: RunOptions = {}): Promise<RunResult> {
    const hardTimeoutMs = options.hardTimeoutMs ?? this.#init.hardTimeoutMs;
    const result = await this.#init.target.run(output, {
      ...(options.signal ? { signal: options.signal } : {}),
      ...(hardTimeoutMs ? { hardTimeoutMs } : {}),
    });
    if (this.market !== 'spot' || options.signal?.aborted) return result;
    // When EC2 reclaims a spot instance, the guest shuts down: either the connection drops first,
    // or the script gets SIGTERM first and exits 143. Neither is the script's own end.
    const suspicious = result.completed ? result.exitCode === 143 : result.reason === 'connection-lost';
    if (!suspicious || !(await this.#wasInterrupted())) return result;
    return {
      completed: false,
      reason: 'preempted',
      message: `spot instance ${this.id} was interrupted by EC2 (${SPOT_TERMINATION_REASON})`,
      outputBytes: result.outputBytes,
      ...(!result.completed && result.cause !== undefined ? { cause: result.cause } : {}),
    };
  }

  /**
   * Whether EC2 reclaimed this spot instance: its state reason is `Server.SpotInstanceTermination`.
   * DescribeInstances may lag the guest's shutdown, so a still-running answer is asked again a
   * few times (about 3 s in all).
   */
  async #wasInterrupted(): Promise<boolean> {
    for (let attempt = 0; attempt < 6; attempt++) {
      const described = await this.describe().catch((error: unknown) => {
        this.#init.logger.warn('ec2: could not check for a spot interruption', {
          instance: this.id,
          error: String(error),
        });
        return undefined;
      });
      if (described?.StateReason?.Code === SPOT_TERMINATION_REASON) return true;
      if (described?.State?.Name !== 'running') return false;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    return false;
  }

  async downloadTrace(options: SignalOptions = {}): Promise<Uint8Array> {
    return this.#init.target.downloadTrace(options);
  }

  /** Closes SSH, terminates the instance and deletes its key pair; later calls share the first. */
  stop(options: SignalOptions = {}): Promise<void> {
    this.#stopping ??= (async () => {
      await this.#init.target.close().catch(() => {});
      await this.#init.release(options.signal);
    })();
    const stopping = this.#stopping;
    // A failed stop may be retried by calling stop again.
    stopping.catch(() => {
      if (this.#stopping === stopping) this.#stopping = undefined;
    });
    return stopping;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  private async describe(): Promise<Ec2InstanceDescription | undefined> {
    const answer = await this.#init.api.call('DescribeInstances', (client, options, sdk) =>
      client.send(new sdk.DescribeInstancesCommand({ InstanceIds: [this.id] }), options),
    );
    return answer.Reservations?.[0]?.Instances?.[0];
  }
}

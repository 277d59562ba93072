import type { EC2Client, EC2ClientConfig } from '@aws-sdk/client-ec2';
import { backoffDelay, type Logger, sleep, timeApiCall } from '@workerkit/core';
import { isThrottling, shouldRetryCall, toEc2ApiError } from './ec2-errors.js';
import type { Ec2Options } from './ec2-options.js';
import { createEc2RateLimiter, type Ec2RateLimiter } from './ec2-rate-limiter.js';
import { type Ec2Sdk, loadEc2Sdk } from './ec2-sdk.js';

export interface Ec2ApiOptions {
  maxAttempts: number;
  retryBaseMs: number;
  limiter: Ec2RateLimiter;
  logger: Logger;
}

/** Calls per operation made by one provider (for benchmarks and logs). */
export type Ec2CallCounts = Record<string, number>;

/**
 * EC2 calls as the backend makes them: every call waits for the shared rate limiter, is retried
 * with jittered backoff on throttling, 5xx and network errors (the SDK itself makes one attempt,
 * so every attempt is limited and counted), and fails as a `ProviderApiError`.
 */
export class Ec2Api {
  readonly calls: Ec2CallCounts = {};
  readonly limiter: Ec2RateLimiter;
  readonly #options: Ec2ApiOptions;
  readonly #createClient: (sdk: Ec2Sdk) => EC2Client;
  #client: Promise<{ client: EC2Client; sdk: Ec2Sdk }> | undefined;
  #created: EC2Client | undefined;

  /** `createClient` makes the SDK client once the SDK is loaded (on the first call). */
  constructor(createClient: (sdk: Ec2Sdk) => EC2Client, options: Ec2ApiOptions) {
    this.#createClient = createClient;
    this.limiter = options.limiter;
    this.#options = options;
  }

  /** The SDK client (loading the SDK on first use). */
  async client(): Promise<EC2Client> {
    return (await this.#sdkClient()).client;
  }

  #sdkClient(): Promise<{ client: EC2Client; sdk: Ec2Sdk }> {
    this.#client ??= loadEc2Sdk().then((sdk) => {
      this.#created = this.#createClient(sdk);
      return { client: this.#created, sdk };
    });
    return this.#client;
  }

  /** Releases the client's sockets (nothing to do when no call was made). */
  destroy(): void {
    this.#created?.destroy();
  }

  /**
   * Makes one EC2 call (`send(client, abortSignal)`), named `operation` in counts and errors.
   * `retry: false` makes one attempt only.
   */
  async call<Output>(
    operation: string,
    send: (client: EC2Client, options: { abortSignal?: AbortSignal }, sdk: Ec2Sdk) => Promise<Output>,
    { signal, retry = true }: { signal?: AbortSignal | undefined; retry?: boolean } = {},
  ): Promise<Output> {
    const { maxAttempts, retryBaseMs, limiter, logger } = this.#options;
    const { client, sdk } = await this.#sdkClient();
    for (let attempt = 1; ; attempt++) {
      await limiter.acquire(signal);
      this.calls[operation] = (this.calls[operation] ?? 0) + 1;
      try {
        const output = await timeApiCall('ec2', operation, () =>
          send(client, signal ? { abortSignal: signal } : {}, sdk),
        );
        limiter.onSuccess();
        return output;
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        if (isThrottling(error)) limiter.onThrottled();
        if (!retry || attempt >= maxAttempts || !shouldRetryCall(error))
          throw toEc2ApiError(operation, error);
        const delayMs = backoffDelay(attempt, { initialMs: retryBaseMs, maxMs: 20_000 });
        logger.debug(`ec2: ${operation} failed, retrying`, { attempt, delayMs, error: String(error) });
        await sleep(delayMs, signal);
      }
    }
  }
}

/**
 * The SDK client for a configuration: static credentials when given, else the default chain.
 *
 * The SDK warns once per process, on Node < 22, that its releases after January 2027 need Node
 * 22 (`process.emitWarning` while the first client is built). That goes to stderr in the middle
 * of a job's run, and this package supports Node 20 until then, so the warning is turned off the
 * way the SDK offers: its `AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED` switch, set only
 * while the client is built (the SDK reads it then), so nothing else in the process changes.
 */
export function createEc2Client(config: Ec2Options, sdk: Ec2Sdk): EC2Client {
  const clientConfig: EC2ClientConfig = {
    region: config.REGION,
    // Retries happen in Ec2Api, through the rate limiter.
    maxAttempts: 1,
  };
  if (config.ENDPOINT) clientConfig.endpoint = config.ENDPOINT.toString().replace(/\/$/, '');
  if (config.AWS_ACCESS_KEY_ID && config.AWS_SECRET_ACCESS_KEY) {
    clientConfig.credentials = {
      accessKeyId: config.AWS_ACCESS_KEY_ID,
      secretAccessKey: config.AWS_SECRET_ACCESS_KEY,
      ...(config.AWS_SESSION_TOKEN ? { sessionToken: config.AWS_SESSION_TOKEN } : {}),
    };
  }
  const switchName = 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED';
  const saved = process.env[switchName];
  process.env[switchName] = 'true';
  try {
    return new sdk.EC2Client(clientConfig);
  } finally {
    if (saved === undefined) delete process.env[switchName];
    else process.env[switchName] = saved;
  }
}

export function createEc2Api(config: Ec2Options, logger: Logger, ownerId: string): Ec2Api {
  return new Ec2Api((sdk) => createEc2Client(config, sdk), {
    maxAttempts: config.API_MAX_ATTEMPTS,
    retryBaseMs: config.API_RETRY_BASE,
    limiter: createEc2RateLimiter(config, { logger, ownerId }),
    logger,
  });
}

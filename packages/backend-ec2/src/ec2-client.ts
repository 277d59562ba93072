import { EC2Client, type EC2ClientConfig } from '@aws-sdk/client-ec2';
import { backoffDelay, defaultOwnerId, type Logger, sleep, timeApiCall } from '@workerkit/core';
import { isThrottling, shouldRetryCall, toEc2ApiError } from './ec2-errors.js';
import type { Ec2Config } from './ec2-options.js';
import { createEc2RateLimiter, type Ec2RateLimiter } from './ec2-rate-limiter.js';

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
  readonly client: EC2Client;
  readonly calls: Ec2CallCounts = {};
  readonly limiter: Ec2RateLimiter;
  readonly #options: Ec2ApiOptions;

  constructor(client: EC2Client, options: Ec2ApiOptions) {
    this.client = client;
    this.limiter = options.limiter;
    this.#options = options;
  }

  /**
   * Makes one EC2 call (`send(client, abortSignal)`), named `operation` in counts and errors.
   * `retry: false` makes one attempt only.
   */
  async call<Output>(
    operation: string,
    send: (client: EC2Client, options: { abortSignal?: AbortSignal }) => Promise<Output>,
    { signal, retry = true }: { signal?: AbortSignal | undefined; retry?: boolean } = {},
  ): Promise<Output> {
    const { maxAttempts, retryBaseMs, limiter, logger } = this.#options;
    for (let attempt = 1; ; attempt++) {
      await limiter.acquire(signal);
      this.calls[operation] = (this.calls[operation] ?? 0) + 1;
      try {
        const output = await timeApiCall('ec2', operation, () =>
          send(this.client, signal ? { abortSignal: signal } : {}),
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

/** The SDK client for a configuration: static credentials when given, else the default chain. */
export function createEc2Client(config: Ec2Config): EC2Client {
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
  return new EC2Client(clientConfig);
}

export function createEc2Api(
  config: Ec2Config,
  logger: Logger,
  client = createEc2Client(config),
  ownerId = defaultOwnerId(),
): Ec2Api {
  return new Ec2Api(client, {
    maxAttempts: config.API_MAX_ATTEMPTS,
    retryBaseMs: config.API_RETRY_BASE,
    limiter: createEc2RateLimiter(config, { logger, ownerId }),
    logger,
  });
}

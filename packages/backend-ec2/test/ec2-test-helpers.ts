import type { ProgressEntry } from '@workerkit/core';
import {
  type Ec2Emulator,
  type Ec2EmulatorOptions,
  RecordingLogger,
  startEc2Emulator,
} from '@workerkit/testkit';
import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest';
import { createEc2Provider, type Ec2Provider } from '../src/index.js';

/**
 * Options that point the provider at an emulator (strict by default: realistic timing scaled
 * down), with waits sized for it. INSTANCE_TYPE and SSH_USER keep their defaults (t3.micro,
 * travis): the defaults must run a job.
 */
export function emulatorConfig(
  emulator: Ec2Emulator,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    ENDPOINT: emulator.endpoint,
    REGION: emulator.region,
    AWS_ACCESS_KEY_ID: emulator.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: emulator.credentials.secretAccessKey,
    IMAGE_DEFAULT: 'workerkit-ubuntu-jammy-*',
    SSH_PORT: String(emulator.sshPort),
    BOOT_POLL_SLEEP: '50ms',
    BOOT_TIMEOUT: '20s',
    UPLOAD_RETRIES: '40',
    UPLOAD_RETRY_SLEEP: '150ms',
    SSH_DIAL_TIMEOUT: '2s',
    API_MAX_ATTEMPTS: '4',
    API_RETRY_BASE: '20ms',
    RATE_LIMIT_MAX_CALLS: '1000',
    ...extra,
  };
}

export { RecordingLogger };

export interface EmulatedSetup {
  emulator: Ec2Emulator;
  provider: Ec2Provider;
  logger: RecordingLogger;
}

export async function startEmulatedProvider(
  options: { emulator?: Ec2EmulatorOptions; config?: Record<string, string> } = {},
): Promise<EmulatedSetup> {
  const emulator = await startEc2Emulator(options.emulator);
  const logger = new RecordingLogger();
  const provider = createEc2Provider(emulatorConfig(emulator, options.config), {
    ownerId: 'ec2-test_1',
    logger,
  });
  return { emulator, provider, logger };
}

/**
 * Providers on a shared emulator with some options changed; `closeAll` closes every one made.
 */
export function providerFactory(emulator: () => Ec2Emulator) {
  const made: Ec2Provider[] = [];
  return {
    providerWith(config: Record<string, string>): Ec2Provider {
      const provider = createEc2Provider(emulatorConfig(emulator(), config), {
        ownerId: 'ec2-test_1',
        logger: new RecordingLogger(),
      });
      made.push(provider);
      return provider;
    },
    track(provider: Ec2Provider): Ec2Provider {
      made.push(provider);
      return provider;
    },
    async closeAll(): Promise<void> {
      for (const provider of made.splice(0)) await provider.close();
    },
  };
}

export function progressRecorder(): { entries: ProgressEntry[]; progress: (entry: ProgressEntry) => void } {
  const entries: ProgressEntry[] = [];
  return { entries, progress: (entry) => entries.push(entry) };
}

export const job = {
  language: 'minimal',
  jobId: '4242',
  repository: 'workerkit/ec2-tests',
  hardTimeoutMs: 5 * 60_000,
};

/** Settles to the rejection of `promise`; fails if it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${String(value)}`);
    },
    (error: unknown) => error,
  );
}

/**
 * One emulator and provider for a test file of fault tests, with their hooks: faults and call
 * counts cleared before each test; after each, nothing left (no live instance or key pair, and
 * with `listedToo` nothing the provider lists); everything closed after the file. `setup` is
 * filled in `beforeAll`.
 */
export function useEmulatedProvider(options: { emulator?: Ec2EmulatorOptions; listedToo?: boolean } = {}) {
  const setup = {} as EmulatedSetup;
  const { providerWith, closeAll } = providerFactory(() => setup.emulator);
  let known = new Set<string>();

  async function expectNothingLeft(): Promise<void> {
    await setup.emulator.settled();
    expect(setup.emulator.liveInstances()).toEqual([]);
    expect(setup.emulator.keyPairs()).toEqual([]);
    if (options.listedToo) expect(await setup.provider.listManagedResources()).toEqual([]);
  }

  beforeAll(async () => {
    Object.assign(setup, await startEmulatedProvider({ emulator: options.emulator }));
  });
  beforeEach(() => {
    setup.emulator.faults.clear();
    setup.emulator.resetCalls();
    known = new Set(setup.emulator.instances().map((instance) => instance.instanceId));
  });
  afterEach(async () => {
    setup.emulator.faults.clear();
    await expectNothingLeft();
  });
  afterAll(async () => {
    await closeAll();
    await setup.provider?.close();
    await setup.emulator?.stop();
  });

  return {
    setup,
    providerWith,
    /** Instances launched by the current test. */
    launchedHere: () => setup.emulator.instances().filter((instance) => !known.has(instance.instanceId)),
    expectNothingLeft,
  };
}

import type { ProgressEntry } from '@workerkit/core';
import {
  type Ec2Emulator,
  type Ec2EmulatorOptions,
  RecordingLogger,
  startEc2Emulator,
} from '@workerkit/testkit';
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

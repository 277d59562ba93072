import { type Logger, type ProgressEntry, ProviderConfig, silentLogger } from '@workerkit/core';
import { type GceEmulator, type GceEmulatorOptions, startGceEmulator } from '@workerkit/testkit';
import { createGceProvider, type GceProvider } from '../src/index.js';

export interface GceTestEnv extends AsyncDisposable {
  emulator: GceEmulator;
  provider: GceProvider;
  /** Provider config as given to `createGceProvider`. */
  config: Record<string, string>;
}

/** The provider options that point at an emulator. */
export function emulatorConfig(
  emulator: GceEmulator,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    PROJECT_ID: emulator.projectId,
    API_ENDPOINT: emulator.url,
    ACCESS_TOKEN: 'emulator-token',
    ZONES: 'us-central1-a',
    SSH_PORT: String(emulator.sshPort),
    RATE_LIMIT_MAX_CALLS: '200',
    BOOT_POLL_SLEEP: '100ms',
    STOP_POLL_SLEEP: '100ms',
    BACKOFF_RETRY_MAX: '20s',
    UPLOAD_RETRY_SLEEP: '100ms',
    UPLOAD_RETRIES: '100',
    ...extra,
  };
}

/**
 * The emulator's strict default, Compute Engine's realistic clock scaled down to keep suites
 * short: one Google second lasts 3 ms (inserts 15-90 ms, sshd 30-120 ms after RUNNING). Every
 * strict behaviour stays on: resourceNotReady, early operations.wait answers, late listings.
 */
export const TEST_TIME_FACTOR = 0.003;

/** A fresh strict emulator and a provider pointed at it; disposing stops both. */
export async function gceTestEnv(
  options: { emulator?: GceEmulatorOptions; config?: Record<string, string>; logger?: Logger } = {},
): Promise<GceTestEnv> {
  const emulator = await startGceEmulator({ timeFactor: TEST_TIME_FACTOR, ...options.emulator });
  const config = emulatorConfig(emulator, options.config);
  const provider = createGceProvider(ProviderConfig.fromMap(config), {
    ownerId: `gce-test_${process.pid}`,
    logger: options.logger ?? silentLogger,
  });
  return {
    emulator,
    provider,
    config,
    async [Symbol.asyncDispose]() {
      await provider.close();
      await emulator.stop();
    },
  };
}

/** Collects progress entries and renders them as one line of text, for assertions. */
export class ProgressLog {
  readonly entries: ProgressEntry[] = [];
  progress(entry: ProgressEntry): void {
    this.entries.push(entry);
  }
  get messages(): string[] {
    return this.entries.map((e) => e.message);
  }
}

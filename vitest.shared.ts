import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/**
 * Shared by every package's vitest.config.ts: the loopback guard is loaded first, tests run in
 * forked processes (real daemons and sshd need process isolation), at most two at a time.
 */
export function workerkitVitestConfig(options: { testTimeout?: number; setupFiles?: string[] } = {}) {
  return defineConfig({
    test: {
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      setupFiles: [
        fileURLToPath(new URL('./packages/testkit/src/loopback-guard.ts', import.meta.url)),
        ...(options.setupFiles ?? []),
      ],
      pool: 'forks',
      maxWorkers: 2,
      testTimeout: options.testTimeout ?? 30_000,
      hookTimeout: 120_000,
      // Never retried, as a test that fails only sometimes is a bug to fix (.ci/run refuses any retry).
      retry: 0,
    },
  });
}

/**
 * `pnpm bench`: files under bench/ run once, sequentially, and print their ratios against the
 * baseline measured in the same run. They assert correctness, never timing.
 */
export function workerkitBenchConfig() {
  return defineConfig({
    test: {
      include: ['bench/**/*.bench.ts'],
      setupFiles: [fileURLToPath(new URL('./packages/testkit/src/loopback-guard.ts', import.meta.url))],
      pool: 'forks',
      maxWorkers: 1,
      fileParallelism: false,
      testTimeout: 600_000,
      hookTimeout: 300_000,
    },
  });
}

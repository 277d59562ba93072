/**
 * Per job on the GCE emulator with an instant boot: API calls per method, and the wall time from
 * the instance reaching RUNNING to the build script's first output. Printed next to what the Go
 * worker (v4.1.1 defaults) spends on the same job. Asserts correctness and the call budget, never
 * timing.
 */
import { type OutputSink, ProviderConfig, silentLogger } from '@workerkit/core';
import { RecordingSink, startGceEmulator } from '@workerkit/testkit';
import { expect, it } from 'vitest';
import { createGceProvider } from '../src/index.js';
import { emulatorConfig } from '../test/gce-test-env.js';

const JOBS = 20;

/** The Go worker for the same job, from the reference (§6): calls and fixed sleeps at v4.1.1 defaults. */
const GO_WORKER = {
  calls: {
    'images.list': 1, // no image cache at v4.1.1
    'machineTypes.get': 1, // looked up again per start
    'instances.insert': 1,
    'zoneOperations.get (insert)': 1, // first poll after the 15 s BOOT_PRE_POLL_SLEEP, then every 3 s
    'instances.get': 1, // IP refresh before the first SSH dial
    'instances.delete': 1,
    'zoneOperations.get (delete)': 1, // first poll after the 15 s STOP_PRE_POLL_SLEEP
  },
  sleepsMs: 15_000 + 15_000,
};

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

it(`runs ${JOBS} jobs on an instantly booting emulator within 10 API calls each`, async () => {
  const emulator = await startGceEmulator({ profile: 'instant' });
  const provider = createGceProvider(
    ProviderConfig.fromMap(emulatorConfig(emulator, { RATE_LIMIT_MAX_CALLS: '10' })),
    {
      logger: silentLogger,
    },
  );
  try {
    await provider.setup();
    // The first start also resolves the image (cached per provider afterwards).
    await (await provider.start({ jobId: '0' })).stop();
    const perJob: Record<string, number>[] = [];
    const runningToScript: number[] = [];
    const startMs: number[] = [];
    const jobMs: number[] = [];
    for (let i = 1; i <= JOBS; i++) {
      emulator.calls.reset();
      const t0 = performance.now();
      const instance = await provider.start({ jobId: String(i), hardTimeoutMs: 60_000 });
      startMs.push(performance.now() - t0);
      const runningAt = Date.parse(String(emulator.instances()[0]!.resource.lastStartTimestamp));
      await instance.uploadScript('echo started\n');
      let scriptStartedAt = 0;
      const sink = new RecordingSink();
      const timed: OutputSink = {
        write(chunk) {
          scriptStartedAt ||= Date.now();
          return sink.write(chunk);
        },
      };
      const result = await instance.runScript(timed);
      expect(result).toMatchObject({ completed: true, exitCode: 0 });
      expect(sink.text).toBe('started\n');
      await instance.stop();
      jobMs.push(performance.now() - t0);
      runningToScript.push(scriptStartedAt - runningAt);
      perJob.push(emulator.calls.snapshot());
      expect(emulator.calls.total()).toBeLessThanOrEqual(10);
    }
    const methods = [...new Set(perJob.flatMap((calls) => Object.keys(calls)))].sort();
    const lines = [
      '',
      `GCE backend on the emulator, instant boot, ${JOBS} jobs (after one warm-up job that also resolved the image):`,
      '  API calls per job (median):',
      ...methods.map((m) => `    ${m.padEnd(32)} ${median(perJob.map((c) => c[m] ?? 0))}`),
      `    ${'total'.padEnd(32)} ${median(perJob.map((c) => Object.values(c).reduce((a, b) => a + b, 0)))}`,
      `  RUNNING -> script started: median ${median(runningToScript).toFixed(0)} ms, max ${Math.max(...runningToScript).toFixed(0)} ms`,
      `  start() median ${median(startMs).toFixed(0)} ms; whole job (start, upload, run, stop) median ${median(jobMs).toFixed(0)} ms`,
      '',
      'Go worker (v4.1.1 defaults) for the same job, from the reference:',
      ...Object.entries(GO_WORKER.calls).map(([m, n]) => `    ${m.padEnd(32)} ${n}`),
      `    ${'total'.padEnd(32)} ${Object.values(GO_WORKER.calls).reduce((a, b) => a + b, 0)}`,
      `  fixed sleeps per job: ${GO_WORKER.sleepsMs / 1000} s (BOOT_PRE_POLL_SLEEP + STOP_PRE_POLL_SLEEP); RUNNING -> script started >= 15 s`,
      '',
    ];
    console.log(lines.join('\n'));
  } finally {
    await provider.close();
    await emulator.stop();
  }
});

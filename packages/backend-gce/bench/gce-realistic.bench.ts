/**
 * Per job on the GCE emulator's realistic clock (Compute Engine's documented delays times
 * TIME_FACTOR): API calls per method and the time from `instances.insert` to the build
 * script's first output byte. The baseline, measured in the same run, is the floor the
 * emulator sets: the moment the guest's sshd first accepts a TCP connection (probed every
 * 5 ms beside the backend). What the backend adds after it is the wait for its next look
 * plus the SSH work (handshake, upload, exec: real milliseconds, not scaled). The Go worker
 * (v4.1.1 defaults) is modelled on the same measured moments: its first operation poll after
 * BOOT_PRE_POLL_SLEEP 15 s, then every 3 s, then an SSH attempt every second — plus the same
 * SSH work. Asserts correctness and the call budget (10), never timing.
 */
import { connect } from 'node:net';
import { ProviderConfig, silentLogger } from '@workerkit/core';
import { RecordingSink, startGceEmulator } from '@workerkit/testkit';
import { expect, it } from 'vitest';
import { createGceProvider } from '../src/index.js';
import { emulatorConfig } from '../test/gce-test-env.js';

const JOBS = 12;
const TIME_FACTOR = 0.02;
/** Google seconds, as the emulator's clock shows them. */
const googleSeconds = (ms: number) => ms / 1000 / TIME_FACTOR;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function portAnswers(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** The Go worker's insert → first byte, in Google seconds, from the measured insert-done and sshd-up moments. */
function goWorkerSeconds(insertDoneS: number, sshdUpS: number): number {
  const pollSeenS = insertDoneS <= 15 ? 15 : 15 + Math.ceil((insertDoneS - 15) / 3) * 3;
  return sshdUpS <= pollSeenS ? pollSeenS : pollSeenS + Math.ceil(sshdUpS - pollSeenS);
}

it(`runs ${JOBS} jobs on the realistic clock within 10 API calls each`, async () => {
  const emulator = await startGceEmulator({ profile: 'realistic', timeFactor: TIME_FACTOR });
  const provider = createGceProvider(
    ProviderConfig.fromMap(
      emulatorConfig(emulator, {
        RATE_LIMIT_MAX_CALLS: '10',
        // The defaults, scaled like the clock: 3 Google seconds between unfinished polls.
        BOOT_POLL_SLEEP: `${3000 * TIME_FACTOR}ms`,
        STOP_POLL_SLEEP: `${3000 * TIME_FACTOR}ms`,
        UPLOAD_RETRY_SLEEP: `${1000 * TIME_FACTOR}ms`,
        UPLOAD_RETRIES: '6000',
      }),
    ),
    { logger: silentLogger },
  );
  try {
    await provider.setup();
    await (await provider.start({ jobId: '0' })).stop();
    const perJob: Record<string, number>[] = [];
    const firstByte: number[] = [];
    const floor: number[] = [];
    const insertDone: number[] = [];
    const goModel: number[] = [];
    for (let i = 1; i <= JOBS; i++) {
      emulator.calls.reset();
      const before = new Set(emulator.operations().map((op) => op.name));
      // Probe every instance's sshd beside the backend: the floor is when it first answers.
      let sshdUpAt = 0;
      let probing = true;
      const probe = (async () => {
        while (probing && sshdUpAt === 0) {
          const [vm] = emulator.instances();
          if (vm && vm.status === 'RUNNING' && (await portAnswers(vm.address, emulator.sshPort)))
            sshdUpAt = Date.now();
          else await new Promise((resolve) => setTimeout(resolve, 5));
        }
      })();
      let firstByteAt = 0;
      const sink = new RecordingSink();
      const instance = await provider.start({ jobId: String(i), hardTimeoutMs: 60_000 });
      await instance.uploadScript('echo started\n');
      const result = await instance.runScript({
        write(chunk) {
          firstByteAt ||= Date.now();
          return sink.write(chunk);
        },
      });
      probing = false;
      await probe;
      expect(result).toMatchObject({ completed: true, exitCode: 0 });
      expect(sink.text).toBe('started\n');
      const insert = emulator
        .operations()
        .find((op) => !before.has(op.name) && op.operationType === 'insert')!;
      const insertedAt = Date.parse(String(insert.insertTime));
      await instance.stop();
      perJob.push(emulator.calls.snapshot());
      expect(emulator.calls.total()).toBeLessThanOrEqual(10);
      firstByte.push(firstByteAt - insertedAt);
      floor.push(sshdUpAt - insertedAt);
      insertDone.push(Date.parse(String(insert.endTime)) - insertedAt);
      goModel.push(
        goWorkerSeconds(
          googleSeconds(Date.parse(String(insert.endTime)) - insertedAt),
          googleSeconds(sshdUpAt - insertedAt),
        ),
      );
    }
    const methods = [...new Set(perJob.flatMap((calls) => Object.keys(calls)))].sort();
    const total = (calls: Record<string, number>) => Object.values(calls).reduce((a, b) => a + b, 0);
    const s = (ms: number) => `${googleSeconds(ms).toFixed(1)} s`;
    const afterFloor = median(firstByte.map((ms, i) => ms - floor[i]!));
    const goWaitAfterFloor = median(goModel.map((seconds, i) => seconds - googleSeconds(floor[i]!)));
    console.log(
      [
        '',
        `GCE backend on the realistic clock (1 Google second = ${1000 * TIME_FACTOR} ms), ${JOBS} jobs after a warm-up:`,
        '  API calls per job (median, max):',
        ...methods.map(
          (m) =>
            `    ${m.padEnd(32)} ${median(perJob.map((c) => c[m] ?? 0))}  ${Math.max(...perJob.map((c) => c[m] ?? 0))}`,
        ),
        `    ${'total'.padEnd(32)} ${median(perJob.map(total))}  ${Math.max(...perJob.map(total))}`,
        '  medians:',
        `    insert -> insert operation DONE          ${s(median(insertDone))} (Google)`,
        `    insert -> sshd answers (the floor)       ${s(median(floor))} (Google; the guest's own boot work included)`,
        `    insert -> script's first byte            ${s(median(firstByte))} (Google), ${(median(firstByte) / median(floor)).toFixed(2)}x the floor`,
        `    sshd answers -> first byte               ${afterFloor.toFixed(0)} ms real: the next SSH attempt, handshake, upload, exec`,
        `    Go worker model: sshd answers -> its next SSH attempt ${goWaitAfterFloor.toFixed(1)} s (Google) = ${(goWaitAfterFloor * 1000 * TIME_FACTOR).toFixed(0)} ms here, before the same SSH work`,
        '',
      ].join('\n'),
    );
  } finally {
    await provider.close();
    await emulator.stop();
  }
});

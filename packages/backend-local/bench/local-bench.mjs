#!/usr/bin/env node
// pnpm bench: backend-local against the baselines the issue names, measured in this same run.
// Plain Node on the built package — what users run — so no test-runner overhead skews ratios.
// It prints ratios; it asserts correctness, never timing.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { createLocalProvider } from '@workerkit/backend-local';

const JOBS = 200;
const STREAM_BYTES = 1024 ** 3;
const work = mkdtempSync(join(tmpdir(), 'workerkit-local-bench-'));

class CountingSink extends Writable {
  bytes = 0;
  _write(chunk, _encoding, callback) {
    this.bytes += chunk.length;
    callback();
  }
}

function runBashDirectly(scriptPath, sink) {
  const child = spawn('bash', [scriptPath], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((resolve, reject) =>
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`bash exited ${code}`)))),
  );
  return Promise.all([pipeline(child.stdout, sink), exited]);
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function perJobOverhead() {
  const emptyScript = join(work, 'empty.sh');
  writeFileSync(emptyScript, 'true\n');
  const provider = createLocalProvider({ SCRIPTS_DIR: join(work, 'jobs') });
  const directJob = () => runBashDirectly(emptyScript, new CountingSink());
  const localJob = async () => {
    const instance = await provider.start({});
    await instance.uploadScript('true\n');
    const result = await instance.runScript(new CountingSink());
    await instance.stop();
    assert.deepEqual(result, { completed: true, exitCode: 0, outputBytes: 0 });
  };
  for (let i = 0; i < 20; i++) {
    await directJob(); // warm-up
    await localJob();
  }
  // Interleaved, job by job, so both sides see the same machine load; medians, so a stray
  // GC pause or scheduler hiccup does not decide the ratio.
  const directTimes = [];
  const localTimes = [];
  for (let i = 0; i < JOBS; i++) {
    let started = performance.now();
    await directJob();
    directTimes.push(performance.now() - started);
    started = performance.now();
    await localJob();
    localTimes.push(performance.now() - started);
  }
  const direct = median(directTimes);
  const local = median(localTimes);
  assert.deepEqual(await provider.listManagedResources(), []);
  console.log(
    `per job (median of ${JOBS}): direct bash spawn ${direct.toFixed(2)} ms, backend-local start+upload+run+stop ${local.toFixed(2)} ms`,
  );
  console.log(
    `RATIO per-job time, backend-local / direct spawn: ${(local / direct).toFixed(2)}x (goal <= 1.5x)`,
  );
}

async function streaming() {
  // `fold` makes it line output; the exact size is computed, not assumed.
  const scriptPath = join(work, 'stream.sh');
  writeFileSync(scriptPath, `head -c ${STREAM_BYTES} /dev/zero | tr '\\0' 'x' | fold -w 79\n`);
  const expected = STREAM_BYTES + Math.floor((STREAM_BYTES - 1) / 79);

  const directSink = new CountingSink();
  const started = performance.now();
  await runBashDirectly(scriptPath, directSink);
  const directSeconds = (performance.now() - started) / 1000;
  assert.equal(directSink.bytes, expected);

  // A fresh process, so its peak RSS is the streaming job's alone.
  const child = spawn(
    process.execPath,
    [fileURLToPath(new URL('./stream-one-job.mjs', import.meta.url)), scriptPath, join(work, 'jobs')],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let report = '';
  for await (const chunk of child.stdout) report += chunk;
  const { bytes, seconds, maxRssKiB, result } = JSON.parse(report);
  assert.equal(bytes, expected);
  assert.deepEqual(result, { completed: true, exitCode: 0, outputBytes: expected });

  const mib = expected / 1024 ** 2;
  console.log(
    `1 GiB of line output: direct pipe ${(mib / directSeconds).toFixed(0)} MiB/s, backend-local ${(mib / seconds).toFixed(0)} MiB/s`,
  );
  console.log(
    `RATIO throughput, backend-local / direct pipe: ${(directSeconds / seconds).toFixed(2)}x (goal >= 0.9x)`,
  );
  console.log(
    `PEAK RSS of a process streaming 1 GiB through backend-local: ${(maxRssKiB / 1024).toFixed(0)} MB (goal < 150 MB)`,
  );
}

try {
  await perJobOverhead();
  await streaming();
} finally {
  rmSync(work, { recursive: true, force: true });
}

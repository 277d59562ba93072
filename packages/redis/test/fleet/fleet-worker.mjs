// One worker process of a fleet test or bench: the library, as a worker embeds it. Reads its
// orders from FLEET_WORKER (JSON), reports on stdout as JSON lines, logs warnings on stderr.
// `hold: true` starts one instance and then waits to be killed (a worker that dies mid-job).
import '@workerkit/redis';
import { createEc2Provider } from '@workerkit/backend-ec2';

const orders = JSON.parse(process.env.FLEET_WORKER ?? '{}');
const report = (event) => process.stdout.write(`${JSON.stringify(event)}\n`);
const logger = {
  debug() {},
  info(message) {
    process.stderr.write(`info: ${message}\n`);
  },
  warn(message) {
    process.stderr.write(`warn: ${message}\n`);
  },
  error(message, fields) {
    process.stderr.write(`error: ${message} ${JSON.stringify(fields ?? {})}\n`);
  },
};

const provider = createEc2Provider(orders.config, { ownerId: orders.ownerId, logger });
const started = performance.now();
try {
  await provider.setup();
  report({ event: 'ready' });
  for (let job = 0; job < orders.jobs; job++) {
    const instance = await provider.start({
      language: 'minimal',
      jobId: `${orders.ownerId}-${job}`,
      repository: 'workerkit/fleet',
      hardTimeoutMs: 5 * 60_000,
    });
    if (orders.hold) {
      report({ event: 'holding', instanceId: instance.id });
      await new Promise(() => {});
    }
    let output = '';
    await instance.uploadScript('echo "job done"');
    const result = await instance.runScript({
      write(chunk) {
        output += String(chunk);
        return true;
      },
    });
    await instance.stop();
    report({ event: 'job', job, completed: result.completed, exitCode: result.exitCode, output });
  }
  report({ event: 'done', calls: provider.api.calls, elapsedMs: performance.now() - started });
} catch (error) {
  report({ event: 'failed', error: String(error?.stack ?? error) });
  process.exitCode = 1;
} finally {
  await provider.close();
}

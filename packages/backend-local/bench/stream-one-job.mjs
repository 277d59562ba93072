// Runs one job that streams a script's output into a counting sink; prints bytes, time and peak RSS.
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { createLocalProvider } from '@workerkit/backend-local';

const [scriptPath, scriptsDir] = process.argv.slice(2);
const provider = createLocalProvider({ SCRIPTS_DIR: scriptsDir });
const instance = await provider.start({});
await instance.uploadScript(readFileSync(scriptPath));
let bytes = 0;
const sink = new Writable({
  write(chunk, _encoding, callback) {
    bytes += chunk.length;
    callback();
  },
});
const started = performance.now();
const result = await instance.runScript(sink);
const seconds = (performance.now() - started) / 1000;
await instance.stop();
process.stdout.write(JSON.stringify({ bytes, seconds, result, maxRssKiB: process.resourceUsage().maxRSS }));

// Streams BYTES of output through the built package and prints the peak RSS (bytes) as JSON.
import { createDockerProvider } from '../dist/index.js';

const [socket, image, bytes] = process.argv.slice(2);
const provider = createDockerProvider({
  ENDPOINT: `unix://${socket}`,
  NATIVE: 'true',
  EXEC_CMD: 'sh /home/travis/build.sh',
  NETWORK_MODE: 'none',
  CPUS: '0',
  CONTAINER_LABELS: 'workerkit-bench:rss',
});
const instance = await provider.start({ imageName: image, jobId: 'rss', repository: 'bench/rss' });
let received = 0;
let peak = process.memoryUsage.rss();
const sampler = setInterval(() => {
  peak = Math.max(peak, process.memoryUsage.rss());
}, 20);
try {
  await instance.uploadScript(`yes 0123456789abcdefghijklmnopqrstuvwxyz | head -c ${bytes}\n`);
  const result = await instance.runScript({
    write(chunk) {
      received += chunk.byteLength;
      return true;
    },
  });
  clearInterval(sampler);
  const maxRss = Math.max(peak, process.resourceUsage().maxRSS * 1024);
  process.stdout.write(JSON.stringify({ result, received, maxRss }));
} finally {
  await instance.stop();
  await provider.close();
}

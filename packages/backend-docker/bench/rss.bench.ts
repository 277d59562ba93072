import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { dockerSocket } from '../test/docker-test-env.js';
import { BUSYBOX_IMAGE, report } from './bench-support.js';

const GIB = 2 ** 30;

it('peak RSS while streaming 1 GiB (goal < 150 MB)', () => {
  // A fresh process, so the peak is the provider's and not the test runner's.
  const child = fileURLToPath(new URL('./rss-child.mjs', import.meta.url));
  const out = execFileSync(process.execPath, [child, dockerSocket(), BUSYBOX_IMAGE, String(GIB)], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  const { result, received, maxRss } = JSON.parse(out) as {
    result: { completed: boolean; exitCode: number };
    received: number;
    maxRss: number;
  };
  expect(result).toMatchObject({ completed: true, exitCode: 0 });
  expect(received).toBe(GIB);
  report('4. peak RSS while streaming 1 GiB (goal < 150 MB)', {
    'bytes delivered': received,
    'peak RSS (node process)': `${(maxRss / 1e6).toFixed(0)} MB`,
  });
});

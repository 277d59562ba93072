import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url));

/**
 * Imports the built package in a fresh Node and reports the Google SDK modules it loaded
 * (`@google-cloud/compute`, `google-gax`, `google-auth-library` are CommonJS: an import of them
 * lands in require.cache), whether it registered `gce`, and what a setup then loads.
 */
const probe = `
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const sdk = () => Object.keys(require.cache).filter((p) => /google-gax|@google-cloud[+/]compute|google-auth-library/.test(p)).length;
const { createGceProvider } = await import(process.argv[1]);
const { getBackend, ProviderConfig, silentLogger } = await import(require.resolve('@workerkit/core', { paths: [process.argv[1]] }));
const afterImport = sdk();
const registered = getBackend('gce')?.alias;
const provider = createGceProvider(ProviderConfig.fromMap({ PROJECT_ID: 'lazy-import-1', API_ENDPOINT: 'http://127.0.0.1:9', ACCESS_TOKEN: 't', BACKOFF_RETRY_MAX: '1ms' }), { logger: silentLogger });
const afterCreate = sdk();
await provider.setup().catch(() => {});
await provider.close();
console.log(JSON.stringify({ afterImport, registered, afterCreate, afterSetup: sdk() }));
`;

it('registers gce without loading the Google SDK; the first setup loads it', {
  timeout: 60_000,
}, async () => {
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', probe, dist], {
    timeout: 50_000,
  });
  const report = JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
  expect(report).toMatchObject({ afterImport: 0, registered: 'gce', afterCreate: 0 });
  expect(report.afterSetup).toBeGreaterThan(0);
});

import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const packageDir = fileURLToPath(new URL('..', import.meta.url));

/**
 * In a fresh Node process: import the built package (which registers the backend), count the
 * AWS SDK modules in Node's module cache (the SDK is CommonJS, so an ESM import of it lands
 * there too), then import the SDK itself and count again — the second count proves the first
 * could have seen it.
 */
async function sdkModulesAfterImport(): Promise<{ registered: boolean; before: number; after: number }> {
  const script = `
    import { createRequire } from 'node:module';
    const require = createRequire(import.meta.url);
    const sdkModules = () => Object.keys(require.cache).filter((path) => path.includes('@aws-sdk')).length;
    await import('./dist/index.js');
    const { eachBackend } = await import('@workerkit/core');
    let registered = false;
    eachBackend((backend) => { if (backend.alias === 'ec2') registered = true; });
    const before = sdkModules();
    await import('@aws-sdk/client-ec2');
    console.log(JSON.stringify({ registered, before, after: sdkModules() }));
  `;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: packageDir });
  return JSON.parse(stdout) as { registered: boolean; before: number; after: number };
}

// Each test starts fresh Node processes that load the SDK (~0.6 s idle, far more on a loaded machine).
describe('importing @workerkit/backend-ec2', { timeout: 120_000 }, () => {
  it('registers the backend without loading the AWS SDK', async () => {
    const { registered, before, after } = await sdkModulesAfterImport();
    expect(registered).toBe(true);
    expect(before).toBe(0);
    expect(after).toBeGreaterThan(0);
  });
});

/** stderr of a fresh Node process running `body` (an ES module) in this package. */
async function stderrOf(body: string): Promise<string> {
  const { stderr } = await run(process.execPath, ['--input-type=module', '-e', body], { cwd: packageDir });
  return stderr;
}

describe("the AWS SDK's Node version warning", { timeout: 120_000 }, () => {
  it('is not printed by a provider; the SDK prints it for its own clients on Node < 22', async () => {
    const fromProvider = await stderrOf(`
      const { createEc2Provider } = await import('./dist/index.js');
      const provider = createEc2Provider({ REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'AKIA1', AWS_SECRET_ACCESS_KEY: 'x' });
      await provider.api.client();
      await provider.close();
      console.error('done');
    `);
    expect(fromProvider).toBe('done\n');
    const direct = await stderrOf(`
      const { EC2Client } = await import('@aws-sdk/client-ec2');
      new EC2Client({ region: 'us-east-1' }).destroy();
    `);
    const major = Number(process.versions.node.split('.')[0]);
    expect(direct.includes('NodeVersionSupportWarning')).toBe(major < 22);
  });
});

/**
 * What the `workerkit` command loads before it does its work, from the repository root where
 * all five backends are installed. Listing backends needs their names, help and options only:
 * no cloud SDK, no ssh2, no telemetry API. `run --backend local` loads no other backend.
 * (Its speed is measured in bench/backends.bench.ts; this checks the cause, which a timing
 * on a loaded machine could not.)
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const repo = fileURLToPath(new URL('../../..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'workerkit-startup-modules-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A module hook that prints every file the program resolves, one `resolved <url>` per line. */
const hooks = `data:text/javascript,${encodeURIComponent(`
  export async function resolve(specifier, context, next) {
    const result = await next(specifier, context);
    if (result.url.startsWith('file:')) process._rawDebug('resolved ' + result.url);
    return result;
  }`)}`;
const registerHooks = `data:text/javascript,${encodeURIComponent(
  `import { register } from 'node:module'; register(${JSON.stringify(hooks)});`,
)}`;

/** The packages (`@scope/name` or `name`) and workspace packages the command loaded. */
function packagesLoadedBy(args: string[]): Set<string> {
  const child = spawnSync(process.execPath, ['--import', registerHooks, bin, ...args], {
    cwd: repo,
    encoding: 'utf8',
    env: { ...process.env, WORKERKIT_LOCAL_SCRIPTS_DIR: work },
  });
  expect(child.status, child.stderr).toBe(0);
  const loaded = new Set<string>();
  for (const [, url] of child.stderr.matchAll(/^resolved (\S+)$/gm)) {
    const dependency = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\/(?!.*\/node_modules\/)/.exec(url!);
    const workspace = /\/packages\/([^/]+)\/dist\//.exec(url!);
    if (dependency) loaded.add(dependency[1]!);
    else if (workspace) loaded.add(`workspace:${workspace[1]}`);
  }
  return loaded;
}

const HEAVY = [
  'ssh2',
  'dockerode',
  'docker-modem',
  '@aws-sdk/client-ec2',
  '@google-cloud/compute',
  'google-gax',
  'google-auth-library',
  '@opentelemetry/api',
  'ioredis',
];

describe('what the workerkit command loads', () => {
  it('backends: every backend registered, none of their SDKs, ssh2 or the telemetry API loaded', () => {
    const loaded = packagesLoadedBy(['backends']);
    for (const backend of ['backend-docker', 'backend-ec2', 'backend-fake', 'backend-gce', 'backend-local']) {
      expect(loaded).toContain(`workspace:${backend}`);
    }
    expect(HEAVY.filter((name) => loaded.has(name))).toEqual([]);
  });

  it('run --backend local: no other backend and none of their SDKs loaded', () => {
    const script = join(work, 'true.sh');
    writeFileSync(script, 'true\n');
    const loaded = packagesLoadedBy(['run', '--backend', 'local', script]);
    expect(loaded).toContain('workspace:backend-local');
    const others = ['backend-docker', 'backend-ec2', 'backend-fake', 'backend-gce', 'ssh'];
    expect(others.filter((name) => loaded.has(`workspace:${name}`))).toEqual([]);
    expect(HEAVY.filter((name) => name !== '@opentelemetry/api' && loaded.has(name))).toEqual([]);
  });
});

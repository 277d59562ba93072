import { execFileSync } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { installOffline } from '@workerkit/testkit';
import { afterAll, describe, expect, it } from 'vitest';

const packagesDir = fileURLToPath(new URL('../../', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'workerkit-two-cores-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const run = (command: string, args: string[], cwd: string) =>
  execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** Packs a package directory as it would be published (workspace: ranges made real). */
function pack(dir: string): string {
  const out = join(work, 'packed');
  mkdirSync(out, { recursive: true });
  const before = new Set(readdirSync(out));
  run('pnpm', ['pack', '--pack-destination', out], dir);
  return join(out, readdirSync(out).find((file) => !before.has(file))!);
}

function unpack(tarball: string, dir: string): string {
  mkdirSync(dir, { recursive: true });
  run('tar', ['-xzf', tarball, '-C', dir], work);
  return join(dir, 'package');
}

function editManifest(dir: string, edit: (manifest: Record<string, unknown>) => void): void {
  const path = join(dir, 'package.json');
  const manifest = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  edit(manifest);
  writeFileSync(path, JSON.stringify(manifest, null, 2));
}

// Two versions of one backend, each with its own physical copy of @workerkit/core, in one
// project: the layout a package manager makes when a user's backends want different core
// versions. The registry (globalThis) and ProviderConfig (a Symbol.for brand) must work across
// the copies.
describe('two copies of @workerkit/core in one project', { timeout: 180_000 }, () => {
  it('runs a job through each copy with a config made by the other', () => {
    const coreTarball = pack(join(packagesDir, 'core'));
    const fakeTarball = pack(join(packagesDir, 'backend-fake'));

    // Version 2 of backend-fake depends on core 0.2.0, so a second copy of core is installed.
    const coreV2 = unpack(coreTarball, join(work, 'core-v2'));
    editManifest(coreV2, (manifest) => {
      manifest.version = '0.2.0';
    });
    const coreV2Tarball = pack(coreV2);
    const fakeV2 = unpack(fakeTarball, join(work, 'fake-v2'));
    editManifest(fakeV2, (manifest) => {
      manifest.version = '0.2.0';
      manifest.dependencies = { '@workerkit/core': '0.2.0' };
    });
    const fakeV2Tarball = pack(fakeV2);

    const project = join(work, 'project');
    mkdirSync(project);
    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify({
        name: 'two-cores',
        private: true,
        type: 'module',
        dependencies: {
          '@workerkit/core': `file:${coreTarball}`,
          '@workerkit/backend-fake': `file:${fakeTarball}`,
          'backend-fake-v2': `file:${fakeV2Tarball}`,
        },
      }),
    );
    // Each core version comes from its tarball, as the registry would serve it.
    writeFileSync(
      join(project, 'pnpm-workspace.yaml'),
      [
        'overrides:',
        `  "@workerkit/core@0.1": "file:${coreTarball}"`,
        `  "@workerkit/core@0.2": "file:${coreV2Tarball}"`,
        '',
      ].join('\n'),
    );
    installOffline(project, { workspaceDir: packagesDir });

    // The copy of core each package loads, found as Node finds it: from the package's real path.
    const coreOf = (dependent: string) => {
      const from = join(realpathSync(join(project, dependent)), 'package.json');
      return realpathSync(dirname(createRequire(from).resolve('@workerkit/core/package.json')));
    };
    const coreDirs = {
      project: coreOf('.'),
      fakeV1: coreOf('node_modules/@workerkit/backend-fake'),
      fakeV2: coreOf('node_modules/backend-fake-v2'),
    };
    const version = (dir: string) =>
      (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
    expect(version(coreDirs.project)).toBe('0.1.0');
    expect(coreDirs.fakeV1).toBe(coreDirs.project);
    expect(version(coreDirs.fakeV2)).toBe('0.2.0');

    writeFileSync(
      join(project, 'jobs.mjs'),
      `
      import * as coreV1 from '@workerkit/core';
      import '@workerkit/backend-fake';
      import { createFakeProvider } from 'backend-fake-v2';
      const coreV2 = await import(${JSON.stringify(pathToFileURL(join(coreDirs.fakeV2, 'dist', 'index.js')).href)});
      if (coreV1.ProviderConfig === coreV2.ProviderConfig) throw new Error('expected two copies of core');

      async function job(provider) {
        const instance = await provider.start({});
        await instance.uploadScript('true');
        const chunks = [];
        const result = await instance.runScript({ write: (chunk) => chunks.push(Buffer.from(chunk)) });
        await instance.stop();
        return { exitCode: result.exitCode, output: Buffer.concat(chunks).toString() };
      }
      const configV1 = coreV1.ProviderConfig.fromMap({ LOG_OUTPUT: 'made by core 1', EXIT_CODE: '3' });
      const configV2 = coreV2.ProviderConfig.fromMap({ LOG_OUTPUT: 'made by core 2', EXIT_CODE: '4' });
      let typo;
      try {
        coreV1.newBackendProvider('fake', coreV2.ProviderConfig.fromEnv('fake', { WORKERKIT_FAKE_EXIT_COD: '1' }));
      } catch (error) {
        typo = { invalidConfig: coreV1.InvalidConfigError.isInstance(error), message: error.message };
      }
      console.log(JSON.stringify({
        registryV1WithConfigV2: await job(coreV1.newBackendProvider('fake', configV2)),
        registryV2WithConfigV1: await job(coreV2.newBackendProvider('fake', configV1)),
        factoryV2WithConfigV1: await job(createFakeProvider(configV1)),
        mergedAcrossCopies: coreV1.ProviderConfig.fromMap({ A: '1' }).merge(configV2).keys(),
        typo,
      }));
      `,
    );
    expect(JSON.parse(run(process.execPath, ['jobs.mjs'], project))).toEqual({
      registryV1WithConfigV2: { exitCode: 4, output: 'made by core 2' },
      registryV2WithConfigV1: { exitCode: 3, output: 'made by core 1' },
      factoryV2WithConfigV1: { exitCode: 3, output: 'made by core 1' },
      mergedAcrossCopies: ['A', 'EXIT_CODE', 'LOG_OUTPUT'],
      typo: {
        invalidConfig: true,
        message: expect.stringContaining(
          'unknown option EXIT_COD (from WORKERKIT_FAKE_EXIT_COD); did you mean EXIT_CODE?',
        ),
      },
    });
  });
});

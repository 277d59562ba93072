import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { installOffline } from '@workerkit/testkit';
import { afterAll, describe, expect, it } from 'vitest';

const packagesDir = fileURLToPath(new URL('../../', import.meta.url));
const project = mkdtempSync(join(tmpdir(), 'workerkit-published-'));
afterAll(() => rmSync(project, { recursive: true, force: true }));

const run = (command: string, args: string[], cwd: string) =>
  execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

// What a user gets from `pnpm add @workerkit/core @workerkit/backend-fake`: the packed tarballs,
// installed into an empty project, with registration working from the published files alone.
describe('the published packages', { timeout: 180_000 }, () => {
  it('install into an empty project and run a job through self-registration', () => {
    for (const name of ['core', 'backend-fake']) {
      run('pnpm', ['pack', '--pack-destination', project], join(packagesDir, name));
    }
    const tarballs = readdirSync(project).filter((file) => file.endsWith('.tgz'));
    expect(tarballs.sort()).toEqual(['workerkit-backend-fake-0.1.0.tgz', 'workerkit-core-0.1.0.tgz']);
    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify({
        name: 'user-project',
        private: true,
        type: 'module',
        dependencies: {
          '@workerkit/core': 'file:./workerkit-core-0.1.0.tgz',
          '@workerkit/backend-fake': 'file:./workerkit-backend-fake-0.1.0.tgz',
        },
      }),
    );
    // backend-fake's `@workerkit/core: ^0.1.0` is the packed core too, as the registry would serve it.
    writeFileSync(
      join(project, 'pnpm-workspace.yaml'),
      'overrides:\n  "@workerkit/core": "file:./workerkit-core-0.1.0.tgz"\n',
    );
    installOffline(project, { workspaceDir: packagesDir });
    writeFileSync(
      join(project, 'job.mjs'),
      `
      import '@workerkit/backend-fake';
      import { eachBackend, newBackendProvider } from '@workerkit/core';
      const aliases = [];
      eachBackend((backend) => aliases.push(backend.alias));
      const provider = newBackendProvider('fake', { LOG_OUTPUT: 'hello from the tarball', EXIT_CODE: '7' });
      const instance = await provider.start({});
      await instance.uploadScript('echo ignored');
      const chunks = [];
      const result = await instance.runScript({ write: (chunk) => chunks.push(Buffer.from(chunk)) });
      await instance.stop();
      console.log(JSON.stringify({ aliases, result, output: Buffer.concat(chunks).toString() }));
      `,
    );
    const report = JSON.parse(run(process.execPath, ['job.mjs'], project));
    expect(report).toEqual({
      aliases: ['fake'],
      result: { completed: true, exitCode: 7, outputBytes: 22 },
      output: 'hello from the tarball',
    });
    // pnpm keeps every installed package, direct or not, in node_modules/.pnpm as <name>@<version>
    // (a scoped name with + for /): core's own dependency is there, the SDKs it does not need are not.
    const installed = readdirSync(join(project, 'node_modules', '.pnpm'));
    expect(installed.some((entry) => entry.startsWith('@opentelemetry+api@'))).toBe(true);
    expect(installed.filter((entry) => /^(ssh2|dockerode)@/.test(entry))).toEqual([]);
  });
});

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const packagesDir = fileURLToPath(new URL('../../', import.meta.url));
const project = mkdtempSync(join(tmpdir(), 'workerkit-published-'));
afterAll(() => rmSync(project, { recursive: true, force: true }));

// What a user gets from `pnpm add @workerkit/core @workerkit/backend-fake`: the packed tarballs,
// installed into an empty project, with registration working from the published files alone.
describe('the published packages', { timeout: 180_000 }, () => {
  it('install into an empty project and run a job through self-registration', () => {
    for (const name of ['core', 'backend-fake']) {
      execFileSync('pnpm', ['pack', '--pack-destination', project], {
        cwd: join(packagesDir, name),
        stdio: 'pipe',
      });
    }
    const tarballs = readdirSync(project).filter((file) => file.endsWith('.tgz'));
    expect(tarballs.sort()).toEqual(['workerkit-backend-fake-0.1.0.tgz', 'workerkit-core-0.1.0.tgz']);
    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify({ name: 'user-project', private: true, type: 'module' }),
    );
    execFileSync(
      'npm',
      ['install', '--no-audit', '--no-fund', '--loglevel=error', ...tarballs.map((t) => `./${t}`)],
      {
        cwd: project,
        stdio: 'pipe',
      },
    );
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
    const report = JSON.parse(
      execFileSync(process.execPath, ['job.mjs'], { cwd: project, encoding: 'utf8' }),
    );
    expect(report).toEqual({
      aliases: ['fake'],
      result: { completed: true, exitCode: 7, outputBytes: 22 },
      output: 'hello from the tarball',
    });
    const installed = readdirSync(join(project, 'node_modules'));
    expect(installed).not.toContain('ssh2');
    expect(installed).not.toContain('dockerode');
  });
});

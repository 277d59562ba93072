import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { dockerSocket } from '../test/docker-test-env.js';

const DIST_INDEX = fileURLToPath(new URL('../dist/index.js', import.meta.url));

/**
 * Runs `body` in a fresh Node process after importing the built package, and returns which of
 * the heavy modules (dockerode, docker-modem, ssh2) that process had loaded at each `mark()`.
 */
function loadedHeavyModules(body: string): string[][] {
  const program = `
    import { createRequire } from 'node:module';
    const cache = createRequire(import.meta.url).cache;
    const marks = [];
    const mark = () => marks.push([...new Set(Object.keys(cache).flatMap((path) =>
      /node_modules\\/(dockerode|docker-modem|ssh2)\\//.exec(path)?.[1] ?? []))].sort());
    const backend = await import(${JSON.stringify(DIST_INDEX)});
    ${body}
    console.log(JSON.stringify(marks));
  `;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', program], { encoding: 'utf8' });
  return JSON.parse(out) as string[][];
}

describe('lazy SDK (the built package, in a fresh process)', () => {
  it('importing the package and creating a provider loads neither dockerode nor ssh2; setup() loads dockerode', () => {
    const marks = loadedHeavyModules(`
      mark();
      const provider = backend.createDockerProvider({ ENDPOINT: 'unix://${dockerSocket()}' });
      mark();
      await provider.setup();
      mark();
      await provider.close();
    `);
    expect(marks.slice(0, 2)).toEqual([[], []]);
    // docker-modem brings ssh2 along (for ssh:// endpoints): the whole SDK loads at setup().
    expect(marks[2]).toEqual(expect.arrayContaining(['docker-modem', 'dockerode']));
  });
});

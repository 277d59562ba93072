import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createTar, firstFileInTar } from './docker-tar.js';

describe('docker tar', () => {
  it('writes archives GNU tar extracts with content and mode', () => {
    const dir = mkdtempSync(join(tmpdir(), 'workerkit-tar-'));
    try {
      const long = `${'d'.repeat(120)}/build.sh`;
      writeFileSync(
        join(dir, 'a.tar'),
        createTar([
          { path: 'home/travis/build.sh', content: Buffer.from('echo hi\n'), mode: 0o755 },
          { path: long, content: Buffer.alloc(1000, 7) },
        ]),
      );
      execFileSync('tar', ['-C', dir, '-xf', join(dir, 'a.tar')]);
      expect(readFileSync(join(dir, 'home/travis/build.sh'), 'utf8')).toBe('echo hi\n');
      expect(statSync(join(dir, 'home/travis/build.sh')).mode & 0o777).toBe(0o755);
      expect(readFileSync(join(dir, long)).equals(Buffer.alloc(1000, 7))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads the first file of an archive GNU tar made', () => {
    const dir = mkdtempSync(join(tmpdir(), 'workerkit-tar-'));
    try {
      writeFileSync(join(dir, 'build.trace'), 'trace-line\n');
      const archive = execFileSync('tar', ['-C', dir, '-c', 'build.trace']);
      expect(firstFileInTar(archive)).toEqual({ path: 'build.trace', content: Buffer.from('trace-line\n') });
      expect(firstFileInTar(Buffer.alloc(1024))).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('round-trips its own archives and rejects over-long names', () => {
    const archive = createTar([{ path: 'x/y', content: Buffer.from([0, 1, 2]) }]);
    expect(firstFileInTar(archive)?.content).toEqual(Buffer.from([0, 1, 2]));
    expect(() => createTar([{ path: 'n'.repeat(300) }])).toThrow(RangeError);
  });
});

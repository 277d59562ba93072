import { describe, expect, it } from 'vitest';
import { wrapExecCommand } from './docker-native-channel.js';

describe('wrapExecCommand', () => {
  it('exports the variables, keeps the shell as session leader and passes arguments verbatim', () => {
    const argv = wrapExecCommand(['bash', '/home/travis/build.sh'], {
      WORKERKIT_EXEC_ID: 'tok',
      HTTP_PROXY: "it's $HOME",
    });
    expect(argv.slice(0, 2)).toEqual(['/bin/sh', '-c']);
    const $ = '$';
    expect(argv[2]).toBe(
      `WORKERKIT_EXEC_ID="${$}{1}" HTTP_PROXY="${$}{2}"; export WORKERKIT_EXEC_ID HTTP_PROXY; shift 2; "$@"; status=$?; exit "$status"`,
    );
    expect(argv.slice(3)).toEqual(['workerkit-exec', 'tok', "it's $HOME", 'bash', '/home/travis/build.sh']);
  });
});

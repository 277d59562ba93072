import { PassThrough, Readable, Writable } from 'node:stream';
import { OutputMeter, OutputWriteError } from '@workerkit/core';
import { describe, expect, it } from 'vitest';
import { pumpExecOutput, wrapExecCommand } from './docker-native-channel.js';

function frame(stream: 1 | 2, payload: string): Buffer {
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(Buffer.byteLength(payload), 4);
  return Buffer.concat([header, Buffer.from(payload)]);
}

describe('pumpExecOutput', () => {
  it('splits multiplexed frames even when headers and payloads straddle chunks', async () => {
    const wire = Buffer.concat([frame(1, 'hello '), frame(2, 'err '), frame(1, 'world\n'), frame(1, '')]);
    // Every possible split into 1..7-byte chunks.
    for (let size = 1; size <= 7; size++) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < wire.length; i += size) chunks.push(wire.subarray(i, i + size));
      const received: Buffer[] = [];
      const meter = new OutputMeter({ write: (c: Uint8Array) => received.push(Buffer.from(c)) });
      await pumpExecOutput(Readable.from(chunks), meter, { multiplexed: true });
      expect(Buffer.concat(received).toString()).toBe('hello err world\n');
      expect(meter.bytes).toBe(16);
    }
  });

  it('passes a TTY stream through unchanged', async () => {
    const received: Buffer[] = [];
    await pumpExecOutput(
      Readable.from([Buffer.from('a\r\n'), Buffer.from('b\r\n')]),
      new OutputMeter({ write: (c: Uint8Array) => received.push(Buffer.from(c)) }),
      { multiplexed: false },
    );
    expect(Buffer.concat(received).toString()).toBe('a\r\nb\r\n');
  });

  it('pauses the source while the sink is full and resumes on drain', async () => {
    const source = new PassThrough();
    let delivered = 0;
    const slow = new Writable({
      highWaterMark: 16,
      write(chunk: Buffer, _encoding, callback) {
        delivered += chunk.length;
        setTimeout(callback, 5);
      },
    });
    const meter = new OutputMeter(slow);
    const done = pumpExecOutput(source, meter, { multiplexed: true });
    for (let i = 0; i < 20; i++) source.write(frame(1, 'x'.repeat(100)));
    source.end();
    await done;
    expect(meter.bytes).toBe(2000);
    expect(source.isPaused() || source.readableEnded).toBe(true);
    await new Promise((resolve) => slow.end(resolve));
    expect(delivered).toBe(2000);
  });

  it('rejects with OutputWriteError when the sink throws', async () => {
    const error = await pumpExecOutput(
      Readable.from([frame(1, 'x')]),
      new OutputMeter({
        write() {
          throw new Error('disk full');
        },
      }),
      { multiplexed: true },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OutputWriteError);
    expect(String(error)).toContain('disk full');
  });
});

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

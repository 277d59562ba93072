import { Readable, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { OutputMeter, OutputWriteError } from './output.js';

describe('OutputMeter', () => {
  it('waits for drain when the sink is full, and counts bytes', async () => {
    const received: Buffer[] = [];
    let release: () => void = () => {};
    const slow = new Writable({
      highWaterMark: 4,
      write(chunk, _encoding, callback) {
        received.push(chunk);
        release = callback;
      },
    });
    const meter = new OutputMeter(slow);
    let done = false;
    const writing = meter.write(Buffer.from('0123456789')).then(() => {
      done = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(done).toBe(false);
    release();
    await writing;
    expect(meter.bytes).toBe(10);
  });

  it('works with a plain object sink', async () => {
    const chunks: Uint8Array[] = [];
    const meter = new OutputMeter({ write: (chunk: Uint8Array) => chunks.push(chunk) });
    await meter.pump(Readable.from([Buffer.from('ab'), 'cd']));
    expect(Buffer.concat(chunks).toString()).toBe('abcd');
    expect(meter.bytes).toBe(4);
  });

  it('turns a sink failure into OutputWriteError', async () => {
    const meter = new OutputMeter({
      write: () => {
        throw new Error('EPIPE');
      },
    });
    await expect(meter.write(Buffer.from('x'))).rejects.toThrow(OutputWriteError);
  });

  it('rejects when the sink errors while full', async () => {
    const failing = new Writable({
      highWaterMark: 1,
      write(_chunk, _encoding, callback) {
        setTimeout(() => callback(new Error('disk full')), 5);
      },
    });
    failing.on('error', () => {});
    await expect(new OutputMeter(failing).write(Buffer.from('xyz'))).rejects.toThrow('disk full');
  });
});

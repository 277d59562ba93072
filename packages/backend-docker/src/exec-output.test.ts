import { PassThrough, Readable, Writable } from 'node:stream';
import { OutputMeter, OutputWriteError } from '@workerkit/core';
import { describe, expect, it } from 'vitest';
import { type ExecOutputSource, pumpExecOutput, readableExecOutput } from './exec-output.js';

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
      await pumpExecOutput(readableExecOutput(Readable.from(chunks)), meter, { multiplexed: true });
      expect(Buffer.concat(received).toString()).toBe('hello err world\n');
      expect(meter.bytes).toBe(16);
    }
  });

  it('passes a TTY stream through unchanged', async () => {
    const received: Buffer[] = [];
    await pumpExecOutput(
      readableExecOutput(Readable.from([Buffer.from('a\r\n'), Buffer.from('b\r\n')])),
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
    const done = pumpExecOutput(readableExecOutput(source), meter, { multiplexed: true });
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
      readableExecOutput(Readable.from([frame(1, 'x')])),
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
  it('copies payloads from a source that reuses its memory only for a sink that may keep them', async () => {
    for (const retainsChunks of [undefined, false] as const) {
      // One buffer, overwritten for every chunk, like the raw exec connection's read buffer.
      const shared = Buffer.alloc(14);
      let deliver!: (chunk: Buffer) => boolean;
      let end!: () => void;
      const source: ExecOutputSource = {
        reusesMemory: true,
        read: (onChunk) => {
          deliver = onChunk;
        },
        resume: () => {},
        destroy: () => {},
        ended: new Promise<void>((resolve) => {
          end = resolve;
        }),
      };
      const kept: Uint8Array[] = [];
      const seen: string[] = [];
      const sink = {
        write: (chunk: Uint8Array) => {
          kept.push(chunk);
          seen.push(Buffer.from(chunk).toString());
          return true;
        },
        ...(retainsChunks === false ? { retainsChunks } : {}),
      };
      const done = pumpExecOutput(source, new OutputMeter(sink), { multiplexed: true });
      for (const text of ['first!', 'second']) {
        frame(1, text).copy(shared);
        deliver(shared);
      }
      end();
      await done;
      expect(seen).toEqual(['first!', 'second']);
      const views = kept.map((chunk) => chunk.buffer === shared.buffer);
      if (retainsChunks === false) {
        // Lent views of the shared buffer: the first one now reads what overwrote it.
        expect(views).toEqual([true, true]);
        expect(Buffer.from(kept[0]!).toString()).toBe('second');
      } else {
        expect(views).toEqual([false, false]);
        expect(kept.map((chunk) => Buffer.from(chunk).toString())).toEqual(['first!', 'second']);
      }
    }
  });
});

import type { Readable } from 'node:stream';
import type { OutputMeter } from '@workerkit/core';

/** An exec's output as Docker sends it over the hijacked connection, chunk by chunk. */
export interface ExecOutputSource {
  /**
   * True when a chunk's memory is reused for the next read: it is valid only during the
   * `onChunk` call, and a sink that keeps chunks must get a copy.
   */
  readonly reusesMemory: boolean;
  /** Starts delivering; `onChunk` returning false pauses the source until `resume`. */
  read(onChunk: (chunk: Buffer) => boolean): void;
  resume(): void;
  destroy(): void;
  /** Resolves at the stream's end; rejects when it breaks or closes before its end. */
  readonly ended: Promise<void>;
}

/** A Node Readable (dockerode's hijacked socket) as an exec output source. */
export function readableExecOutput(stream: Readable): ExecOutputSource {
  const ended = new Promise<void>((resolve, reject) => {
    stream.once('end', resolve);
    stream.once('error', reject);
    stream.once('close', () => reject(new Error('the output stream closed before its end')));
  });
  ended.catch(() => {});
  return {
    reusesMemory: false,
    read: (onChunk) => {
      stream.on('data', (chunk: Buffer) => {
        if (!onChunk(chunk)) stream.pause();
      });
    },
    resume: () => stream.resume(),
    destroy: () => stream.destroy(),
    ended,
  };
}

/**
 * Splits Docker's multiplexed stream (frames of an 8-byte header: stream, 0, 0, 0, size; then
 * the payload) into payloads without copying them: each payload is a view of the chunk it came
 * in, or several views when a frame spans chunks. Only a header split across chunks is copied
 * (8 bytes at most).
 */
export class ExecFrameSplitter {
  readonly #header = Buffer.alloc(8);
  #headerBytes = 0;
  #remaining = 0;

  /** Calls `deliver` with each payload piece in `chunk`, in order. */
  split(chunk: Buffer, deliver: (payload: Buffer) => void): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.#remaining > 0) {
        const take = Math.min(this.#remaining, chunk.length - offset);
        deliver(chunk.subarray(offset, offset + take));
        this.#remaining -= take;
        offset += take;
        continue;
      }
      const take = Math.min(8 - this.#headerBytes, chunk.length - offset);
      chunk.copy(this.#header, this.#headerBytes, offset, offset + take);
      this.#headerBytes += take;
      offset += take;
      if (this.#headerBytes === 8) {
        this.#remaining = this.#header.readUInt32BE(4);
        this.#headerBytes = 0;
      }
    }
  }
}

/**
 * Copies an exec's output into the sink: multiplexed frames are split into payloads (with a TTY
 * the stream is raw), stdout and stderr go to the same sink in arrival order. Synchronous per
 * chunk, so no promise per chunk; the source pauses while the sink is full ('drain'
 * backpressure). Payloads from a source that reuses its memory are copied for a sink that may
 * keep chunks. Resolves at the stream's end, rejects with `OutputWriteError` when the sink fails.
 */
export function pumpExecOutput(
  source: ExecOutputSource,
  meter: OutputMeter,
  { multiplexed }: { multiplexed: boolean },
): Promise<void> {
  const copy = source.reusesMemory && meter.sinkRetainsChunks;
  const splitter = multiplexed ? new ExecFrameSplitter() : undefined;
  return new Promise<void>((resolve, reject) => {
    let failed = false;
    let waiting = false;
    const fail = (error: Error) => {
      if (failed) return;
      failed = true;
      reject(error);
    };
    const deliver = (payload: Buffer) => {
      if (failed) return;
      let drained: Promise<void> | undefined;
      try {
        drained = meter.offer(copy ? Buffer.from(payload) : payload);
      } catch (error) {
        fail(error as Error);
        return;
      }
      if (drained && !waiting) {
        waiting = true;
        drained.then(
          () => {
            waiting = false;
            if (!failed) source.resume();
          },
          (error: Error) => fail(error),
        );
      }
    };
    source.read((chunk) => {
      if (failed) return false;
      if (splitter) splitter.split(chunk, deliver);
      else deliver(chunk);
      return !waiting && !failed;
    });
    source.ended.then(() => {
      if (!failed) resolve();
    }, fail);
  });
}

import type { Readable } from 'node:stream';
import type { OutputMeter } from '@workerkit/core';

/**
 * Copies a stream into an `OutputMeter` chunk by chunk, as chunks arrive: no concatenation, no
 * promise per chunk; the stream is paused while the sink is full (SSH flow control then holds
 * the remote command). `stop()` detaches it, so nothing reaches the sink after a run returned;
 * the rest of the stream is read and dropped so the channel can close.
 */
export class OutputPump {
  readonly done: Promise<void>;
  #stopped = false;
  #stream: Readable;
  #onData: (chunk: Buffer) => void = () => {};

  constructor(stream: Readable, meter: OutputMeter) {
    this.#stream = stream;
    this.done = new Promise<void>((resolve, reject) => {
      const fail = (error: unknown) => {
        if (this.#stopped) return;
        this.stop();
        reject(error);
      };
      this.#onData = (chunk: Buffer) => {
        if (this.#stopped) return;
        let drained: Promise<void> | undefined;
        try {
          drained = meter.offer(chunk);
        } catch (error) {
          fail(error);
          return;
        }
        if (drained) {
          stream.pause();
          drained.then(() => {
            if (!this.#stopped) stream.resume();
          }, fail);
        }
      };
      stream.on('data', this.#onData);
      stream.once('end', () => {
        if (!this.#stopped) resolve();
      });
      stream.once('error', fail);
    });
  }

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#stream.removeListener('data', this.#onData);
    this.#stream.resume();
  }
}

import type { Readable } from 'node:stream';

/**
 * Where a run's output goes: a Node `Writable`, or anything with `write(chunk)`. When `write`
 * returns `false` and the sink has `once`, the run waits for 'drain' (backpressure).
 */
export interface OutputSink {
  write(chunk: Uint8Array): unknown;
  /**
   * `false` promises what Go's `io.Writer` demands: the sink is done with a chunk when `write`
   * returns (it copied or consumed it) and never keeps it. A run may then hand the sink views
   * of a read buffer it reuses, instead of fresh memory per read (a Writable's queue keeps
   * chunks, so the default, `undefined`, means the sink may keep them).
   */
  readonly retainsChunks?: boolean;
  once?(event: 'drain' | 'error' | 'close', listener: (...args: unknown[]) => void): unknown;
  removeListener?(event: 'drain' | 'error' | 'close', listener: (...args: unknown[]) => void): unknown;
}

/** Thrown when the caller's sink fails; runs turn it into reason `output-failed`. */
export class OutputWriteError extends Error {
  override readonly name = 'OutputWriteError';
}

/** Counts bytes written to a sink and honours its backpressure. */
export class OutputMeter {
  bytes = 0;
  #sink: OutputSink;

  constructor(sink: OutputSink) {
    this.#sink = sink;
  }

  /** Whether the sink may keep a chunk after `write` returns (see `OutputSink.retainsChunks`). */
  get sinkRetainsChunks(): boolean {
    return this.#sink.retainsChunks !== false;
  }

  async write(chunk: Uint8Array): Promise<void> {
    const drained = this.offer(chunk);
    if (drained) await drained;
  }

  /**
   * `write` without a promise on the fast path: hands the chunk to the sink at once and returns
   * `undefined` when the sink took it, or a promise that settles on 'drain' when the sink is full
   * (the caller should pause its source until then). Throws `OutputWriteError` if the sink throws.
   */
  offer(chunk: Uint8Array): Promise<void> | undefined {
    if (chunk.byteLength === 0) return undefined;
    let accepted: unknown;
    try {
      accepted = this.#sink.write(chunk);
    } catch (error) {
      throw new OutputWriteError(`writing output failed: ${describe(error)}`, { cause: error });
    }
    this.bytes += chunk.byteLength;
    if (accepted === false && typeof this.#sink.once === 'function') return this.#drained();
    return undefined;
  }

  /** Copies a readable stream into the sink, chunk by chunk, pausing it while the sink is full. */
  async pump(source: Readable | AsyncIterable<Uint8Array>): Promise<void> {
    for await (const chunk of source as AsyncIterable<Uint8Array | string>) {
      await this.write(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    }
  }

  #drained(): Promise<void> {
    const sink = this.#sink;
    return new Promise<void>((resolve, reject) => {
      const cleanup = () => {
        sink.removeListener?.('drain', onDrain);
        sink.removeListener?.('error', onError);
        sink.removeListener?.('close', onClose);
      };
      const onDrain = () => {
        cleanup();
        resolve();
      };
      const onError = (error: unknown) => {
        cleanup();
        reject(new OutputWriteError(`writing output failed: ${describe(error)}`, { cause: error }));
      };
      const onClose = () => {
        cleanup();
        reject(new OutputWriteError('output closed before the run ended'));
      };
      sink.once!('drain', onDrain);
      sink.once!('error', onError);
      sink.once!('close', onClose);
    });
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

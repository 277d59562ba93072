import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';

/**
 * A Writable that hashes what it receives and keeps the first `keepBytes` of it, optionally
 * slowly (to exercise backpressure). `waitFor(text)` resolves once that text has arrived.
 */
export class RecordingSink extends Writable {
  bytes = 0;
  readonly #hash = createHash('sha256');
  readonly #kept: Buffer[] = [];
  #keptBytes = 0;
  readonly #keepBytes: number;
  readonly #waiters: { text: string; resolve: () => void }[] = [];

  constructor({
    keepBytes = 1 << 20,
    highWaterMark = 64 * 1024,
  }: { keepBytes?: number; highWaterMark?: number } = {}) {
    super({ highWaterMark });
    this.#keepBytes = keepBytes;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.bytes += chunk.length;
    this.#hash.update(chunk);
    if (this.#keptBytes < this.#keepBytes) {
      const slice = chunk.subarray(0, this.#keepBytes - this.#keptBytes);
      this.#kept.push(Buffer.from(slice));
      this.#keptBytes += slice.length;
      this.#checkWaiters();
    }
    callback();
  }

  /** The first `keepBytes` received. */
  get buffer(): Buffer {
    return Buffer.concat(this.#kept);
  }

  get text(): string {
    return this.buffer.toString('utf8');
  }

  digest(): string {
    return this.#hash.copy().digest('hex');
  }

  waitFor(text: string, timeoutMs = 20_000): Promise<void> {
    if (this.text.includes(text)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `output never contained ${JSON.stringify(text)}; got ${JSON.stringify(this.text.slice(0, 500))}`,
            ),
          ),
        timeoutMs,
      );
      this.#waiters.push({
        text,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  #checkWaiters(): void {
    const text = this.text;
    for (const waiter of [...this.#waiters]) {
      if (text.includes(waiter.text)) {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  }
}

import type { SFTPWrapper, Stats } from 'ssh2';

/** SFTP status codes (draft-ietf-secsh-filexfer-02) that callers branch on. */
export const SFTP_NO_SUCH_FILE = 2;

/** The numeric SFTP status of an ssh2 SFTP error, if it has one. */
export function sftpStatus(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

const CHUNK = 32 * 1024;
const PIPELINE = 32;

/** Runs `count` indexed tasks, at most PIPELINE at a time; rejects on the first failure. */
async function pipelined(count: number, task: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(PIPELINE, count) }, worker));
}

/** Promise wrappers over the few ssh2 SFTP calls this package makes. */
export class SftpSession {
  readonly #sftp: SFTPWrapper;

  constructor(sftp: SFTPWrapper) {
    this.#sftp = sftp;
  }

  /** `undefined` when the path does not exist. */
  lstat(path: string): Promise<Stats | undefined> {
    return new Promise((resolve, reject) => {
      this.#sftp.lstat(path, (error, stats) => {
        if (!error) return resolve(stats);
        if (sftpStatus(error) === SFTP_NO_SUCH_FILE) return resolve(undefined);
        reject(error);
      });
    });
  }

  open(path: string, flags: 'r' | 'w' | 'wx', mode?: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.#sftp.open(path, flags, mode === undefined ? {} : { mode }, (error, handle) =>
        error ? reject(error) : resolve(handle),
      );
    });
  }

  write(handle: Buffer, data: Buffer, position: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#sftp.write(handle, data, 0, data.length, position, (error) =>
        error ? reject(error) : resolve(),
      );
    });
  }

  /** Bytes read into `buffer`; 0 at end of file. */
  read(handle: Buffer, buffer: Buffer, position: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#sftp.read(handle, buffer, 0, buffer.length, position, (error, bytesRead) =>
        error ? reject(error) : resolve(bytesRead),
      );
    });
  }

  fstatSize(handle: Buffer): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#sftp.fstat(handle, (error, stats) => (error ? reject(error) : resolve(stats.size)));
    });
  }

  /** Writes `data` at offset 0 with up to `PIPELINE` requests in flight; stops issuing them on abort. */
  async writeAll(handle: Buffer, data: Buffer, signal?: AbortSignal): Promise<void> {
    await pipelined(Math.ceil(data.length / CHUNK), (i) => {
      signal?.throwIfAborted();
      return this.write(handle, data.subarray(i * CHUNK, (i + 1) * CHUNK), i * CHUNK);
    });
  }

  /** Reads the whole file: the size known at open in parallel requests, then on until end of file. */
  async readAll(handle: Buffer): Promise<Buffer> {
    const size = await this.fstatSize(handle);
    const head = Buffer.allocUnsafe(size);
    let short = size;
    await pipelined(Math.ceil(size / CHUNK), async (i) => {
      const piece = head.subarray(i * CHUNK, Math.min(size, (i + 1) * CHUNK));
      let done = 0;
      while (done < piece.length) {
        const count = await this.read(handle, piece.subarray(done), i * CHUNK + done);
        if (count === 0) {
          short = Math.min(short, i * CHUNK + done); // the file shrank while we read it
          return;
        }
        done += count;
      }
    });
    const chunks = [head.subarray(0, short)];
    let position = short;
    if (short === size) {
      for (;;) {
        const buffer = Buffer.allocUnsafe(CHUNK);
        const count = await this.read(handle, buffer, position);
        if (count === 0) break;
        chunks.push(buffer.subarray(0, count));
        position += count;
      }
    }
    return Buffer.concat(chunks, position);
  }

  fchmod(handle: Buffer, mode: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#sftp.fchmod(handle, mode, (error) => (error ? reject(error) : resolve()));
    });
  }

  unlink(path: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#sftp.unlink(path, (error) => (error ? reject(error) : resolve()));
    });
  }

  close(handle: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#sftp.close(handle, (error) => (error ? reject(error) : resolve()));
    });
  }

  end(): void {
    this.#sftp.end();
  }
}

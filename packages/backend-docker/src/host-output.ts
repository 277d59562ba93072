import { execFile } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  constants,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  rmSync,
  statSync,
} from 'node:fs';
import { Socket } from 'node:net';
import { join, relative, sep } from 'node:path';
import { promisify } from 'node:util';
import { ProviderApiError } from '@workerkit/core';
import { DOCKER_ALIAS } from './docker-options.js';
import type { ExecOutputSource } from './exec-output.js';

const run = promisify(execFile);

/** Where a container sees its host output directory (read-only: only FIFOs are written). */
export const CONTAINER_OUTPUT_DIR = '/var/lib/workerkit-output';
/** The container label naming its host output directory (for gc). */
export const OUTPUT_DIR_LABEL = 'workerkit-output-dir';
/** Per-container directories are named `wk-<random>` under HOST_OUTPUT_DIR. */
const DIR_PREFIX = 'wk-';
/** A directory without a container counts as left over only after this long (a start may be creating it). */
export const ORPHAN_AFTER_MS = 10 * 60_000;
/** One read buffer per run, reused for every read (see exec-attach). */
const READ_BUFFER_BYTES = 256 * 1024;

/**
 * HOST_OUTPUT_DIR: each container gets a directory of its own under it, bind-mounted read-only at
 * CONTAINER_OUTPUT_DIR. A native run's output then goes into a FIFO there that the provider reads
 * directly, instead of through the shim's and the daemon's copies (about twice the throughput).
 * The daemon must run on this host.
 */
export class HostOutputDirs {
  readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  /** Makes the root and checks a FIFO can be made in it; throws a message naming the problem. */
  async check(): Promise<void> {
    const dir = this.create();
    try {
      await run('mkfifo', ['-m', '0666', join(dir, 'probe')]);
    } finally {
      this.remove(dir);
    }
  }

  /**
   * A new directory for one container (mode 0755: the container's users reach the FIFOs). The
   * root is made when missing (a start without `setup()`); failures are a non-retryable
   * `ProviderApiError` naming HOST_OUTPUT_DIR.
   */
  create(): string {
    let dir: string | undefined;
    try {
      dir = this.#mkdtemp();
      chmodSync(dir, 0o755); // mkdtemp makes it 0700
      return dir;
    } catch (error) {
      if (dir) rmSync(dir, { recursive: true, force: true });
      throw new ProviderApiError({
        provider: DOCKER_ALIAS,
        operation: 'container create',
        message: `cannot make a directory under HOST_OUTPUT_DIR ${this.root}: ${error instanceof Error ? error.message : String(error)}`,
        retryable: false,
        code: 'host-output-dir',
        cause: error,
      });
    }
  }

  /** A new `wk-*` directory; the root is made on demand (as the local backend's base directory). */
  #mkdtemp(): string {
    try {
      return mkdtempSync(join(this.root, DIR_PREFIX));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      mkdirSync(this.root, { recursive: true, mode: 0o755 });
      return mkdtempSync(join(this.root, DIR_PREFIX));
    }
  }

  /** `Binds` entry for the container. */
  bind(dir: string): string {
    return `${dir}:${CONTAINER_OUTPUT_DIR}:ro`;
  }

  /** Removes a container's directory (only one of ours, under the root). */
  remove(dir: string): void {
    if (!this.owns(dir)) return;
    rmSync(dir, { recursive: true, force: true });
  }

  /** Whether `dir` is a per-container directory directly under the root. */
  owns(dir: string): boolean {
    const inside = relative(this.root, dir);
    return inside.startsWith(DIR_PREFIX) && !inside.includes(sep) && !inside.startsWith('..');
  }

  /** Per-container directories not in `inUse` and older than ORPHAN_AFTER_MS, with their mtime. */
  orphans(inUse: ReadonlySet<string>, now = Date.now()): { dir: string; modifiedAt: Date }[] {
    let names: string[];
    try {
      names = readdirSync(this.root);
    } catch {
      return [];
    }
    const found: { dir: string; modifiedAt: Date }[] = [];
    for (const name of names) {
      const dir = join(this.root, name);
      if (!name.startsWith(DIR_PREFIX) || inUse.has(dir)) continue;
      try {
        const modifiedAt = statSync(dir).mtime;
        if (now - modifiedAt.getTime() >= ORPHAN_AFTER_MS) found.push({ dir, modifiedAt });
      } catch {
        // Removed meanwhile.
      }
    }
    return found;
  }

  /** Makes a FIFO for one run in a container's directory. */
  async openFifo(dir: string, name: string): Promise<HostOutputFifo> {
    const path = join(dir, name);
    await run('mkfifo', ['-m', '0666', path]);
    try {
      return new HostOutputFifo(path, `${CONTAINER_OUTPUT_DIR}/${name}`);
    } catch (error) {
      rmSync(path, { force: true });
      throw error;
    }
  }
}

/**
 * One run's FIFO. The provider holds a write end until the script has opened its own (else the
 * reader would see the end at once): `releaseWriter` when the exec's own stream ended, which
 * happens once the script's shell moved stdout and stderr into the FIFO.
 */
export class HostOutputFifo {
  readonly containerPath: string;
  readonly source: ExecOutputSource;
  readonly #path: string;
  #writer: number | undefined;

  constructor(path: string, containerPath: string) {
    this.#path = path;
    this.containerPath = containerPath;
    const reader = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      this.#writer = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
    } catch (error) {
      closeSync(reader);
      throw error;
    }
    this.source = fifoSource(reader);
  }

  releaseWriter(): void {
    if (this.#writer === undefined) return;
    closeSync(this.#writer);
    this.#writer = undefined;
  }

  /** Closes both ends and deletes the FIFO. */
  dispose(): void {
    this.releaseWriter();
    this.source.destroy();
    rmSync(this.#path, { force: true });
  }
}

function fifoSource(fd: number): ExecOutputSource {
  let socket: Socket | undefined;
  let settle!: { resolve(): void; reject(error: Error): void };
  const ended = new Promise<void>((resolve, reject) => {
    settle = { resolve, reject };
  });
  ended.catch(() => {});
  let destroyed = false;
  return {
    reusesMemory: true,
    read: (onChunk) => {
      socket = new Socket({
        fd,
        readable: true,
        writable: false,
        onread: {
          buffer: Buffer.allocUnsafe(READ_BUFFER_BYTES),
          callback: (nread: number, buffer: Buffer) => onChunk(buffer.subarray(0, nread)),
        },
      } as ConstructorParameters<typeof Socket>[0]);
      socket.once('end', () => settle.resolve());
      socket.once('error', (error) => settle.reject(error));
      socket.once('close', () => settle.reject(new Error('the output FIFO closed before its end')));
    },
    resume: () => socket?.resume(),
    destroy: () => {
      if (destroyed) return;
      destroyed = true;
      if (socket) socket.destroy();
      else closeSync(fd);
    },
    ended,
  };
}

/**
 * The little tar the docker backend needs: one-file archives for `putArchive` and reading one
 * file back out of a `getArchive` answer. USTAR, as the Engine's archive API speaks it.
 */

const BLOCK = 512;

export interface TarEntry {
  /** Path inside the archive, without a leading `/` (at most 100 bytes, or 255 split at a `/`). */
  path: string;
  content?: Uint8Array;
  /** Permission bits (default 0o644 for files, 0o755 for directories). */
  mode?: number;
  uid?: number;
  gid?: number;
  type?: 'file' | 'directory';
}

function writeString(header: Buffer, value: string, offset: number, length: number): void {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length > length) throw new RangeError(`tar: "${value}" is longer than ${length} bytes`);
  bytes.copy(header, offset);
}

function writeOctal(header: Buffer, value: number, offset: number, length: number): void {
  writeString(header, `${value.toString(8).padStart(length - 1, '0')}\0`, offset, length);
}

function splitPath(path: string): { name: string; prefix: string } {
  if (Buffer.byteLength(path) <= 100) return { name: path, prefix: '' };
  for (let i = path.indexOf('/'); i !== -1; i = path.indexOf('/', i + 1)) {
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100) return { name, prefix };
  }
  throw new RangeError(`tar: path "${path}" is too long`);
}

function header(entry: TarEntry, size: number, mtime: number): Buffer {
  const block = Buffer.alloc(BLOCK);
  const directory = entry.type === 'directory';
  const { name, prefix } = splitPath(directory && !entry.path.endsWith('/') ? `${entry.path}/` : entry.path);
  writeString(block, name, 0, 100);
  writeOctal(block, entry.mode ?? (directory ? 0o755 : 0o644), 100, 8);
  writeOctal(block, entry.uid ?? 0, 108, 8);
  writeOctal(block, entry.gid ?? 0, 116, 8);
  writeOctal(block, size, 124, 12);
  writeOctal(block, mtime, 136, 12);
  block.fill(0x20, 148, 156);
  block[156] = directory ? 0x35 : 0x30;
  writeString(block, 'ustar\0', 257, 6);
  writeString(block, '00', 263, 2);
  writeString(block, prefix, 345, 155);
  let sum = 0;
  for (const byte of block) sum += byte;
  writeString(block, `${sum.toString(8).padStart(6, '0')}\0 `, 148, 8);
  return block;
}

/** A tar archive of the given entries, in order. */
export function createTar(entries: readonly TarEntry[], mtime = Math.floor(Date.now() / 1000)): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const content = entry.type === 'directory' ? new Uint8Array(0) : (entry.content ?? new Uint8Array(0));
    parts.push(header(entry, content.byteLength, mtime));
    if (content.byteLength > 0) {
      parts.push(Buffer.from(content.buffer, content.byteOffset, content.byteLength));
      const pad = (BLOCK - (content.byteLength % BLOCK)) % BLOCK;
      if (pad > 0) parts.push(Buffer.alloc(pad));
    }
  }
  parts.push(Buffer.alloc(BLOCK * 2));
  return Buffer.concat(parts);
}

function readString(block: Buffer, offset: number, length: number): string {
  const end = block.indexOf(0, offset);
  return block.toString('utf8', offset, end === -1 || end > offset + length ? offset + length : end);
}

function readSize(block: Buffer): number {
  // GNU base-256 for sizes past 8 GiB: the high bit of the first byte is set.
  if ((block[124]! & 0x80) !== 0) {
    let size = 0;
    for (let i = 125; i < 136; i++) size = size * 256 + block[i]!;
    return size;
  }
  return Number.parseInt(readString(block, 124, 12).trim() || '0', 8);
}

/** The content of the first regular file in a tar archive (the Engine's `getArchive` of one file). */
export function firstFileInTar(archive: Buffer): { path: string; content: Buffer } | undefined {
  let offset = 0;
  let longName: string | undefined;
  while (offset + BLOCK <= archive.length) {
    const block = archive.subarray(offset, offset + BLOCK);
    if (block.every((byte) => byte === 0)) return undefined;
    const size = readSize(block);
    const type = String.fromCharCode(block[156] || 0x30);
    const dataStart = offset + BLOCK;
    const data = archive.subarray(dataStart, dataStart + size);
    offset = dataStart + Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'L') {
      longName = readString(data, 0, data.length);
      continue;
    }
    if (type === 'x' || type === 'g') continue;
    if (type === '0' || type === '\0' || type === '7') {
      const prefix = readString(block, 345, 155);
      const name =
        longName ?? (prefix ? `${prefix}/${readString(block, 0, 100)}` : readString(block, 0, 100));
      return { path: name, content: Buffer.from(data) };
    }
    longName = undefined;
  }
  return undefined;
}

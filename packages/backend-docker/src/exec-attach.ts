import { connect, type NetConnectOpts } from 'node:net';
import type { DockerOptions } from './docker-options.js';
import type { ExecOutputSource } from './exec-output.js';

/** How to reach the Engine without TLS: a unix socket or plain TCP. */
export interface PlainEngineTarget {
  connect: { path: string } | { host: string; port: number };
  /** The `Host` header. */
  host: string;
  /** "1.41": the API version in the request path. */
  apiVersion: string;
}

/** The Engine as a plain connection, or undefined for TLS (which then goes through dockerode). */
export function plainEngineTarget(settings: DockerOptions): PlainEngineTarget | undefined {
  const endpoint = settings.ENDPOINT;
  const apiVersion = settings.API_VERSION;
  if (endpoint.kind === 'unix') return { connect: { path: endpoint.socketPath }, host: 'docker', apiVersion };
  if (endpoint.protocol === 'https' || settings.tls) return undefined;
  return {
    connect: { host: endpoint.host, port: endpoint.port },
    host: `${endpoint.host}:${endpoint.port}`,
    apiVersion,
  };
}

/**
 * One read buffer per run, reused for every read. Fresh memory per read (what a Node stream
 * does) costs more CPU than the copy itself at hundreds of MiB/s: page faults and GC.
 */
const READ_BUFFER_BYTES = 256 * 1024;
/** A response head (or error body) larger than this is not the Engine's. */
const MAX_ANSWER_BYTES = 64 * 1024;

/** The Engine answered the start with an error (dockerode's error shape: statusCode, json). */
export class EngineHttpError extends Error {
  override readonly name = 'EngineHttpError';
  readonly statusCode: number;
  readonly json: { message?: string } | null;

  constructor(statusCode: number, body: string) {
    let json: { message?: string } | null = null;
    try {
      json = JSON.parse(body) as { message?: string };
    } catch {
      // Not JSON: the text is the message.
    }
    super(`(HTTP code ${statusCode}) ${json?.message ?? body.trim()}`);
    this.statusCode = statusCode;
    this.json = json;
  }
}

interface ErrorAnswer {
  status: number;
  contentLength: number | undefined;
  chunked: boolean;
  body: Buffer;
}

/**
 * Starts an exec (`POST /exec/{id}/start`, attached) on a connection of its own and returns its
 * output, read into one reused buffer (`onread`) — which dockerode's hijacked socket cannot
 * do. Plain connections only: Node's TLS sockets have no `onread`.
 */
export function startExecRaw(
  target: PlainEngineTarget,
  execId: string,
  { tty, signal, stdin }: { tty: boolean; signal?: AbortSignal; stdin?: Uint8Array | undefined },
): Promise<ExecOutputSource> {
  return new Promise((resolveGiven, rejectGiven) => {
    // Until the Engine answers, an abort gives up on it (a daemon that stopped answering).
    const onAbort = () => finish(signal!.reason as Error);
    const resolveStart = (source: ExecOutputSource) => {
      signal?.removeEventListener('abort', onAbort);
      resolveGiven(source);
    };
    const rejectStart = (error: Error) => {
      signal?.removeEventListener('abort', onAbort);
      rejectGiven(error);
    };
    let state: 'head' | 'error' | 'stream' | 'done' = 'head';
    let head = Buffer.alloc(0);
    let answer: ErrorAnswer | undefined;
    let onChunk: ((chunk: Buffer) => boolean) | undefined;
    /** Stream bytes read before the reader took them (copies: the read buffer is reused). */
    const early: Buffer[] = [];
    let socketEnded = false;
    let endOutput!: { resolve(): void; reject(error: Error): void };
    const ended = new Promise<void>((resolve, reject) => {
      endOutput = { resolve, reject };
    });
    ended.catch(() => {});

    const finish = (error?: Error) => {
      const was = state;
      if (was === 'done') return;
      state = 'done';
      if (was === 'stream') {
        if (error) endOutput.reject(error);
        else endOutput.resolve();
      } else {
        rejectStart(error ?? new Error('the Engine closed the connection before answering'));
      }
      if (error) socket.destroy();
    };

    /** Hands over early bytes; false when the reader paused again. */
    const deliverEarly = (): boolean => {
      while (early.length > 0) {
        if (!onChunk!(early.shift()!)) return false;
      }
      if (socketEnded) finish();
      return true;
    };

    const readHead = (chunk: Buffer): boolean => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) {
        if (head.length > MAX_ANSWER_BYTES) finish(new Error('the Engine sent no valid HTTP answer'));
        return true;
      }
      const [statusLine = '', ...headerLines] = head.toString('latin1', 0, end).split('\r\n');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? Number.NaN);
      const rest = head.subarray(end + 4);
      if (status === 101 || status === 200) {
        state = 'stream';
        // Stdin only now: the Engine drops what came before it took the connection over. Ending
        // our side closes the process's stdin; the output keeps coming.
        if (stdin) socket.end(stdin);
        if (rest.length > 0) early.push(rest);
        resolveStart(source);
        return false;
      }
      const header = (name: string) =>
        headerLines
          .find((line) => line.toLowerCase().startsWith(`${name}:`))
          ?.slice(name.length + 1)
          .trim();
      const length = header('content-length');
      state = 'error';
      answer = {
        status: Number.isFinite(status) ? status : 502,
        contentLength: length === undefined ? undefined : Number(length),
        chunked: header('transfer-encoding')?.toLowerCase() === 'chunked',
        body: Buffer.alloc(0),
      };
      return readErrorBody(rest);
    };

    const readErrorBody = (chunk: Buffer): boolean => {
      const error = answer!;
      error.body = Buffer.concat([error.body, chunk]);
      const complete = error.chunked
        ? error.body.includes('0\r\n\r\n')
        : error.contentLength !== undefined && error.body.length >= error.contentLength;
      if (complete || error.body.length > MAX_ANSWER_BYTES) {
        const text = error.chunked ? dechunk(error.body) : error.body.toString('utf8');
        finish(new EngineHttpError(error.status, text));
      }
      return true;
    };

    const onRead = (nread: number, buffer: Buffer): boolean => {
      const chunk = buffer.subarray(0, nread);
      switch (state) {
        case 'stream':
          if (onChunk && early.length === 0) return onChunk(chunk);
          early.push(Buffer.from(chunk));
          return false;
        case 'head':
          return readHead(chunk);
        case 'error':
          return readErrorBody(chunk);
        default:
          return false;
      }
    };

    const source: ExecOutputSource = {
      reusesMemory: true,
      read: (handler) => {
        onChunk = handler;
        if (deliverEarly()) socket.resume();
      },
      resume: () => {
        if (deliverEarly()) socket.resume();
      },
      destroy: () => socket.destroy(),
      ended,
    };

    const options = {
      ...target.connect,
      onread: { buffer: Buffer.allocUnsafe(READ_BUFFER_BYTES), callback: onRead },
    };
    if (signal?.aborted) {
      rejectGiven(signal.reason as Error);
      return;
    }
    const socket = connect(options as NetConnectOpts);
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => {
      const body = JSON.stringify({ Detach: false, Tty: tty });
      socket.write(
        `POST /v${target.apiVersion}/exec/${encodeURIComponent(execId)}/start HTTP/1.1\r\n` +
          `Host: ${target.host}\r\nContent-Type: application/json\r\n` +
          `Connection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
    });
    socket.once('end', () => {
      socketEnded = true;
      if (state === 'stream' && early.length > 0) return; // the reader finishes once it took them
      if (state === 'error') finish(new EngineHttpError(answer!.status, answer!.body.toString('utf8')));
      else finish();
    });
    socket.once('error', (error) => finish(error));
    socket.once('close', () => {
      // After a clean end the reader may still be taking early bytes; it finishes then.
      if (!socketEnded) finish(new Error('the output stream closed before its end'));
    });
  });
}

/** A chunked HTTP body, decoded (enough for the Engine's short JSON errors). */
function dechunk(raw: Buffer): string {
  const parts: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const lineEnd = raw.indexOf('\r\n', offset);
    if (lineEnd === -1) break;
    const size = Number.parseInt(raw.toString('latin1', offset, lineEnd), 16);
    if (!Number.isFinite(size) || size === 0) break;
    parts.push(raw.subarray(lineEnd + 2, lineEnd + 2 + size));
    offset = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(parts).toString('utf8');
}

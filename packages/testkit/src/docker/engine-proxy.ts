import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** One request the proxy saw. */
export interface EngineRequest {
  method: string;
  /** The path without the API version prefix and the query: `/containers/abc/json`. */
  path: string;
  /** `performance.now()` when it arrived. */
  at: number;
}

/**
 * A fault to inject into matching requests: answer with `status` instead of asking the daemon,
 * change the daemon's JSON answer with `rewrite`, or give no answer at all (`hang`: a daemon
 * that stopped answering; the request waits until its client gives up or the proxy closes).
 * It applies `times` times (default: always). Hijacked requests (exec and attach starts) take
 * `status` and `hang` too.
 */
export interface EngineFault {
  method: string;
  /** Matched against the path without the API version prefix and the query. */
  path: RegExp;
  times?: number;
  status?: number;
  message?: string;
  rewrite?: (body: unknown) => unknown;
  hang?: boolean;
}

export interface EngineProxy {
  /** The proxy's unix socket: point the client here instead of the daemon. */
  socketPath: string;
  readonly requests: readonly EngineRequest[];
  /** Adds a fault (matching requests from now on). */
  inject(fault: EngineFault): void;
  close(): Promise<void>;
}

/** `/v1.41/containers/x/json?all=1` → `/containers/x/json`. */
function enginePath(url: string): string {
  return url.split('?')[0]!.replace(/^\/v\d+\.\d+/, '');
}

/**
 * An HTTP proxy in front of a real Docker Engine's unix socket, for failure-path tests: it
 * forwards every request (hijacked exec and attach streams included) and answers or rewrites
 * the ones an injected fault matches, so a test can make a real daemon's stop fail or its
 * inspect say "not running yet" without touching the code under test.
 */
export async function startEngineProxy(daemonSocket: string): Promise<EngineProxy> {
  const dir = mkdtempSync(join(tmpdir(), 'workerkit-engine-proxy-'));
  const socketPath = join(dir, 'engine.sock');
  const requests: EngineRequest[] = [];
  const faults: EngineFault[] = [];
  const upgraded = new Set<Socket>();

  const faultFor = (req: IncomingMessage): EngineFault | undefined => {
    const path = enginePath(req.url ?? '/');
    const fault = faults.find(
      (candidate) =>
        candidate.method === req.method && candidate.path.test(path) && (candidate.times ?? 1) > 0,
    );
    if (fault?.times !== undefined) fault.times -= 1;
    return fault;
  };

  const server = createServer((req, res) => {
    requests.push({ method: req.method ?? 'GET', path: enginePath(req.url ?? '/'), at: performance.now() });
    const fault = faultFor(req);
    if (fault?.hang) {
      req.resume();
      return;
    }
    if (fault?.status !== undefined) {
      req.resume();
      res.writeHead(fault.status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ message: fault.message ?? 'injected by the engine proxy' }));
      return;
    }
    forward(req, res, daemonSocket, fault?.rewrite);
  });
  // exec/attach with `Upgrade: tcp`: pass the raw stream both ways once the daemon answers.
  server.on('upgrade', (req: IncomingMessage, client: Socket, head: Buffer) => {
    requests.push({ method: req.method ?? 'POST', path: enginePath(req.url ?? '/'), at: performance.now() });
    const fault = faultFor(req);
    if (fault?.hang) {
      upgraded.add(client);
      client.on('close', () => upgraded.delete(client)).on('error', () => {});
      return;
    }
    if (fault?.status !== undefined) {
      const body = JSON.stringify({ message: fault.message ?? 'injected by the engine proxy' });
      client.end(
        `HTTP/1.1 ${fault.status} Injected\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
      return;
    }
    const daemon = connect(daemonSocket);
    upgraded.add(client).add(daemon);
    const lines = [`${req.method} ${req.url} HTTP/1.1`];
    for (let i = 0; i < req.rawHeaders.length; i += 2)
      lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
    daemon.write(`${lines.join('\r\n')}\r\n\r\n`);
    if (head.length > 0) daemon.write(head);
    daemon.pipe(client).pipe(daemon);
    const end = () => {
      client.destroy();
      daemon.destroy();
      upgraded.delete(client);
      upgraded.delete(daemon);
    };
    daemon.on('error', end).on('close', end);
    client.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, resolve);
  });
  return {
    socketPath,
    requests,
    inject: (fault) => {
      faults.push({ ...fault });
    },
    close: async () => {
      for (const socket of upgraded) socket.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function forward(
  req: IncomingMessage,
  res: ServerResponse,
  daemonSocket: string,
  rewrite: EngineFault['rewrite'],
): void {
  const upstream = request(
    { socketPath: daemonSocket, method: req.method, path: req.url, headers: req.headers },
    (answer) => {
      if (!rewrite || (answer.statusCode ?? 500) >= 300) {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
        return;
      }
      const chunks: Buffer[] = [];
      answer.on('data', (chunk: Buffer) => chunks.push(chunk));
      answer.on('end', () => {
        const body = JSON.stringify(rewrite(JSON.parse(Buffer.concat(chunks).toString('utf8'))));
        const headers = { ...answer.headers, 'content-length': String(Buffer.byteLength(body)) };
        delete headers['transfer-encoding'];
        res.writeHead(answer.statusCode ?? 200, headers);
        res.end(body);
      });
    },
  );
  upstream.on('error', (error) => {
    res.writeHead(502, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ message: `engine proxy: ${error.message}` }));
  });
  req.pipe(upstream);
}

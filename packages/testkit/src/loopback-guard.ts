/**
 * Loaded as a vitest setup file: any TCP connection to a host outside 127.0.0.0/8 (or ::1)
 * throws, and so does any DNS lookup of a name. Tests must only ever reach this machine.
 */
import dns from 'node:dns';
import net from 'node:net';

const GUARD = Symbol.for('workerkit.testkit.loopbackGuard');

export function isLoopbackAddress(host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (net.isIPv4(bare)) return bare.startsWith('127.');
  if (net.isIPv6(bare)) return bare === '::1' || bare.toLowerCase().startsWith('::ffff:127.');
  return bare === 'localhost';
}

export class NonLoopbackConnectionError extends Error {
  override readonly name = 'NonLoopbackConnectionError';
}

function targetHost(args: unknown[]): string | undefined {
  const [first, second] = args;
  if (Array.isArray(first)) return targetHost(first);
  if (typeof first === 'object' && first !== null) {
    const options = first as { host?: string; path?: string };
    if (options.path !== undefined) return undefined; // unix socket
    return options.host ?? 'localhost';
  }
  if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
    return typeof second === 'string' ? second : 'localhost';
  }
  return undefined; // a unix socket path
}

export function installLoopbackGuard(): void {
  const holder = globalThis as { [GUARD]?: boolean };
  if (holder[GUARD]) return;
  holder[GUARD] = true;
  const connect = net.Socket.prototype.connect;
  net.Socket.prototype.connect = function guardedConnect(this: net.Socket, ...args: unknown[]) {
    const host = targetHost(args);
    if (host !== undefined && !isLoopbackAddress(host)) {
      throw new NonLoopbackConnectionError(
        `test tried to connect to ${host}: tests may only reach 127.0.0.0/8`,
      );
    }
    return (connect as (...a: unknown[]) => net.Socket).apply(this, args);
  } as typeof connect;
  const lookup = dns.lookup;
  dns.lookup = function guardedLookup(hostname: string, ...rest: unknown[]) {
    if (!isLoopbackAddress(hostname) && !net.isIP(hostname)) {
      throw new NonLoopbackConnectionError(`test tried to resolve ${hostname}: use IP literals (127.0.0.x)`);
    }
    return (lookup as (...a: unknown[]) => unknown).call(dns, hostname, ...rest);
  } as typeof lookup;
}

installLoopbackGuard();

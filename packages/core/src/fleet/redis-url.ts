/** A Redis server address as `redis://[user][:password]@host[:port][/db]` (or `rediss://` for TLS). */
export interface RedisUrl {
  tls: boolean;
  host: string;
  port: number;
  db: number;
  username?: string;
  password?: string;
}

export const REDIS_URL_EXPECTED =
  'a Redis URL: redis://[user][:password]@host[:port][/db] or rediss://… for TLS (db a number from 0 to 15 unless the server has more)';

/**
 * Parses a Redis URL without loading any client, so a bad value is a config error before a
 * connection is tried. Undefined when it is not one: another scheme, no host, a port or db
 * that is not a number, or a query string (whose options would otherwise be silently ignored).
 */
export function parseRedisUrl(raw: string): RedisUrl | undefined {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    return undefined;
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') return undefined;
  if (url.hostname === '' || url.search !== '' || url.hash !== '') return undefined;
  const port = url.port === '' ? 6379 : Number(url.port);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) return undefined;
  const path = url.pathname.replace(/^\//, '');
  if (path !== '' && !/^\d{1,5}$/.test(path)) return undefined;
  const db = path === '' ? 0 : Number(path);
  return {
    tls: url.protocol === 'rediss:',
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port,
    db,
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
  };
}

/** The URL as it may appear in logs: the password replaced by `***`. */
export function redactRedisUrl(raw: string): string {
  try {
    const url = new URL(raw);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return '(invalid Redis URL)';
  }
}

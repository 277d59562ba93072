import dns from 'node:dns';
import net, { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { isLoopbackAddress, NonLoopbackConnectionError } from './loopback-guard.js';

// The guard is loaded as this suite's setup file, as in every other suite.
describe('loopback guard', () => {
  it.each(['127.0.0.1', '127.3.4.5', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1'])(
    'allows %s',
    (host) => {
      expect(isLoopbackAddress(host)).toBe(true);
    },
  );

  it.each(['10.0.0.1', '172.16.0.1', '192.168.1.1', '8.8.8.8', '::ffff:10.0.0.1', 'example.com'])(
    'refuses %s',
    (host) => {
      expect(isLoopbackAddress(host)).toBe(false);
    },
  );

  it('throws before any packet leaves for a private-range or public address', () => {
    expect(() => net.connect({ host: '10.0.0.1', port: 22 })).toThrow(NonLoopbackConnectionError);
    expect(() => net.connect(443, '8.8.8.8')).toThrow(NonLoopbackConnectionError);
  });

  it('throws on a DNS lookup of a name', () => {
    expect(() => dns.lookup('example.com', () => {})).toThrow(NonLoopbackConnectionError);
  });

  it('lets loopback connections through', async () => {
    const server = createServer((socket) => socket.end('hi'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.9', resolve));
    const { port } = server.address() as net.AddressInfo;
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.9', port });
      let data = '';
      socket.on('data', (chunk) => {
        data += chunk;
      });
      socket.on('end', () => resolve(data));
      socket.on('error', reject);
    });
    expect(reply).toBe('hi');
    await new Promise((resolve) => server.close(resolve));
  });
});

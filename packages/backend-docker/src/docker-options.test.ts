import { InvalidConfigError, MissingEndpointConfigError, ProviderConfig } from '@workerkit/core';
import { describe, expect, it } from 'vitest';
import { dockerOptions, parseBytes, parseDockerOptions } from './docker-options.js';

const ENDPOINT = 'unix:///var/run/docker.sock';

function parse(
  values: Record<string, string>,
  readFile: (path: string) => Buffer = () => Buffer.from('pem'),
) {
  return parseDockerOptions(ProviderConfig.fromMap({ ENDPOINT, ...values }), readFile, 8);
}

function rejection(values: Record<string, string>): InvalidConfigError {
  try {
    parse(values);
  } catch (error) {
    if (InvalidConfigError.isInstance(error)) return error;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(values)} to be rejected`);
}

describe('docker options', () => {
  it('has the Go defaults', () => {
    const settings = parse({});
    expect(settings.ENDPOINT).toEqual({
      kind: 'unix',
      socketPath: '/var/run/docker.sock',
      address: ENDPOINT,
    });
    expect(settings.API_VERSION).toBe('1.24');
    expect(settings.CMD).toEqual(['/sbin/init']);
    expect(settings.EXEC_CMD).toEqual(['bash', '/home/travis/build.sh']);
    expect(settings.INSPECT_INTERVAL).toBe(500);
    expect(settings.TMPFS_MAP).toEqual({ '/run': 'rw,nosuid,nodev,exec,noatime,size=65536k' });
    expect(settings.MEMORY).toBe(4 * 2 ** 30);
    expect(settings.SHM).toBe(64 * 2 ** 20);
    expect(settings.CONTAINER_LABELS).toEqual({});
    expect(settings.CPUS).toBe(2);
    expect(settings.CPU_SET_SIZE).toBe(8);
    expect(settings.NATIVE).toBe(false);
    expect(settings.PRIVILEGED).toBe(false);
    expect(settings.TTY).toBe(false);
    expect(settings.SSH_DIAL_TIMEOUT).toBe(5000);
    expect(settings.STOP_TIMEOUT).toBe(0);
    expect(settings.IMAGE_SELECTOR_TYPE).toBe('tag');
    expect(settings.BINDS).toBeUndefined();
    expect(settings.SECURITY_OPT).toBeUndefined();
    expect(settings.SSH_PORT).toEqual({ first: 22, last: 22 });
    expect(settings.proxyEnv).toEqual({});
    expect(settings.tls).toBeUndefined();
  });

  it('needs ENDPOINT or HOST, HOST being the fallback', () => {
    expect(() => parseDockerOptions(ProviderConfig.fromMap({}), () => Buffer.alloc(0))).toThrow(
      MissingEndpointConfigError,
    );
    const error = (() => {
      try {
        parseDockerOptions(ProviderConfig.fromMap({}), () => Buffer.alloc(0));
      } catch (e) {
        return e;
      }
    })();
    expect(MissingEndpointConfigError.isInstance(error)).toBe(true);
    expect(String(error)).toContain('ENDPOINT or HOST');
    const viaHost = parseDockerOptions(ProviderConfig.fromMap({ HOST: 'tcp://127.0.0.1:2375' }), () =>
      Buffer.alloc(0),
    );
    expect(viaHost.ENDPOINT).toMatchObject({ kind: 'tcp', protocol: 'http', host: '127.0.0.1', port: 2375 });
    const both = parseDockerOptions(
      ProviderConfig.fromMap({ ENDPOINT: 'unix:///a.sock', HOST: 'tcp://127.0.0.1:2375' }),
      () => Buffer.alloc(0),
    );
    expect(both.ENDPOINT.kind).toBe('unix');
  });

  it.each([
    ['https://127.0.0.1:2376', { kind: 'tcp', protocol: 'https', port: 2376 }],
    ['tcp://127.0.0.1', { kind: 'tcp', protocol: 'http', port: 2375 }],
    ['/run/docker.sock', { kind: 'unix', socketPath: '/run/docker.sock' }],
  ])('reads ENDPOINT %s', (value, expected) => {
    expect(parse({ ENDPOINT: value }).ENDPOINT).toMatchObject(expected);
  });

  it.each([
    ['ENDPOINT', 'ftp://127.0.0.1'],
    ['ENDPOINT', 'unix://relative.sock'],
    ['ENDPOINT', 'not an address'],
    ['API_VERSION', '1.23'],
    ['API_VERSION', '2.0'],
    ['API_VERSION', 'latest'],
    ['INSPECT_INTERVAL', 'soon'],
    ['INSPECT_INTERVAL', '0'],
    ['SSH_DIAL_TIMEOUT', '5'],
    ['STOP_TIMEOUT', '-1s'],
    ['MEMORY', 'lots'],
    ['MEMORY', '1MiB'],
    ['MEMORY', '4X'],
    ['SHM', '-5'],
    ['CPUS', '-1'],
    ['CPUS', 'two'],
    ['CPU_SET_SIZE', '0'],
    ['CPU_SET_SIZE', '1.5'],
    ['NATIVE', 'fafafaf'],
    ['PRIVILEGED', 'maybe'],
    ['TTY', 'sometimes'],
    ['TMPFS_MAP', 'run:rw'],
    ['BINDS', '/src'],
    ['BINDS', '/src:relative'],
    ['BINDS', '/a:/b:ro:extra'],
    ['BINDS', 'foo/bar:/data'],
    ['CONTAINER_LABELS', 'workerkit-owner:me'],
    ['IMAGE_SELECTOR_TYPE', 'registry'],
    ['IMAGE_SELECTOR_URL', 'file:///etc/passwd'],
    ['SSH_PORT', '70000'],
    ['SSH_PORT', '2300-2200'],
  ])('rejects %s=%j naming the provider, option, value and what is expected', (option, value) => {
    const error = rejection({ [option]: value });
    expect(error.provider).toBe('docker');
    expect(error.option).toBe(option);
    expect(error.message).toContain(`docker: invalid ${option}: got ${JSON.stringify(value)}, expected`);
    expect(error.expected.length).toBeGreaterThan(5);
  });

  it('rejects CPUS above CPU_SET_SIZE, but CPUS=0 disables CPU sets', () => {
    expect(rejection({ CPUS: '4', CPU_SET_SIZE: '2' }).message).toContain('at most CPU_SET_SIZE (2)');
    expect(parse({ CPUS: '0', CPU_SET_SIZE: '1' }).CPUS).toBe(0);
  });

  it('needs IMAGE_SELECTOR_URL for the api selector', () => {
    expect(rejection({ IMAGE_SELECTOR_TYPE: 'api' }).option).toBe('IMAGE_SELECTOR_URL');
    expect(
      parse({ IMAGE_SELECTOR_TYPE: 'api', IMAGE_SELECTOR_URL: 'http://127.0.0.1:9/images' })
        .IMAGE_SELECTOR_URL?.href,
    ).toBe('http://127.0.0.1:9/images');
  });

  it('resolves IMAGE_ALIASES through IMAGE_ALIAS_* and rejects an alias without a target', () => {
    const settings = parse({
      IMAGE_ALIASES: 'my-image,other',
      IMAGE_ALIAS_MY_IMAGE: 'repo/a:1',
      IMAGE_OTHER: 'repo/b:2',
    });
    expect(settings.imageAliases).toEqual({ 'my-image': 'repo/a:1', other: 'repo/b:2' });
    expect(rejection({ IMAGE_ALIASES: 'missing' }).option).toBe('IMAGE_ALIAS_MISSING');
  });

  it('reads CERT_PATH files before anything is created, and only for tcp endpoints', () => {
    const read: string[] = [];
    const settings = parse(
      { ENDPOINT: 'tcp://127.0.0.1:2376', CERT_PATH: '/certs', TLS_VERIFY: '1' },
      (path) => {
        read.push(path);
        return Buffer.from(path);
      },
    );
    expect(read).toEqual(['/certs/ca.pem', '/certs/cert.pem', '/certs/key.pem']);
    expect(settings.tls?.key.toString()).toBe('/certs/key.pem');
    expect(settings.TLS_VERIFY).toBe(true);
    const missing = (() => {
      try {
        parse({ ENDPOINT: 'tcp://127.0.0.1:2376', CERT_PATH: '/nope' }, () => {
          throw new Error('ENOENT');
        });
      } catch (error) {
        return error as InvalidConfigError;
      }
    })();
    expect(missing?.option).toBe('CERT_PATH');
    expect(missing?.message).toContain('cannot read /nope/ca.pem');
    expect(rejection({ CERT_PATH: '/certs' }).message).toContain('tcp://');
  });

  it('splits CMD, EXEC_CMD, BINDS and SECURITY_OPT on spaces and TMPFS_MAP on spaces or "+"', () => {
    const settings = parse({
      CMD: '/usr/sbin/sshd -D',
      EXEC_CMD: 'sh  /home/travis/build.sh',
      BINDS: '/var/run/docker.sock:/var/run/docker.sock /data:/data:ro',
      SECURITY_OPT: 'seccomp=unconfined apparmor=unconfined',
      TMPFS_MAP: '/run:rw,exec+/run/lock:rw,exec,size=1m /scratch:rw',
    });
    expect(settings.CMD).toEqual(['/usr/sbin/sshd', '-D']);
    expect(settings.EXEC_CMD).toEqual(['sh', '/home/travis/build.sh']);
    expect(settings.BINDS).toEqual(['/var/run/docker.sock:/var/run/docker.sock', '/data:/data:ro']);
    expect(settings.SECURITY_OPT).toEqual(['seccomp=unconfined', 'apparmor=unconfined']);
    expect(settings.TMPFS_MAP).toEqual({
      '/run': 'rw,exec',
      '/run/lock': 'rw,exec,size=1m',
      '/scratch': 'rw',
    });
  });

  it('reads CONTAINER_LABELS split on commas or spaces', () => {
    expect(parse({ CONTAINER_LABELS: 'team:ci, pool:a b:c%20d' }).CONTAINER_LABELS).toEqual({
      team: 'ci',
      pool: 'a',
      b: 'c d',
    });
  });

  it('passes the proxy variables in both cases', () => {
    expect(parse({ HTTP_PROXY: 'http://127.0.0.1:3128', NO_PROXY: 'localhost' }).proxyEnv).toEqual({
      HTTP_PROXY: 'http://127.0.0.1:3128',
      http_proxy: 'http://127.0.0.1:3128',
      NO_PROXY: 'localhost',
      no_proxy: 'localhost',
    });
  });

  it('needs SSH_ADDRESS for an SSH_PORT range in ssh mode', () => {
    expect(rejection({ SSH_PORT: '2200-2210' }).option).toBe('SSH_ADDRESS');
    expect(parse({ SSH_PORT: '2200-2210', SSH_ADDRESS: '127.0.0.1' }).SSH_PORT).toEqual({
      first: 2200,
      last: 2210,
    });
    expect(parse({ SSH_PORT: '2200-2210', NATIVE: 'true' }).SSH_PORT).toEqual({ first: 2200, last: 2210 });
  });

  it('parses byte sizes as go-humanize does', () => {
    expect(parseBytes('4G')).toBe(4e9);
    expect(parseBytes('4GiB')).toBe(4 * 2 ** 30);
    expect(parseBytes('64MiB')).toBe(64 * 2 ** 20);
    expect(parseBytes('512k')).toBe(512_000);
    expect(parseBytes('1.5GB')).toBe(1.5e9);
    expect(parseBytes('0')).toBe(0);
    expect(parseBytes('12 MB')).toBe(12e6);
    expect(parseBytes('many')).toBeUndefined();
  });

  it('prints the Go help texts with defaults', () => {
    const help = dockerOptions.help();
    expect(help['ENDPOINT / HOST']).toBe('[REQUIRED] tcp or unix address for connecting to Docker');
    expect(help.CMD).toContain('command (CMD) to run when creating containers');
    expect(help.CMD).toContain('(default "/sbin/init")');
    expect(help.EXEC_CMD).toBe('command to run via exec/ssh (default "bash /home/travis/build.sh")');
    expect(help.INSPECT_INTERVAL).toBe(
      'time to wait between container inspections as duration (default "500ms")',
    );
    expect(help.CPUS).toBe('cpu count to allocate to each container (0 disables allocation) (default "2")');
    expect(help.NATIVE).toBe(
      'upload and run build script via docker API instead of over ssh (default "false")',
    );
    expect(help.IMAGE_SELECTOR_TYPE).toBe('image selector type ("tag", "api", or "env") (default "tag")');
    for (const key of [
      'SECURITY_OPT',
      'BINDS',
      'HTTP_PROXY',
      'HTTPS_PROXY',
      'FTP_PROXY',
      'NO_PROXY',
      'IMAGE_ALIASES',
    ]) {
      expect(help[key]).toBeTruthy();
    }
  });
});

import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { isAbsolute } from 'node:path';
import {
  DOCKER_MIN_SUPPORTED_API_VERSION,
  defineOptions,
  InvalidConfigError,
  LIFECYCLE_LABELS,
  MissingEndpointConfigError,
  option,
  type ParsedOptions,
  type ProviderConfig,
  str2map,
  optionTypes as t,
} from '@workerkit/core';

export const DOCKER_ALIAS = 'docker';

/** Where the Engine listens. */
export type DockerEndpoint =
  | { kind: 'unix'; socketPath: string; address: string }
  | { kind: 'tcp'; protocol: 'http' | 'https'; host: string; port: number; address: string };

function parseEndpoint(raw: string): DockerEndpoint | undefined {
  const value = raw.trim();
  if (value.startsWith('unix://')) {
    const socketPath = value.slice('unix://'.length);
    return isAbsolute(socketPath) ? { kind: 'unix', socketPath, address: value } : undefined;
  }
  if (value.startsWith('/')) return { kind: 'unix', socketPath: value, address: `unix://${value}` };
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  const protocol =
    url.protocol === 'https:'
      ? 'https'
      : url.protocol === 'tcp:' || url.protocol === 'http:'
        ? 'http'
        : undefined;
  if (!protocol || !url.hostname || (url.pathname !== '' && url.pathname !== '/')) return undefined;
  const port = url.port ? Number(url.port) : protocol === 'https' ? 2376 : 2375;
  return { kind: 'tcp', protocol, host: url.hostname.replace(/^\[|\]$/g, ''), port, address: value };
}

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  m: 1e6,
  mb: 1e6,
  g: 1e9,
  gb: 1e9,
  t: 1e12,
  tb: 1e12,
  ki: 2 ** 10,
  kib: 2 ** 10,
  mi: 2 ** 20,
  mib: 2 ** 20,
  gi: 2 ** 30,
  gib: 2 ** 30,
  ti: 2 ** 40,
  tib: 2 ** 40,
};

/** go-humanize `ParseBytes`: "4G" is 4·10⁹, "4GiB" is 4·2³⁰, "64MiB", "512k", "1.5GB", "0". */
export function parseBytes(raw: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*([a-zA-Z]*)\s*$/.exec(raw);
  if (!match) return undefined;
  const unit = UNITS[match[2]!.toLowerCase()];
  if (unit === undefined) return undefined;
  return Math.floor(Number(match[1]) * unit);
}

const MIN_MEMORY = 6 * 2 ** 20;

const bytes = (what: string, min = 0) =>
  t.custom<number>(
    `a byte size such as "4G", "512MiB" or "0" (0 disables ${what}${min > 0 ? `; otherwise at least ${min / 2 ** 20} MiB, the Engine's minimum` : ''})`,
    (raw) => {
      const value = parseBytes(raw);
      if (value === undefined || (value !== 0 && value < min)) return undefined;
      return value;
    },
  );

/** Words split on spaces, as Go split CMD, EXEC_CMD and BINDS. */
const words = (example: string) =>
  t.custom<string[]>(`space-separated words such as ${JSON.stringify(example)}`, (raw) => {
    const list = raw.split(' ').filter((word) => word !== '');
    return list.length > 0 ? list : undefined;
  });

const TMPFS_EXPECTED =
  'space- or "+"-separated path:options pairs with absolute paths, such as "/run:rw,exec+/run/lock:rw,exec"';

const tmpfsMap = t.custom<Record<string, string>>(TMPFS_EXPECTED, (raw) => {
  const map = str2map(raw, ' +');
  const paths = Object.keys(map);
  if (paths.length === 0 || !paths.every((path) => isAbsolute(path))) return undefined;
  return map;
});

const BIND_EXPECTED =
  'space-separated binds "source:/container/path[:options]", the source an absolute host path or a volume name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)';
const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

const binds = t.custom<string[]>(BIND_EXPECTED, (raw) => {
  const list = raw.split(' ').filter((word) => word !== '');
  const valid = list.every((bind) => {
    const [source, destination, mode, ...rest] = bind.split(':');
    return (
      !!source &&
      (isAbsolute(source) || VOLUME_NAME.test(source)) &&
      !!destination &&
      isAbsolute(destination) &&
      rest.length === 0 &&
      mode !== ''
    );
  });
  return valid && list.length > 0 ? list : undefined;
});

const labels = t.custom<Record<string, string>>(
  `comma- or space-separated key:value labels, not using the reserved keys ${Object.values(LIFECYCLE_LABELS).join(', ')}`,
  (raw) => {
    const map = str2map(raw, ' ,');
    const reserved = Object.values(LIFECYCLE_LABELS) as string[];
    return Object.keys(map).some((key) => reserved.includes(key)) ? undefined : map;
  },
);

const apiVersion = t.custom<string>(
  `a Docker Engine API version such as "1.41", at least ${DOCKER_MIN_SUPPORTED_API_VERSION}`,
  (raw) => {
    const match = /^v?1\.(\d+)$/.exec(raw.trim());
    if (!match) return undefined;
    const minimum = Number(DOCKER_MIN_SUPPORTED_API_VERSION.split('.')[1]);
    return Number(match[1]) >= minimum ? `1.${match[1]}` : undefined;
  },
);

const positiveDuration = () =>
  t.custom<number>('a duration above zero such as "500ms", "5s" or "1m30s"', (raw) => {
    const ms = t.duration().parse(raw);
    return ms !== undefined && ms > 0 ? ms : undefined;
  });

/** A port, or a range "2200-2299" from which each container gets its own port. */
export interface PortRange {
  first: number;
  last: number;
}

const portRange = t.custom<PortRange>('a TCP port (1-65535) or a range such as "2200-2299"', (raw) => {
  const match = /^\s*(\d{1,5})(?:\s*-\s*(\d{1,5}))?\s*$/.exec(raw);
  if (!match) return undefined;
  const first = Number(match[1]);
  const last = match[2] === undefined ? first : Number(match[2]);
  return first >= 1 && last <= 65535 && first <= last ? { first, last } : undefined;
});

const endpoint = t.custom<DockerEndpoint>(
  'a Docker address: "unix:///var/run/docker.sock", "tcp://host:2376", "http://host:2375" or "https://host:2376"',
  parseEndpoint,
);

/**
 * Every option of the docker backend, with the Go worker's names, defaults and help texts; the
 * help map, the CLI help and the README table are generated from it.
 */
export const dockerOptions = defineOptions(DOCKER_ALIAS, {
  ENDPOINT: option(endpoint, {
    description: '[REQUIRED] tcp or unix address for connecting to Docker',
    aliases: ['HOST'],
  }),
  CERT_PATH: option(t.string(), {
    description: 'directory where ca.pem, cert.pem, and key.pem are located (default "")',
  }),
  TLS_VERIFY: option(t.bool(), {
    description:
      "verify the daemon's certificate when CERT_PATH is set: on for any value but 0/no/off/false (default off, as in Go)",
  }),
  API_VERSION: option(apiVersion, {
    description: 'Docker Engine API version to speak (the minimum supported is 1.24, docker-engine 1.12)',
    default: DOCKER_MIN_SUPPORTED_API_VERSION,
  }),
  CMD: option(words('/sbin/init'), {
    description:
      "command (CMD) to run when creating containers; {ssh_address} and {ssh_port} are replaced by the container's ssh address and port",
    default: '/sbin/init',
  }),
  EXEC_CMD: option(words('bash /home/travis/build.sh'), {
    description: 'command to run via exec/ssh',
    default: 'bash /home/travis/build.sh',
  }),
  INSPECT_INTERVAL: option(positiveDuration(), {
    description: 'time to wait between container inspections as duration',
    default: '500ms',
  }),
  TMPFS_MAP: option(tmpfsMap, {
    description: '"+"-delimited key:value map of tmpfs mounts (example "/run:rw,exec+/run/lock:rw,exec")',
    default: '/run:rw,nosuid,nodev,exec,noatime,size=65536k',
  }),
  MEMORY: option(bytes('the memory limit', MIN_MEMORY), {
    description: 'memory to allocate to each container (0 disables allocation)',
    default: '4GiB',
  }),
  SHM: option(bytes('the /dev/shm size setting'), {
    description: '/dev/shm to allocate to each container (0 disables allocation)',
    default: '64MiB',
  }),
  CONTAINER_LABELS: option(labels, {
    description:
      'comma- or space-delimited key:value pairs of labels to apply to each container; they also scope which containers this worker lists and collects (default "")',
  }),
  CPUS: option(t.int({ min: 0, max: 4096 }), {
    description: 'cpu count to allocate to each container (0 disables allocation)',
    default: '2',
  }),
  CPU_SET_SIZE: option(t.int({ min: 1, max: 4096 }), {
    description: 'size of available cpu set (default detected locally via the number of CPUs)',
  }),
  NATIVE: option(t.strictBool(), {
    description: 'upload and run build script via docker API instead of over ssh',
    default: 'false',
  }),
  TTY: option(t.strictBool(), {
    description:
      "allocate a TTY for the native exec (stdout and stderr then merge; Docker's TTY path is ~20x slower for line output)",
    default: 'false',
  }),
  PRIVILEGED: option(t.strictBool(), {
    description: 'run containers in privileged mode',
    default: 'false',
  }),
  NETWORK_MODE: option(t.string(), {
    description:
      'container network mode ("none", "host", "bridge" or a network name; default "": the daemon\'s default)',
  }),
  HOST_OUTPUT_DIR: option(t.string(), {
    description:
      'a directory on this host (the daemon must run here, on a unix socket) under which each container gets its own, bind-mounted read-only; native runs without a TTY then write their output into a FIFO there that the provider reads directly, past the daemon\'s copies (about twice the throughput, stdout and stderr in exact order); default "": off',
  }),
  WARM_CONTAINERS: option(t.int({ min: 0, max: 64 }), {
    description:
      "started containers kept ready for the next jobs, native mode only (0 disables): a job then skips container create and start; a warm container takes the job's name but keeps its own hostname and empty travis.* labels",
    default: '0',
  }),
  STOP_TIMEOUT: option(t.duration(), {
    description:
      "grace period for the container's processes to end on SIGTERM once the job is done, before they are killed and the container removed (default 0s: killed and removed at once, whatever the image's PID 1 does with SIGTERM; the Go worker waited up to 30s)",
    default: '0s',
  }),
  SSH_DIAL_TIMEOUT: option(positiveDuration(), {
    description: 'connection timeout for ssh connections',
    default: '5s',
  }),
  SSH_READY_TIMEOUT: option(positiveDuration(), {
    description: "how long start waits for the container's sshd to accept a login (ssh mode)",
    default: '60s',
  }),
  SSH_ADDRESS: option(t.string(), {
    description:
      'address the ssh mode connects to, e.g. 127.0.0.1 with NETWORK_MODE=host (default "": the container\'s IP address)',
  }),
  SSH_PORT: option(portRange, {
    description:
      'sshd port, or a range ("2200-2299") from which each container gets its own port (passed as {ssh_port} in CMD)',
    default: '22',
  }),
  IMAGE_SELECTOR_TYPE: option(t.oneOf(['tag', 'api', 'env']), {
    description: 'image selector type ("tag", "api", or "env")',
    default: 'tag',
  }),
  IMAGE_SELECTOR_URL: option(t.url(), {
    description: 'URL for image selector API, used only when image selector is "api"',
  }),
  IMAGE_ALIASES: option(t.list(), {
    description:
      'comma-delimited strings used as stable names for images; IMAGE_ALIAS_{ALIAS} (alias upper-cased, non-alphanumerics as _) gives the full name',
  }),
  BINDS: option(binds, {
    description: 'Bind mount a volume (example: "/var/run/docker.sock:/var/run/docker.sock", default "")',
  }),
  SECURITY_OPT: option(words('seccomp=unconfined'), {
    description:
      'Security configuration (example: "seccomp=unconfined") to turn off seccomp confinement for the container',
  }),
  HTTP_PROXY: option(t.string(), { description: 'HTTP_PROXY (and http_proxy) for the build script' }),
  HTTPS_PROXY: option(t.string(), { description: 'HTTPS_PROXY (and https_proxy) for the build script' }),
  FTP_PROXY: option(t.string(), { description: 'FTP_PROXY (and ftp_proxy) for the build script' }),
  NO_PROXY: option(t.string(), { description: 'NO_PROXY (and no_proxy) for the build script' }),
});

type Parsed = ParsedOptions<typeof dockerOptions.specs>;

/** The docker backend's settings after parsing and cross-checking. */
export interface DockerOptions extends Omit<Parsed, 'ENDPOINT' | 'CPU_SET_SIZE' | 'CONTAINER_LABELS'> {
  ENDPOINT: DockerEndpoint;
  CPU_SET_SIZE: number;
  CONTAINER_LABELS: Record<string, string>;
  /** ca.pem, cert.pem and key.pem from CERT_PATH. */
  tls: { ca: Buffer; cert: Buffer; key: Buffer } | undefined;
  /** IMAGE_ALIASES resolved: alias → image name. */
  imageAliases: Record<string, string>;
  /** Proxy variables for the build script, upper- and lower-case. */
  proxyEnv: Record<string, string>;
}

function invalid(option: string, value: string | undefined, expected: string): InvalidConfigError {
  return new InvalidConfigError({ provider: DOCKER_ALIAS, option, value, expected });
}

/**
 * Reads and checks every option, including the ones that depend on each other and on files
 * (CERT_PATH), before anything is created.
 */
export function parseDockerOptions(
  config: ProviderConfig,
  readFile: (path: string) => Buffer = (path) => readFileSync(path),
  cpuCount = availableParallelism(),
): DockerOptions {
  if (!config.get('ENDPOINT') && !config.get('HOST')) {
    throw new MissingEndpointConfigError({ provider: DOCKER_ALIAS, keys: ['ENDPOINT', 'HOST'] });
  }
  const parsed = dockerOptions.parse(config);
  const settings: DockerOptions = {
    ...parsed,
    ENDPOINT: parsed.ENDPOINT!,
    CPU_SET_SIZE: parsed.CPU_SET_SIZE ?? cpuCount,
    CONTAINER_LABELS: parsed.CONTAINER_LABELS ?? {},
    tls: undefined,
    imageAliases: {},
    proxyEnv: {},
  };
  if (settings.CPUS > settings.CPU_SET_SIZE) {
    throw invalid(
      'CPUS',
      String(settings.CPUS),
      `at most CPU_SET_SIZE (${settings.CPU_SET_SIZE}) CPUs per container, or 0 to disable CPU sets`,
    );
  }
  if (parsed.CERT_PATH) {
    const files: Partial<Record<'ca' | 'cert' | 'key', Buffer>> = {};
    for (const name of ['ca', 'cert', 'key'] as const) {
      const path = `${parsed.CERT_PATH}/${name}.pem`;
      try {
        files[name] = readFile(path);
      } catch (error) {
        throw new InvalidConfigError({
          provider: DOCKER_ALIAS,
          option: 'CERT_PATH',
          value: parsed.CERT_PATH,
          expected: `a directory holding ca.pem, cert.pem and key.pem (cannot read ${path})`,
          cause: error,
        });
      }
    }
    settings.tls = files as DockerOptions['tls'];
    if (settings.ENDPOINT.kind !== 'tcp') {
      throw invalid(
        'CERT_PATH',
        parsed.CERT_PATH,
        'to be used with a tcp:// or https:// ENDPOINT, not a unix socket',
      );
    }
  }
  if (parsed.IMAGE_SELECTOR_TYPE === 'api' && !parsed.IMAGE_SELECTOR_URL) {
    throw invalid('IMAGE_SELECTOR_URL', undefined, 'a URL when IMAGE_SELECTOR_TYPE is "api"');
  }
  for (const alias of parsed.IMAGE_ALIASES ?? []) {
    const key = alias.toUpperCase().replace(/[^A-Z0-9]/g, '_');
    const target = config.get(`IMAGE_ALIAS_${key}`) || config.get(`IMAGE_${key}`);
    if (!target) {
      throw invalid(
        `IMAGE_ALIAS_${key}`,
        undefined,
        `the image name for alias "${alias}" listed in IMAGE_ALIASES`,
      );
    }
    settings.imageAliases[alias] = target;
  }
  if (settings.HOST_OUTPUT_DIR) {
    if (!isAbsolute(settings.HOST_OUTPUT_DIR)) {
      throw invalid('HOST_OUTPUT_DIR', settings.HOST_OUTPUT_DIR, 'an absolute directory path');
    }
    if (!settings.NATIVE) {
      throw invalid(
        'HOST_OUTPUT_DIR',
        settings.HOST_OUTPUT_DIR,
        'to be unset unless NATIVE=true (ssh mode streams over ssh)',
      );
    }
    if (settings.ENDPOINT.kind !== 'unix') {
      throw invalid(
        'HOST_OUTPUT_DIR',
        settings.HOST_OUTPUT_DIR,
        'to be unset with a tcp:// ENDPOINT: the daemon must run on this host, reached through its unix socket',
      );
    }
  }
  if (settings.WARM_CONTAINERS > 0 && !settings.NATIVE) {
    throw invalid(
      'WARM_CONTAINERS',
      String(settings.WARM_CONTAINERS),
      '0 unless NATIVE=true (ssh mode puts a per-job key into each container before it starts)',
    );
  }
  const sshPorts = settings.SSH_PORT;
  if (!settings.NATIVE && sshPorts.first !== sshPorts.last && !settings.SSH_ADDRESS) {
    throw invalid(
      'SSH_ADDRESS',
      undefined,
      'an address (such as 127.0.0.1 with NETWORK_MODE=host) when SSH_PORT is a range',
    );
  }
  for (const name of ['HTTP_PROXY', 'HTTPS_PROXY', 'FTP_PROXY', 'NO_PROXY'] as const) {
    const value = parsed[name];
    if (value) {
      settings.proxyEnv[name] = value;
      settings.proxyEnv[name.toLowerCase()] = value;
    }
  }
  return settings;
}

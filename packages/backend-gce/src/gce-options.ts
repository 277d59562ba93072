import { readFileSync } from 'node:fs';
import {
  defineOptions,
  fleetOptions,
  InvalidConfigError,
  option,
  optionTypes,
  type ParsedOptions,
  type ProviderConfig,
} from '@workerkit/core';

const ZONE_NAME = /^[a-z]+-[a-z]+\d+-[a-z]$/;
const RESOURCE_NAME = /^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$/;
const REGION_NAME = /^[a-z]+-[a-z]+\d+$/;

const resourceName = (what: string) =>
  optionTypes.custom(
    `a GCE ${what} name (lower-case letters, digits and dashes, starting with a letter)`,
    (raw) => (RESOURCE_NAME.test(raw.trim()) ? raw.trim() : undefined),
  );

/** GCE service-account key: only `client_email` and `private_key` are used (as in Go). */
export interface GceServiceAccount {
  clientEmail: string;
  privateKey: string;
}

const accountJson = optionTypes.custom<GceServiceAccount>(
  'a service-account key: a path to a JSON file, or the JSON itself, with client_email and private_key',
  (raw) => {
    let text = raw.trim();
    if (!text.startsWith('{')) {
      try {
        text = readFileSync(text, 'utf8');
      } catch {
        return undefined;
      }
    }
    try {
      const parsed = JSON.parse(text) as { client_email?: unknown; private_key?: unknown };
      if (typeof parsed.client_email !== 'string' || typeof parsed.private_key !== 'string') return undefined;
      return { clientEmail: parsed.client_email, privateKey: parsed.private_key };
    } catch {
      return undefined;
    }
  },
);

const projectId = optionTypes.custom(
  'a GCE project id (6-63 lower-case letters, digits and dashes)',
  (raw) => (/^(?:[a-z][-a-z0-9.]*:)?[a-z][-a-z0-9]{4,61}[a-z0-9]$/.test(raw.trim()) ? raw.trim() : undefined),
);

const zoneList = optionTypes.custom<string[]>(
  'a comma-separated list of GCE zones such as "us-central1-a"',
  (raw) => {
    const zones = raw
      .split(',')
      .map((z) => z.trim())
      .filter((z) => z !== '');
    return zones.length > 0 && zones.every((z) => ZONE_NAME.test(z)) ? [...new Set(zones)] : undefined;
  },
);

const positiveDuration = optionTypes.custom<number>(
  'a positive duration such as "500ms", "3s" or "1m"',
  (raw) => {
    const ms = optionTypes.duration().parse(raw);
    return ms !== undefined && ms > 0 ? ms : undefined;
  },
);

/**
 * Every option of the gce backend: the Go worker's (v4.1.1 and master) under their names, with
 * the Go help text, plus the endpoint and credential options a TypeScript worker needs.
 */
export const gceOptions = defineOptions('gce', {
  PROJECT_ID: option(projectId, {
    description: 'GCE project id',
    required: true,
  }),
  ACCOUNT_JSON: option(accountJson, {
    description:
      'account JSON config: a file path, or the JSON itself if it starts with "{" (only client_email and private_key are used); when absent, Google application default credentials are used',
    secret: true,
  }),
  ACCESS_TOKEN: option(optionTypes.string(), {
    description:
      'a fixed OAuth2 access token to send instead of ACCOUNT_JSON or default credentials (emulators, tokens minted elsewhere); never refreshed',
    secret: true,
  }),
  API_ENDPOINT: option(optionTypes.url(), {
    description:
      'base URL of the Compute Engine API, e.g. "http://127.0.0.1:8080" for an emulator (default: the Google endpoint); plain http is allowed only for loopback addresses',
  }),
  API_CALL_TIMEOUT: option(positiveDuration, {
    description: 'timeout of one API request (operations.wait requests included)',
    default: '2m30s',
  }),
  IMAGE_PROJECT_ID: option(projectId, {
    description: 'GCE project id to use for images, will use PROJECT_ID if not specified',
  }),
  ZONES: option(zoneList, {
    description:
      'comma-delimited list of zone names; each instance goes to a random one, and to another zone of the same region when a zone is out of capacity (ZONE is the deprecated single-zone name)',
    default: 'us-central1-a',
    aliases: ['ZONE'],
  }),
  REGION: option(
    optionTypes.custom('a GCE region such as "us-central1"', (raw) =>
      REGION_NAME.test(raw.trim()) ? raw.trim() : undefined,
    ),
    {
      description:
        'only takes effect when SUBNETWORK is defined; region in which to deploy (every zone in ZONES must be in it)',
      default: 'us-central1',
    },
  ),
  MACHINE_TYPE: option(resourceName('machine type'), {
    description: 'machine name',
    default: 'n1-standard-2',
  }),
  PREMIUM_MACHINE_TYPE: option(resourceName('machine type'), {
    description: 'premium machine type (used for jobs with vm_type "premium")',
    default: 'n1-standard-4',
  }),
  DISK_SIZE: option(optionTypes.int({ min: 10, max: 65_536 }), {
    description: 'disk size in GB',
    default: '20',
  }),
  GPU_COUNT: option(optionTypes.int({ min: 0, max: 8 }), {
    description: "number of GPUs to use when the job's vm_config names none",
    default: '0',
  }),
  GPU_TYPE: option(resourceName('accelerator type'), {
    description: "type of GPU to use when the job's vm_config names none",
    default: 'nvidia-tesla-p100',
  }),
  NETWORK: option(resourceName('network'), { description: 'network name', default: 'default' }),
  SUBNETWORK: option(resourceName('subnetwork'), {
    description: 'the subnetwork in which to launch build instances (gce internal default "default")',
  }),
  PUBLIC_IP: option(optionTypes.bool(), {
    description: 'boot job instances with a public ip, disable this for NAT',
    default: 'true',
  }),
  PUBLIC_IP_CONNECT: option(optionTypes.bool(), {
    description:
      'connect to the public ip of the instance instead of the internal, only takes effect if PUBLIC_IP is true',
    default: 'true',
  }),
  PREEMPTIBLE: option(optionTypes.bool(), {
    description: 'boot job instances with preemptible flag enabled',
    default: 'false',
  }),
  SPOT: option(optionTypes.strictBool(), {
    description:
      'boot job instances as Spot VMs (provisioningModel SPOT, the successor of PREEMPTIBLE); preempted runs are requeued',
    default: 'false',
  }),
  AUTO_IMPLODE: option(optionTypes.bool(), {
    description: 'schedule a poweroff at HARD_TIMEOUT_MINUTES in the future',
    default: 'true',
  }),
  MAX_RUN_DURATION: option(optionTypes.bool(), {
    description:
      "let GCE delete the instance server-side once the job's hard timeout plus 10 minutes has passed (scheduling.maxRunDuration with instanceTerminationAction DELETE)",
    default: 'true',
  }),
  TERMINATION_ACTION: option(optionTypes.oneOf(['DELETE', 'STOP']), {
    description:
      'scheduling.instanceTerminationAction of Spot VMs and of the MAX_RUN_DURATION guard: DELETE removes the VM (and its disk) when it is preempted or its run duration is over, STOP leaves it TERMINATED (the backend deletes it when the job ends)',
    default: 'DELETE',
  }),
  DETERMINISTIC_HOSTNAME: option(optionTypes.bool(), {
    description: 'assign deterministic hostname based on repo slug and job id',
    default: 'false',
  }),
  DEFAULT_LANGUAGE: option(optionTypes.string(), {
    description: 'default language to use when looking up image',
    default: 'minimal',
  }),
  IMAGE_DEFAULT: option(optionTypes.string(), {
    description: 'default image name to use when none found',
    default: 'travis-ci.+',
  }),
  IMAGE_SELECTOR_TYPE: option(optionTypes.oneOf(['env', 'api']), {
    description: 'image selector type ("env" or "api")',
    default: 'env',
  }),
  IMAGE_SELECTOR_URL: option(optionTypes.url(), {
    description: 'URL for image selector API, used only when image selector is "api"',
  }),
  BOOT_POLL_SLEEP: option(positiveDuration, {
    description:
      'first backoff step between polls of the instance insert operation when a long poll (operations.wait) returns unfinished; doubles up to 10x',
    default: '3s',
  }),
  BOOT_PRE_POLL_SLEEP: option(optionTypes.duration(), {
    description:
      'time to sleep prior to polling server for instance ready status (the Go worker slept 15s; long polling makes it unnecessary)',
    default: '0s',
  }),
  BOOT_TIMEOUT: option(positiveDuration, {
    description: 'give up on an instance that is not running after this long, delete it and fail the start',
    default: '4m',
  }),
  STOP_POLL_SLEEP: option(positiveDuration, {
    description:
      'first backoff step between polls of the instance delete operation when a long poll returns unfinished; doubles up to 10x',
    default: '3s',
  }),
  STOP_PRE_POLL_SLEEP: option(optionTypes.duration(), {
    description:
      'time to sleep prior to polling server for instance stop status (the Go worker slept 15s; long polling makes it unnecessary)',
    default: '0s',
  }),
  STOP_TIMEOUT: option(positiveDuration, {
    description: 'stop waiting for an instance deletion to finish after this long (as the Go worker: 2m)',
    default: '2m',
  }),
  SKIP_STOP_POLL: option(optionTypes.bool(), {
    description: 'immediately return after issuing first instance deletion request',
    default: 'false',
  }),
  SSH_USER: option(
    optionTypes.custom('a Linux user name', (raw) =>
      /^[a-z_][a-z0-9_-]{0,31}$/.test(raw.trim()) ? raw.trim() : undefined,
    ),
    { description: 'user the build runs as; its key goes into the ssh-keys metadata', default: 'travis' },
  ),
  SSH_PORT: option(optionTypes.int({ min: 1, max: 65_535 }), {
    description: 'port sshd listens on in the image',
    default: '22',
  }),
  SSH_HOST_KEY_CHECK: option(optionTypes.oneOf(['published', 'insecure']), {
    description:
      'how the host key is verified: "published" accepts only the keys the guest published (guest attributes, or the serial console for images without the guest agent); "insecure" accepts any key (a warning is logged)',
    default: 'published',
  }),
  PTY: option(optionTypes.bool(), {
    description:
      'run the build script with a pseudo-terminal, as the Go worker always did: stderr merges into stdout, line ends become CRLF, and output is much slower; off by default',
    default: 'false',
  }),
  SSH_DIAL_TIMEOUT: option(positiveDuration, {
    description: 'connection timeout for ssh connections',
    default: '5s',
  }),
  UPLOAD_RETRIES: option(optionTypes.int({ min: 1, max: 100_000 }), {
    description:
      'number of times to attempt to connect over ssh (and upload the script) before erroring; the wait is bounded by UPLOAD_RETRIES x UPLOAD_RETRY_SLEEP',
    default: '120',
  }),
  UPLOAD_RETRY_SLEEP: option(positiveDuration, {
    description: 'sleep interval between script upload attempts',
    default: '1s',
  }),
  RATE_LIMIT_MAX_CALLS: option(optionTypes.int({ min: 1, max: 100_000 }), {
    description:
      'number of calls per duration to let through to the GCE API (per worker process, or per fleet with RATE_LIMIT_REDIS_URL)',
    default: '10',
  }),
  RATE_LIMIT_DURATION: option(positiveDuration, {
    description: 'interval in which to let max-calls through to the GCE API (a sliding window)',
    default: '1s',
  }),
  ...fleetOptions({ api: 'GCE API', limiterName: 'gce-api' }),
  BACKOFF_RETRY_MAX: option(positiveDuration, {
    description: 'Maximum allowed duration of generic exponential backoff retries',
    default: '1m',
  }),
  TRAVIS_SITE: option(
    optionTypes.custom('a network tag (lower-case letters, digits and dashes)', (raw) =>
      RESOURCE_NAME.test(raw.trim()) ? raw.trim() : undefined,
    ),
    { description: 'added to every instance as a network tag (e.g. "org" or "com")' },
  ),
});

export type GceOptions = ParsedOptions<(typeof gceOptions)['specs']>;

/**
 * Go options this backend does not implement. Setting one is an error rather than silently
 * ignored: each says what to do instead.
 */
export const UNSUPPORTED_GCE_OPTIONS: Readonly<Record<string, string>> = Object.freeze({
  WARMER_URL: 'warm instance pools are not supported',
  WARMER_TIMEOUT: 'warm instance pools are not supported',
  WARMER_SSH_PASSPHRASE: 'warm instance pools are not supported',
  IMAGE_ALIASES:
    'aliases were removed from the Go worker in 2018: set IMAGE_<NAME> keys to image names directly',
  DISK_SIZE_WINDOWS: 'Windows instances are not supported',
});

/** Parses and cross-checks the gce options; throws `InvalidConfigError` naming the option. */
export function parseGceOptions(config: ProviderConfig): GceOptions {
  for (const [key, why] of Object.entries(UNSUPPORTED_GCE_OPTIONS)) {
    const value = config.get(key);
    if (value !== undefined && value !== '') {
      throw new InvalidConfigError({
        provider: 'gce',
        option: key,
        value,
        expected: `it unset: ${why}`,
        secret: key.includes('PASSPHRASE'),
      });
    }
  }
  const options = gceOptions.parse(config);
  if (options.IMAGE_SELECTOR_TYPE === 'api' && options.IMAGE_SELECTOR_URL === undefined) {
    throw new InvalidConfigError({
      provider: 'gce',
      option: 'IMAGE_SELECTOR_URL',
      value: undefined,
      expected: 'a URL when IMAGE_SELECTOR_TYPE is "api"',
    });
  }
  if (options.SUBNETWORK !== undefined) {
    const outside = options.ZONES.find((zone) => regionOfZone(zone) !== options.REGION);
    if (outside !== undefined) {
      throw new InvalidConfigError({
        provider: 'gce',
        option: 'ZONES',
        value: options.ZONES.join(','),
        expected: `zones in REGION ${options.REGION} (SUBNETWORK ${options.SUBNETWORK} lives there), not ${outside}`,
      });
    }
  }
  if (options.API_ENDPOINT !== undefined) {
    const url = options.API_ENDPOINT;
    if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
      throw new InvalidConfigError({
        provider: 'gce',
        option: 'API_ENDPOINT',
        value: url.href,
        expected: 'an https URL, or http only for a loopback address (127.0.0.0/8, ::1, localhost)',
      });
    }
    if (url.pathname !== '/' || url.search !== '' || url.username !== '') {
      throw new InvalidConfigError({
        provider: 'gce',
        option: 'API_ENDPOINT',
        value: url.href,
        expected: 'a base URL with scheme, host and optional port only (no path, query or credentials)',
      });
    }
  }
  return options;
}

export function regionOfZone(zone: string): string {
  return zone.replace(/-[a-z]$/, '');
}

function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  return bare === 'localhost' || bare === '::1' || /^127\.\d+\.\d+\.\d+$/.test(bare);
}

/** vm_size → machine type, GPUs and disk size (the Go worker's table, master). */
export const GCE_VM_SIZES: Readonly<
  Record<string, { machineType: string; gpuType?: string; gpuCount?: number; diskSizeGb?: number }>
> = Object.freeze({
  medium: { machineType: 'n2-standard-2' },
  large: { machineType: 'n2-standard-4' },
  'x-large': { machineType: 'n2-standard-8' },
  '2x-large': { machineType: 'n2-standard-16' },
  'gpu-medium': { machineType: 'n1-standard-8', gpuType: 'nvidia-tesla-t4', gpuCount: 1, diskSizeGb: 300 },
  'gpu-xlarge': { machineType: 'n1-standard-8', gpuType: 'nvidia-tesla-v100', gpuCount: 1, diskSizeGb: 300 },
});

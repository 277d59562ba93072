import {
  defineOptions,
  fleetOptions,
  InvalidConfigError,
  LIFECYCLE_LABELS,
  option,
  optionTypes,
  type ParsedOptions,
  type ProviderConfig,
} from '@workerkit/core';

export const EC2_ALIAS = 'ec2';

const INSTANCE_TYPE = /^[a-z][a-z0-9-]*\.[a-z0-9-]+$/;
const REGION = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d+$/;
const SUBNET = /^subnet-[0-9a-f]{8,17}$/;
const SECURITY_GROUP_ID = /^sg-[0-9a-f]{8,17}$/;
const AMI_ID = /^ami-[0-9a-f]{8,17}$/;
const IAM_PROFILE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:instance-profile\/[\w+=,.@/-]{1,128}$/;
const IAM_PROFILE_NAME = /^[\w+=,.@-]{1,128}$/;
const KEY_NAME = /^[\x20-\x7e]{1,255}$/;
const USER_NAME = /^[a-z_][a-z0-9_-]{0,31}$/;

/** The Go worker's vm_size mapping (master). */
const DEFAULT_VM_SIZE_MAP = 'medium:m6g.large,large:m6g.xlarge,x-large:m6g.2xlarge,2x-large:m6g.4xlarge';

function instanceTypeList(raw: string): string[] | undefined {
  const items = raw
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  return items.every((item) => INSTANCE_TYPE.test(item)) ? items : undefined;
}

/**
 * `key=value` pairs separated by commas (the Go `CUSTOM_TAGS` format). Keys follow EC2's rules
 * (1–128 characters, not `aws:`, not one of workerkit's lifecycle tags); values up to 256.
 */
function parseTags(raw: string): Record<string, string> | undefined {
  const tags: Record<string, string> = {};
  const reserved = new Set<string>([...Object.values(LIFECYCLE_LABELS), 'Name']);
  for (const item of raw.split(',')) {
    if (item.trim() === '') continue;
    const equals = item.indexOf('=');
    if (equals <= 0) return undefined;
    const key = item.slice(0, equals).trim();
    const value = item.slice(equals + 1).trim();
    if (key === '' || key.length > 128 || key.toLowerCase().startsWith('aws:') || reserved.has(key))
      return undefined;
    if (value.length > 256 || key in tags) return undefined;
    tags[key] = value;
  }
  return tags;
}

/** USER_DATA: URL-safe base64 (RFC 4648 §5), padding optional, as the Go worker's RawURLEncoding. */
function parseUserData(raw: string): string | undefined {
  const trimmed = raw.trim();
  if (!/^[A-Za-z0-9_-]*={0,2}$/.test(trimmed) || trimmed.replace(/=+$/, '').length % 4 === 1)
    return undefined;
  return Buffer.from(trimmed, 'base64url').toString('utf8');
}

function vmSizeMap(raw: string): Record<string, string> | undefined {
  const map: Record<string, string> = {};
  for (const item of raw.split(',')) {
    if (item.trim() === '') continue;
    const colon = item.indexOf(':');
    if (colon <= 0) return undefined;
    const size = item.slice(0, colon).trim();
    const type = item.slice(colon + 1).trim();
    if (!INSTANCE_TYPE.test(type)) return undefined;
    map[size] = type;
  }
  return map;
}

/** Every option of the ec2 backend: the Go names, Go help texts and the fixes (see README). */
export const ec2Options = defineOptions(EC2_ALIAS, {
  AWS_ACCESS_KEY_ID: option(optionTypes.string(), {
    description: 'AWS Access Key ID (with AWS_SECRET_ACCESS_KEY; unset: the SDK default credential chain)',
    secret: true,
  }),
  AWS_SECRET_ACCESS_KEY: option(optionTypes.string(), { description: 'AWS Secret Access Key', secret: true }),
  AWS_SESSION_TOKEN: option(optionTypes.string(), {
    description: 'AWS session token for temporary credentials (optional)',
    secret: true,
  }),
  REGION: option(
    optionTypes.custom('an AWS region such as "eu-west-1"', (raw) =>
      REGION.test(raw.trim()) ? raw.trim() : undefined,
    ),
    { description: 'Which region to run workers in', default: 'eu-west-1' },
  ),
  ENDPOINT: option(optionTypes.url(), {
    description:
      "EC2 API endpoint URL (default: the region's public endpoint); for emulators and private endpoints",
  }),
  INSTANCE_TYPE: option(
    optionTypes.custom('an instance type such as "t3.medium"', (raw) =>
      INSTANCE_TYPE.test(raw.trim()) ? raw.trim() : undefined,
    ),
    {
      description:
        'Instance type to use for builds (a Nitro type: the console host keys are read with GetConsoleOutput Latest)',
      default: 't3.micro',
    },
  ),
  INSTANCE_TYPE_FALLBACKS: option(
    optionTypes.custom(
      'a comma-separated list of instance types such as "t3.medium,t3a.medium"',
      instanceTypeList,
    ),
    {
      description: 'Instance types to try in order when the chosen one has no capacity or is unsupported',
      default: '',
    },
  ),
  VM_SIZE_MAP: option(
    optionTypes.custom('size:instance-type pairs separated by commas, such as "medium:m6g.large"', vmSizeMap),
    { description: "Instance type for a job's vm_size", default: DEFAULT_VM_SIZE_MAP },
  ),
  SPOT: option(optionTypes.strictBool(), { description: 'Launch spot instances', default: 'false' }),
  SPOT_FALLBACK_ON_DEMAND: option(optionTypes.strictBool(), {
    description: 'When SPOT is set and no spot capacity is left for any instance type, launch on-demand',
    default: 'true',
  }),
  SUBNET_ID: option(
    optionTypes.custom('a subnet id such as "subnet-0123abcd"', (raw) =>
      SUBNET.test(raw.trim()) ? raw.trim() : undefined,
    ),
    { description: 'Subnet ID to launch instances into' },
  ),
  SECURITY_GROUPS: option(
    optionTypes.custom('a comma-separated list of security group ids ("sg-0123abcd") or names', (raw) => {
      const items = raw
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item !== '');
      return items.every(
        (item) => SECURITY_GROUP_ID.test(item) || /^[\w .:/()#,@[\]+=&;{}!$*-]{1,255}$/.test(item),
      )
        ? items
        : undefined;
    }),
    {
      description: 'Security groups to assign (ids, or names in the default VPC)',
      aliases: ['SECURITY_GROUP_IDS'],
    },
  ),
  PUBLIC_IP: option(optionTypes.bool(), {
    description: 'boot job instances with a public ip, disable this for NAT',
    default: 'true',
  }),
  PUBLIC_IP_CONNECT: option(optionTypes.bool(), {
    description:
      'connect to the public ip of the instance instead of the internal, only takes effect if PUBLIC_IP is true',
    default: 'true',
  }),
  EBS_OPTIMIZED: option(optionTypes.bool(), {
    description: 'Whether or not to use EBS-optimized instances',
    default: 'false',
  }),
  DISK_SIZE: option(optionTypes.int({ min: 1, max: 16_384 }), {
    description: 'Disk size in GB',
    default: '100',
  }),
  DISK_TYPE: option(optionTypes.oneOf(['gp3', 'gp2', 'io1', 'io2', 'st1', 'sc1', 'standard'] as const), {
    description: 'EBS volume type of the root disk',
    default: 'gp3',
  }),
  DISK_IOPS: option(optionTypes.int({ min: 100, max: 256_000 }), {
    description: 'Provisioned IOPS of the root disk (required for DISK_TYPE io1 and io2, optional for gp3)',
  }),
  DISK_DEVICE_NAME: option(
    optionTypes.custom('a device name such as "/dev/sda1"', (raw) =>
      /^\/dev\/[a-z0-9]+$/.test(raw) ? raw : undefined,
    ),
    {
      description:
        "Device name of the root volume (default: the AMI's RootDeviceName; another name attaches an extra volume)",
    },
  ),
  IAM_INSTANCE_PROFILE: option(
    optionTypes.custom('an instance profile name or ARN', (raw) =>
      IAM_PROFILE_ARN.test(raw.trim()) || IAM_PROFILE_NAME.test(raw.trim()) ? raw.trim() : undefined,
    ),
    { description: 'This is not a good idea... for security, builds should provice API keys' },
  ),
  CPU_CREDIT_SPECIFICATION: option(optionTypes.oneOf(['standard', 'unlimited'] as const), {
    description:
      'standard|unlimited (for faster boots); applies to burstable (t*) instance types, which default to unlimited',
  }),
  USER_DATA: option(optionTypes.custom('URL-safe base64 (RFC 4648)', parseUserData), {
    description: 'User data, needs to be URL safe base64 encoded format (RFC 4648)',
  }),
  TAGS: option(
    optionTypes.custom(
      'key=value pairs separated by commas (EC2 tag rules; not aws:*, Name or workerkit*)',
      parseTags,
    ),
    {
      description:
        'Custom tags to set for the EC2 instance. Comma separated list with format key1=value1,key2=value2.....keyN=valueN',
      aliases: ['CUSTOM_TAGS'],
    },
  ),
  KEY_NAME: option(
    optionTypes.custom('an EC2 key pair name', (raw) => (KEY_NAME.test(raw) ? raw : undefined)),
    {
      description:
        'Key name to use for the admin user, this is in case you need login access to instances. The travis user has a auto generated key.',
    },
  ),
  KEY_PAIR: option(optionTypes.oneOf(['import', 'create'] as const), {
    description:
      'How the per-instance key pair is made: "import" a locally generated ed25519 key (the private key never leaves this host) or "create" one in EC2',
    default: 'import',
  }),
  SSH_USER: option(
    optionTypes.custom('a login name', (raw) => (USER_NAME.test(raw) ? raw : undefined)),
    { description: 'User to log in as over SSH', default: 'travis' },
  ),
  SSH_PORT: option(optionTypes.int({ min: 1, max: 65_535 }), {
    description: 'SSH port of the instances',
    default: '22',
  }),
  SSH_HOST_KEY_CHECK: option(optionTypes.oneOf(['console-output', 'insecure'] as const), {
    description:
      'How the host key is verified: against the keys cloud-init prints to the console output, or not at all ("insecure")',
    default: 'console-output',
  }),
  SSH_DIAL_TIMEOUT: option(optionTypes.duration(), {
    description: 'connection timeout for ssh connections',
    default: '5s',
  }),
  UPLOAD_RETRIES: option(optionTypes.int({ min: 1 }), {
    description: 'number of times to attempt to upload script before erroring',
    default: '120',
  }),
  UPLOAD_RETRY_SLEEP: option(optionTypes.duration(), {
    description: 'sleep interval between script upload attempts',
    default: '1s',
  }),
  BOOT_TIMEOUT: option(optionTypes.duration(), {
    description: 'How long an instance may take to reach "running"',
    default: '4m',
  }),
  BOOT_POLL_SLEEP: option(optionTypes.duration(), {
    description: 'First wait between instance state checks (grows to 5s)',
    default: '1s',
  }),
  API_MAX_ATTEMPTS: option(optionTypes.int({ min: 1, max: 20 }), {
    description: 'Attempts per EC2 API call on throttling, 5xx and network errors',
    default: '8',
  }),
  API_RETRY_BASE: option(optionTypes.duration(), {
    description: 'First delay before retrying an EC2 API call (doubles, jittered)',
    default: '500ms',
  }),
  RATE_LIMIT_MAX_CALLS: option(optionTypes.int({ min: 1 }), {
    description:
      'number of calls per duration to let through to the EC2 API (per worker process, lowered adaptively on throttling; per fleet with RATE_LIMIT_REDIS_URL)',
    default: '10',
  }),
  RATE_LIMIT_DURATION: option(optionTypes.duration(), {
    description: 'interval in which to let max-calls through to the EC2 API',
    default: '1s',
  }),
  PTY: option(optionTypes.strictBool(), {
    description:
      'Run the build script in a pseudo-terminal (xterm, 40x80, as the Go worker always did); off: stdout and stderr stay separate and output is much faster',
    default: 'false',
  }),
  ...fleetOptions({ api: 'EC2 API', limiterName: 'ec2-api' }),
  EXEC_CMD: option(optionTypes.string(), {
    description: 'Command that runs the build script',
    default: 'bash ~/build.sh',
  }),
  IMAGE_MAP: option(optionTypes.map(), {
    description: 'Map of which image to use for which language',
  }),
  IMAGE_DEFAULT: option(optionTypes.string(), {
    description:
      'default image name to use when none found (an AMI id, or a name pattern resolved to the newest image)',
  }),
  IMAGE_OWNERS: option(optionTypes.list(), {
    description: 'Owners (account ids, "self", "amazon") searched when an image is given by name',
    default: 'self',
  }),
  IMAGE_SELECTOR_TYPE: option(optionTypes.oneOf(['env', 'api'] as const), {
    description: 'image selector type ("env" or "api")',
    default: 'env',
  }),
  IMAGE_SELECTOR_URL: option(optionTypes.url(), {
    description: 'URL for image selector API, used only when image selector is "api"',
  }),
  IMAGE_ALIASES: option(optionTypes.list(), {
    description:
      'comma-delimited strings used as stable names for images, used only when image selector type is "env"; IMAGE_[ALIAS_]{ALIAS} gives the full name for a given alias, where the alias form in the key is uppercased and normalized by replacing non-alphanumerics with _',
  }),
});

export type Ec2ParsedOptions = ParsedOptions<(typeof ec2Options)['specs']>;

/** The parsed options plus the checks that involve more than one option. */
export interface Ec2Options extends Ec2ParsedOptions {
  /** The raw config, for the env image selector's `IMAGE_*` keys. */
  raw: ProviderConfig;
}

function invalid(option: string, value: string | undefined, expected: string, secret = false): never {
  throw new InvalidConfigError({ provider: EC2_ALIAS, option, value, expected, secret });
}

/** Parses and cross-checks the ec2 options; throws `InvalidConfigError` before anything is created. */
export function parseEc2Options(config: ProviderConfig): Ec2Options {
  const options = ec2Options.parse(config);
  if (options.IMAGE_ALIASES !== undefined && options.IMAGE_ALIASES.length > 0) {
    invalid(
      'IMAGE_ALIASES',
      options.IMAGE_ALIASES.join(','),
      'no value: image aliases are not supported by the ec2 backend (the Go backend ignored them); name images with IMAGE_MAP, IMAGE_DEFAULT or the selector',
    );
  }
  if ((options.AWS_ACCESS_KEY_ID === undefined) !== (options.AWS_SECRET_ACCESS_KEY === undefined)) {
    const missing = options.AWS_ACCESS_KEY_ID === undefined ? 'AWS_ACCESS_KEY_ID' : 'AWS_SECRET_ACCESS_KEY';
    invalid(
      missing,
      undefined,
      'a value: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are set together or not at all',
      true,
    );
  }
  if (options.AWS_SESSION_TOKEN !== undefined && options.AWS_ACCESS_KEY_ID === undefined) {
    invalid(
      'AWS_SESSION_TOKEN',
      options.AWS_SESSION_TOKEN,
      'AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY with it',
      true,
    );
  }
  if (options.IMAGE_SELECTOR_TYPE === 'api' && options.IMAGE_SELECTOR_URL === undefined) {
    invalid('IMAGE_SELECTOR_URL', undefined, 'a URL when IMAGE_SELECTOR_TYPE is "api"');
  }
  const groupNames = (options.SECURITY_GROUPS ?? []).filter((group) => !SECURITY_GROUP_ID.test(group));
  if (groupNames.length > 0 && options.SUBNET_ID !== undefined) {
    invalid(
      config.has('SECURITY_GROUPS') ? 'SECURITY_GROUPS' : 'SECURITY_GROUP_IDS',
      options.SECURITY_GROUPS!.join(','),
      'security group ids ("sg-…") when SUBNET_ID is set (names work only in the default VPC)',
    );
  }
  if ((options.DISK_TYPE === 'io1' || options.DISK_TYPE === 'io2') && options.DISK_IOPS === undefined)
    invalid('DISK_IOPS', undefined, `a number of IOPS: EC2 requires it for ${options.DISK_TYPE} volumes`);
  if (options.DISK_TYPE === 'st1' || options.DISK_TYPE === 'sc1')
    invalid(
      'DISK_TYPE',
      options.DISK_TYPE,
      'gp3, gp2, io1, io2 or standard: st1 and sc1 cannot be root volumes',
    );
  if (options.DISK_IOPS !== undefined && !['io1', 'io2', 'gp3'].includes(options.DISK_TYPE))
    invalid('DISK_IOPS', String(options.DISK_IOPS), `no value: ${options.DISK_TYPE} volumes take no IOPS`);
  if (options.RATE_LIMIT_DURATION <= 0) invalid('RATE_LIMIT_DURATION', '0', 'a duration above 0');
  if (options.UPLOAD_RETRY_SLEEP <= 0) invalid('UPLOAD_RETRY_SLEEP', '0', 'a duration above 0');
  if (options.BOOT_POLL_SLEEP <= 0) invalid('BOOT_POLL_SLEEP', '0', 'a duration above 0');
  return { ...options, raw: config };
}

/** Whether an image reference is an AMI id (used as is) rather than a name pattern. */
export function isAmiId(image: string): boolean {
  return AMI_ID.test(image);
}

/** Burstable types take CPU credit specifications. */
export function isBurstable(instanceType: string): boolean {
  return /^t\d[a-z]*\./.test(instanceType);
}

import { InvalidConfigError } from '@workerkit/core';
import type { Ec2Api } from './ec2-client.js';
import { ec2ErrorCode } from './ec2-errors.js';
import { EC2_ALIAS } from './ec2-options.js';

export type Ec2Architecture = 'x86_64' | 'arm64';

/**
 * Families on the Xen hypervisor (EC2 user guide, "Instances built on the Nitro System": every
 * other current family is Nitro). `GetConsoleOutput Latest` answers `UnsupportedOperation` on them.
 */
const XEN_FAMILIES = new Set([
  't1',
  't2',
  'm1',
  'm2',
  'm3',
  'm4',
  'c1',
  'c3',
  'c4',
  'r3',
  'r4',
  'i2',
  'i3',
  'x1',
  'x1e',
  'd2',
  'g2',
  'g3',
  'g3s',
  'p2',
  'p3',
  'h1',
  'f1',
  'cc2',
  'cr1',
  'hs1',
]);

/** Whether `GetConsoleOutput` may be asked for the latest output (Nitro types only). */
export function supportsLatestConsoleOutput(instanceType: string): boolean {
  return !XEN_FAMILIES.has(instanceType.split('.')[0] ?? '');
}

/**
 * The architecture of each instance type, from `DescribeInstanceTypes` (one call for all types
 * not asked before; kept for the provider's life). An unknown type is an `InvalidConfigError`.
 */
export class Ec2InstanceTypes {
  readonly #api: Ec2Api;
  readonly #region: string;
  readonly #known = new Map<string, Ec2Architecture>();
  /** Lookups in flight, so concurrent starts ask once. */
  readonly #asking = new Map<string, Promise<void>>();

  constructor(api: Ec2Api, region: string) {
    this.#api = api;
    this.#region = region;
  }

  async architectures(
    types: readonly string[],
    option: string,
    signal?: AbortSignal,
  ): Promise<Map<string, Ec2Architecture>> {
    const unique = [...new Set(types)];
    // Wait for lookups in flight; check and claim without an await in between, so concurrent
    // starts ask once.
    for (;;) {
      const pending = unique.flatMap((type) => this.#asking.get(type) ?? []);
      if (pending.length === 0) break;
      await Promise.all(pending);
    }
    const missing = unique.filter((type) => !this.#known.has(type));
    if (missing.length > 0) {
      const asking = this.#ask(missing, option, signal);
      for (const type of missing)
        this.#asking.set(
          type,
          asking.catch(() => {}),
        );
      try {
        await asking;
      } finally {
        for (const type of missing) this.#asking.delete(type);
      }
    }
    return new Map(types.map((type) => [type, this.#known.get(type) ?? 'x86_64']));
  }

  async #ask(missing: string[], option: string, signal?: AbortSignal): Promise<void> {
    try {
      const answer = await this.#api.call(
        'DescribeInstanceTypes',
        (client, options, sdk) =>
          client.send(new sdk.DescribeInstanceTypesCommand({ InstanceTypes: missing as never[] }), options),
        { signal },
      );
      for (const info of answer.InstanceTypes ?? []) {
        const supported = info.ProcessorInfo?.SupportedArchitectures ?? [];
        const architecture: Ec2Architecture = supported.includes('x86_64') ? 'x86_64' : 'arm64';
        if (info.InstanceType) this.#known.set(info.InstanceType, architecture);
      }
    } catch (error) {
      const unusable = credentialsOrRegionError(error, this.#region);
      if (unusable) throw unusable;
      if (ec2ErrorCode(error) !== 'InvalidInstanceType') throw error;
      throw new InvalidConfigError({
        provider: EC2_ALIAS,
        option,
        value: missing.join(','),
        expected: `instance types offered in ${this.#region}`,
        cause: error,
      });
    }
  }
}

/**
 * Credentials that are missing or refused, or a region EC2 does not know, as the configuration
 * error they are (the CLI exits 78): retrying cannot help.
 */
export function credentialsOrRegionError(error: unknown, region: string): InvalidConfigError | undefined {
  const cause = (error as { cause?: unknown }).cause ?? error;
  const code = ec2ErrorCode(error) ?? '';
  const name = (cause as { name?: string }).name ?? '';
  const message = String((cause as { message?: string }).message ?? '');
  if (/should be scoped to a valid region/.test(message) || (code === 'ENOTFOUND' && /ec2\./.test(message))) {
    return new InvalidConfigError({
      provider: EC2_ALIAS,
      option: 'REGION',
      value: region,
      expected: 'a region EC2 offers to these credentials',
      cause: error,
    });
  }
  if (
    name === 'CredentialsProviderError' ||
    ['AuthFailure', 'UnrecognizedClientException', 'InvalidClientTokenId', 'SignatureDoesNotMatch'].includes(
      code,
    )
  ) {
    return new InvalidConfigError({
      provider: EC2_ALIAS,
      option: 'AWS_ACCESS_KEY_ID',
      value: undefined,
      expected: `credentials EC2 accepts (${message.split('\n')[0]}); set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or configure the SDK's default chain`,
      cause: error,
    });
  }
  return undefined;
}

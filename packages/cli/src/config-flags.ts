import { ProviderConfig } from '@workerkit/core';
import { UsageError } from './cli-io.js';

/** `--config KEY=VALUE` flags over the environment's `WORKERKIT_<ALIAS>_<KEY>` values. */
export function providerConfigFrom(
  alias: string,
  flags: readonly string[] | undefined,
  env: Readonly<Record<string, string | undefined>>,
): ProviderConfig {
  const map: Record<string, string> = {};
  for (const flag of flags ?? []) {
    const equals = flag.indexOf('=');
    if (equals <= 0) throw new UsageError(`--config expects KEY=VALUE, got ${JSON.stringify(flag)}`);
    map[flag.slice(0, equals)] = flag.slice(equals + 1);
  }
  return ProviderConfig.fromEnv(alias, env).merge(map);
}

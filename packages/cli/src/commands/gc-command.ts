import { parseArgs } from 'node:util';
import {
  eachBackend,
  InvalidConfigError,
  MissingEndpointConfigError,
  newBackendProvider,
  reap,
  UnknownBackendError,
} from '@workerkit/core';
import type { CliIo } from '../cli-io.js';
import { providerConfigFrom } from '../config-flags.js';
import { EXIT_CODES } from '../exit-codes.js';
import { importModule, loadBackend, loadInstalledBackends } from '../load-backends.js';

export const GC_HELP = `Usage: workerkit gc [--backend <alias>]... [--config KEY=VALUE]... [--dry-run]

Deletes resources (containers, VMs, key pairs, directories) whose expiry has passed or whose
owner is gone — what a crashed worker left behind. An owner is gone when it ran on this host
and its pid no longer runs, or, for a backend configured with RATE_LIMIT_REDIS_URL, when its
owner lease in that Redis has expired (a worker that died on another machine). Without
--backend, every installed backend that is configured is swept. Exits 1 if any deletion failed.`;

export async function gcCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      backend: { type: 'string', short: 'b', multiple: true },
      config: { type: 'string', short: 'c', multiple: true },
      'dry-run': { type: 'boolean' },
      load: { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    io.stdout.write(`${GC_HELP}\n`);
    return 0;
  }
  for (const module of values.load ?? []) await importModule(module, io.cwd);
  const explicit = values.backend ?? [];
  let aliases: string[] = explicit;
  try {
    for (const alias of explicit) await loadBackend(alias, io.cwd);
  } catch (error) {
    if (!UnknownBackendError.isInstance(error)) throw error;
    io.stderr.write(`workerkit: ${error.message}\n`);
    return EXIT_CODES.config;
  }
  if (explicit.length === 0) {
    await loadInstalledBackends(io.cwd);
    aliases = [];
    eachBackend((backend) => aliases.push(backend.alias));
  }

  let failures = 0;
  for (const alias of aliases) {
    let provider: ReturnType<typeof newBackendProvider>;
    try {
      provider = newBackendProvider(alias, providerConfigFrom(alias, values.config, io.env));
    } catch (error) {
      if (!InvalidConfigError.isInstance(error) && !MissingEndpointConfigError.isInstance(error)) throw error;
      if (explicit.length > 0) {
        io.stderr.write(`workerkit: ${error.message}\n`);
        return EXIT_CODES.config;
      }
      io.stderr.write(`workerkit: skipping ${alias}: not configured (${error.message})\n`);
      continue;
    }
    try {
      const decisions = await reap(provider, {
        dryRun: values['dry-run'] === true,
        onLeaseStoreError: (error) =>
          io.stderr.write(
            `workerkit: ${alias}: owner leases could not be read (${(error as Error).message}); only expiry and local pids decide\n`,
          ),
      });
      for (const { resource, why, deleted, error } of decisions) {
        const verb = values['dry-run'] ? 'would delete' : deleted ? 'deleted' : 'FAILED to delete';
        io.stdout.write(
          `${alias}: ${verb} ${resource.kind} ${resource.id} (${why})${error ? `: ${String(error)}` : ''}\n`,
        );
        if (!deleted && !values['dry-run']) failures++;
      }
      if (decisions.length === 0) io.stdout.write(`${alias}: nothing to delete\n`);
    } catch (error) {
      failures++;
      io.stderr.write(`workerkit: ${alias}: listing resources failed: ${(error as Error).message}\n`);
    } finally {
      await provider.close();
    }
  }
  return failures > 0 ? 1 : 0;
}

import { parseArgs } from 'node:util';
import { eachBackend } from '@workerkit/core';
import type { CliIo } from '../cli-io.js';
import { importModule, loadInstalledBackends } from '../load-backends.js';

export const BACKENDS_HELP = `Usage: workerkit backends [--load <module>]

Lists every installed backend with its options, as the Travis worker's --help did. Options are
set with --config KEY=VALUE or the environment: WORKERKIT_<ALIAS>_<KEY>, TRAVIS_WORKER_<ALIAS>_<KEY>
or <ALIAS>_<KEY>.`;

export async function backendsCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { load: { type: 'string', multiple: true }, help: { type: 'boolean', short: 'h' } },
    strict: true,
  });
  if (values.help) {
    io.stdout.write(`${BACKENDS_HELP}\n`);
    return 0;
  }
  for (const module of values.load ?? []) await importModule(module, io.cwd);
  await loadInstalledBackends(io.cwd);
  eachBackend((backend) => {
    io.stdout.write(`${backend.humanReadableName} (--backend ${backend.alias})`);
    io.stdout.write(backend.packageName ? `  from ${backend.packageName}\n` : '\n');
    const keys = Object.keys(backend.providerHelp).sort();
    const width = Math.max(0, ...keys.map((key) => key.length));
    for (const key of keys) io.stdout.write(`  ${key.padEnd(width)}  ${backend.providerHelp[key]}\n`);
    io.stdout.write('\n');
  });
  return 0;
}

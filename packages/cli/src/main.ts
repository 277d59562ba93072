import { readFileSync } from 'node:fs';
import { type CliIo, UsageError } from './cli-io.js';
import { backendsCommand } from './commands/backends-command.js';
import { gcCommand } from './commands/gc-command.js';
import { RUN_HELP, runCommand } from './commands/run-command.js';
import { EXIT_CODES } from './exit-codes.js';

const HELP = `workerkit — run CI build scripts on pluggable compute backends

Commands:
  workerkit run [options] <script>   run one job; see workerkit run --help
  workerkit backends                 list installed backends and their options
  workerkit gc [--backend <alias>]   delete expired or ownerless resources
  workerkit --version

${RUN_HELP.split('\n').slice(-4).join('\n')}

More: workerkit <command> --help.`;

const COMMANDS: Record<string, (argv: string[], io: CliIo) => Promise<number>> = {
  run: runCommand,
  backends: backendsCommand,
  gc: gcCommand,
};

/** Runs the CLI and returns the exit code; never throws. */
export async function main(argv: string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
      io.stdout.write(`${HELP}\n`);
      return command === undefined ? EXIT_CODES.usage : 0;
    }
    if (command === '--version' || command === '-v') {
      io.stdout.write(`${version()}\n`);
      return 0;
    }
    const handler = COMMANDS[command];
    if (!handler)
      throw new UsageError(`unknown command ${JSON.stringify(command)}; expected one of: run, backends, gc`);
    return await handler(rest, io);
  } catch (error) {
    if (error instanceof UsageError || (error as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) {
      io.stderr.write(`workerkit: ${(error as Error).message}\nTry: workerkit ${command ?? ''} --help\n`);
      return EXIT_CODES.usage;
    }
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      io.stderr.write(`workerkit: ${(error as Error).message}\n`);
      return EXIT_CODES.usage;
    }
    io.stderr.write(`workerkit: internal error: ${(error as Error)?.stack ?? String(error)}\n`);
    return EXIT_CODES.internal;
  }
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

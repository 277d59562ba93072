import { readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { text } from 'node:stream/consumers';
import { parseArgs } from 'node:util';
import {
  formatDuration,
  type Instance,
  InvalidConfigError,
  instrumentProvider,
  JobAbortError,
  MissingEndpointConfigError,
  newBackendProvider,
  type Provider,
  parseDuration,
  type RunResult,
  type StartAttributes,
  TraceNotFoundError,
  TraceNotImplementedError,
  UnknownBackendError,
} from '@workerkit/core';
import { type CliIo, UsageError } from '../cli-io.js';
import { providerConfigFrom } from '../config-flags.js';
import { EXIT_CODES } from '../exit-codes.js';
import { handleInterrupts } from '../interrupts.js';
import { importModule, loadBackend } from '../load-backends.js';
import { ProgressRenderer } from '../progress-renderer.js';

export const RUN_HELP = `Usage: workerkit run [options] <script | ->

Runs one build script on a fresh instance of a backend, streams its output to stdout,
deletes the instance, and exits with the script's exit status.

Options:
  -b, --backend <alias>        backend to use (default: $WORKERKIT_BACKEND or "local")
  -c, --config <KEY=VALUE>     backend option, repeatable; env WORKERKIT_<ALIAS>_<KEY> works too
      --language, --os, --dist, --group, --arch, --osx-image <value>   job attributes
      --image <name>           exact image to use (skips image selection)
      --vm-type <type>         "default" or "premium"
      --vm-size <size>         provider size name ("medium", "large", …)
      --job-id <id>            job id for names and labels
      --repository <owner/repo> repository slug for names
      --timeout <duration>     hard timeout of the run (default 50m)
      --startup-timeout <duration>  limit for starting the instance (default 4m)
      --upload-timeout <duration>   limit for uploading the script (default 3m30s)
      --trace <file>           after the run, save the build trace (/tmp/build.trace) here
      --load <module>          import a module that registers more backends, repeatable
      --owner-id <id>          owner label on created resources (default: <host>_<pid>)

Exit status: the script's own when it ran to its end; otherwise
  64 usage error, 65 job aborted (do not requeue), 70 internal error,
  75 incomplete (did not start, upload failed, run cut off: requeue),
  78 configuration error, 130 cancelled with Ctrl-C.`;

const options = {
  backend: { type: 'string', short: 'b' },
  config: { type: 'string', short: 'c', multiple: true },
  language: { type: 'string' },
  os: { type: 'string' },
  dist: { type: 'string' },
  group: { type: 'string' },
  arch: { type: 'string' },
  'osx-image': { type: 'string' },
  image: { type: 'string' },
  'vm-type': { type: 'string' },
  'vm-size': { type: 'string' },
  'job-id': { type: 'string' },
  repository: { type: 'string' },
  timeout: { type: 'string', default: '50m' },
  'startup-timeout': { type: 'string', default: '4m' },
  'upload-timeout': { type: 'string', default: '3m30s' },
  trace: { type: 'string' },
  load: { type: 'string', multiple: true },
  'owner-id': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function durationFlag(name: string, value: string): number {
  const ms = parseDuration(value);
  if (ms === undefined || ms <= 0)
    throw new UsageError(`--${name} expects a duration such as "90s" or "1h", got ${JSON.stringify(value)}`);
  return ms;
}

export async function runCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  if (values.help) {
    io.stdout.write(`${RUN_HELP}\n`);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('run expects exactly one script path (or - for stdin)');
  const hardTimeoutMs = durationFlag('timeout', values.timeout);
  const startupTimeout = durationFlag('startup-timeout', values['startup-timeout']);
  const uploadTimeout = durationFlag('upload-timeout', values['upload-timeout']);
  const scriptPath = positionals[0]!;
  const script = scriptPath === '-' ? await text(io.stdin) : await readScript(resolve(io.cwd, scriptPath));

  const alias = values.backend ?? io.env.WORKERKIT_BACKEND ?? 'local';
  const renderer = new ProgressRenderer(io.stderr);
  let provider: Provider;
  try {
    for (const module of values.load ?? []) await importModule(module, io.cwd);
    await loadBackend(alias, io.cwd);
    // Phase timings, API calls and results go through the OpenTelemetry API: no-ops unless an
    // SDK was registered (e.g. `node --import <your-otel-setup> workerkit run …`).
    provider = instrumentProvider(
      newBackendProvider(alias, providerConfigFrom(alias, values.config, io.env), {
        ...(values['owner-id'] ? { ownerId: values['owner-id'] } : {}),
      }),
    );
  } catch (error) {
    if (isConfigError(error)) {
      io.stderr.write(`workerkit: ${(error as Error).message}\n`);
      return EXIT_CODES.config;
    }
    throw error;
  }

  const attributes: StartAttributes = {
    ...pick(values, ['language', 'os', 'dist', 'group', 'arch', 'repository'] as const),
    ...(values['osx-image'] ? { osxImage: values['osx-image'] } : {}),
    ...(values.image ? { imageName: values.image } : {}),
    ...(values['vm-type'] ? { vmType: values['vm-type'] } : {}),
    ...(values['vm-size'] ? { vmSize: values['vm-size'] } : {}),
    ...(values['job-id'] ? { jobId: values['job-id'] } : {}),
    hardTimeoutMs,
  };

  const controller = new AbortController();
  const interrupts = handleInterrupts(controller, (message) => renderer.note(`workerkit: ${message}`));
  let instance: Instance | undefined;
  try {
    renderer.phase(`starting ${alias} instance`);
    await provider.setup({ signal: controller.signal });
    instance = await provider.start(attributes, {
      signal: AbortSignal.any([controller.signal, AbortSignal.timeout(startupTimeout)]),
      progress: renderer,
    });
    renderer.note(
      `workerkit: instance ${[instance.id, instance.imageName].filter(Boolean).join(' ')} (startup ${formatDuration(instance.startupDuration)})`,
    );
    renderer.phase('uploading script');
    await instance.uploadScript(script, {
      signal: AbortSignal.any([controller.signal, AbortSignal.timeout(uploadTimeout)]),
    });
    renderer.done();
    const result = await instance.runScript(io.stdout, {
      signal: controller.signal,
      hardTimeoutMs,
    });
    if (values.trace) await saveTrace(instance, resolve(io.cwd, values.trace), io);
    return exitCodeFor(result, interrupts.interrupted(), io);
  } catch (error) {
    renderer.done();
    if (interrupts.interrupted()) {
      io.stderr.write('workerkit: cancelled\n');
      return EXIT_CODES.interrupted;
    }
    if (JobAbortError.isInstance(error)) {
      io.stderr.write(`workerkit: job aborted: ${error.message}\n`);
      return EXIT_CODES.jobAborted;
    }
    if (isConfigError(error)) {
      io.stderr.write(`workerkit: ${(error as Error).message}\n`);
      return EXIT_CODES.config;
    }
    io.stderr.write(
      `workerkit: ${instance ? 'upload' : 'start'} failed, requeue the job: ${describe(error)}\n`,
    );
    return EXIT_CODES.incomplete;
  } finally {
    renderer.done();
    await stopQuietly(instance, io);
    // A failing close must not replace the job's exit status with an internal error.
    await provider
      .close()
      .catch((error: unknown) =>
        io.stderr.write(`workerkit: closing the provider failed: ${describe(error)}\n`),
      );
    interrupts.dispose();
  }
}

/** A script that cannot be read is a usage error with one line saying why, not an internal one. */
async function readScript(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    const why: Record<string, string> = {
      ENOENT: 'no such file',
      EISDIR: 'it is a directory, not a script file',
      EACCES: 'permission denied',
      EPERM: 'permission denied',
    };
    const code = (error as NodeJS.ErrnoException).code ?? '';
    throw new UsageError(`cannot read the script ${path}: ${why[code] ?? (error as Error).message}`);
  }
}

function exitCodeFor(result: RunResult, interrupted: boolean, io: CliIo): number {
  if (result.completed) {
    if (result.signal) io.stderr.write(`workerkit: the script was killed by ${result.signal}\n`);
    return result.exitCode;
  }
  io.stderr.write(
    `workerkit: run incomplete (${result.reason}) after ${result.outputBytes} bytes of output: ${result.message}\n`,
  );
  return interrupted ? EXIT_CODES.interrupted : EXIT_CODES.incomplete;
}

async function saveTrace(instance: Instance, path: string, io: CliIo): Promise<void> {
  try {
    await writeFile(path, await instance.downloadTrace());
  } catch (error) {
    // Best effort, as in the Go worker: a missing trace never fails the job.
    const absent = TraceNotImplementedError.isInstance(error) || TraceNotFoundError.isInstance(error);
    io.stderr.write(
      `workerkit: ${absent ? 'no trace' : 'could not download the trace'}: ${describe(error)}\n`,
    );
  }
}

async function stopQuietly(instance: Instance | undefined, io: CliIo): Promise<void> {
  if (!instance) return;
  try {
    await instance.stop({ signal: AbortSignal.timeout(5 * 60_000) });
  } catch (error) {
    io.stderr.write(
      `workerkit: stopping instance ${instance.id} failed (workerkit gc will remove it): ${describe(error)}\n`,
    );
  }
}

function isConfigError(error: unknown): boolean {
  return (
    InvalidConfigError.isInstance(error) ||
    MissingEndpointConfigError.isInstance(error) ||
    UnknownBackendError.isInstance(error)
  );
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function pick<T extends Record<string, unknown>, const K extends readonly (keyof T & string)[]>(
  values: T,
  keys: K,
): Partial<Record<K[number], string>> {
  const picked: Partial<Record<K[number], string>> = {};
  for (const key of keys)
    if (typeof values[key] === 'string') picked[key as K[number]] = values[key] as string;
  return picked;
}

import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { type Ec2Emulator, startEc2Emulator } from '@workerkit/testkit';

/**
 * The emulator every fleet test and bench runs against. One place on purpose: switch the
 * emulator's timing profile here. The fleet's subject is the shared limit, not boot timing: the
 * instant profile keeps a window's worth of calls from being spread thin by boot waits.
 */
export function startFleetEmulator(): Promise<Ec2Emulator> {
  return startEc2Emulator({ profile: 'instant' });
}

/** ec2 options pointing a worker at the emulator and at the fleet's Redis. */
export function fleetConfig(
  emulator: Ec2Emulator,
  fleet: { redisUrl: string; prefix: string; maxCalls: number; durationMs: number; leaseTtl?: string },
): Record<string, string> {
  return {
    ENDPOINT: emulator.endpoint,
    REGION: emulator.region,
    AWS_ACCESS_KEY_ID: emulator.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: emulator.credentials.secretAccessKey,
    IMAGE_DEFAULT: 'workerkit-ubuntu-jammy-*',
    INSTANCE_TYPE: 't3.micro',
    SSH_PORT: String(emulator.sshPort),
    BOOT_POLL_SLEEP: '50ms',
    BOOT_TIMEOUT: '60s',
    UPLOAD_RETRIES: '80',
    UPLOAD_RETRY_SLEEP: '250ms',
    SSH_DIAL_TIMEOUT: '5s',
    API_MAX_ATTEMPTS: '8',
    API_RETRY_BASE: '100ms',
    RATE_LIMIT_MAX_CALLS: String(fleet.maxCalls),
    RATE_LIMIT_DURATION: `${fleet.durationMs}ms`,
    RATE_LIMIT_REDIS_URL: fleet.redisUrl,
    RATE_LIMIT_PREFIX: fleet.prefix,
    OWNER_LEASE_TTL: fleet.leaseTtl ?? '2s',
  };
}

export type WorkerEvent =
  | { event: 'ready' }
  | { event: 'holding'; instanceId: string }
  | { event: 'job'; job: number; completed: boolean; exitCode?: number; output: string }
  | { event: 'done'; calls: Record<string, number>; elapsedMs: number }
  | { event: 'failed'; error: string };

/** A worker process (fleet-worker.mjs): its events as they come, its stderr, its exit. */
export interface FleetWorker {
  readonly ownerId: string;
  readonly child: ChildProcess;
  readonly events: WorkerEvent[];
  readonly stderr: string[];
  /** Resolves with the first event matching `predicate` (rejects if the worker exits first). */
  next(predicate: (event: WorkerEvent) => boolean): Promise<WorkerEvent>;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
}

export function startFleetWorker(orders: {
  ownerId: string;
  jobs: number;
  hold?: boolean;
  config: Record<string, string>;
}): FleetWorker {
  const child = spawn(process.execPath, [new URL('./fleet-worker.mjs', import.meta.url).pathname], {
    env: { ...process.env, FLEET_WORKER: JSON.stringify(orders) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const events: WorkerEvent[] = [];
  const stderr: string[] = [];
  const waiters: { predicate: (event: WorkerEvent) => boolean; resolve: (event: WorkerEvent) => void }[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const event = JSON.parse(line) as WorkerEvent;
    events.push(event);
    for (const waiter of waiters.filter((w) => w.predicate(event))) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve(event);
    }
  });
  createInterface({ input: child.stderr! }).on('line', (line) => stderr.push(line));
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  return {
    ownerId: orders.ownerId,
    child,
    events,
    stderr,
    exited,
    next(predicate) {
      const found = events.find(predicate);
      if (found) return Promise.resolve(found);
      return Promise.race([
        new Promise<WorkerEvent>((resolve) => waiters.push({ predicate, resolve })),
        exited.then((code) => {
          throw new Error(`worker ${orders.ownerId} exited (${code}) first: ${stderr.join('\n')}`);
        }),
      ]);
    },
  };
}

/** The largest number of times in any window of `windowMs` (a window (t - windowMs, t]). */
export function busiestWindow(times: readonly number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let busiest = 0;
  let first = 0;
  for (let last = 0; last < sorted.length; last++) {
    while (sorted[first]! <= sorted[last]! - windowMs) first++;
    busiest = Math.max(busiest, last - first + 1);
  }
  return busiest;
}

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { addImage, DEFAULT_IMAGES } from './gce-emulator-catalog.js';
import type { GceEmulatorFaults } from './gce-emulator-faults.js';
import { handleRequest } from './gce-emulator-http.js';
import { hostEvent, preempt, removeInstance, stopGuest } from './gce-emulator-instances.js';
import { gceRoutes } from './gce-emulator-routes.js';
import { GceEmulatorState, type Json } from './gce-emulator-state.js';
import type { GceEmulatorTimings } from './gce-emulator-timing.js';
import type {
  GceEmulatorImage,
  GceEmulatorOptions,
  GceGuestBooter,
  GceInstanceStatus,
} from './gce-emulator-types.js';

/** An emulated instance, as a test sees it. */
export interface GceEmulatorInstance {
  name: string;
  zone: string;
  id: string;
  status: GceInstanceStatus;
  address: string;
  sshPort: number;
  labels: Record<string, string>;
  metadata: Record<string, string>;
  /** The instance resource as `instances.get` returns it. */
  resource: Json;
  preempted: boolean;
  /** What serial port 1 holds (kernel lines, the startup script's output). */
  serialOutput: string;
  /** Every status it had so far, in order. */
  statusHistory: GceInstanceStatus[];
}

export interface GceEmulatorCalls {
  /** Calls of one method (`instances.insert`, `zoneOperations.wait`, …), faulted ones included. */
  count(method: string): number;
  /** Every method called so far with its count. */
  snapshot(): Record<string, number>;
  total(): number;
  reset(): void;
}

export interface GceEmulator {
  /** Spread into the client options: `new InstancesClient({ ...emulator.endpoint, fallback: true, authClient })`. */
  endpoint: { apiEndpoint: string; port: number; protocol: 'http' };
  /** `http://127.0.0.1:<port>`: the backend's API_ENDPOINT. */
  url: string;
  projectId: string;
  /** Port every guest's sshd listens on. */
  sshPort: number;
  faults: GceEmulatorFaults;
  calls: GceEmulatorCalls;
  /** Instances that exist (any status). */
  instances(): GceEmulatorInstance[];
  /** Operations recorded so far (proto3-JSON). */
  operations(): Json[];
  /**
   * Preempts a preemptible or Spot instance now: its guest dies, it is deleted
   * (`instanceTerminationAction: DELETE`) or TERMINATED, and a `compute.instances.preempted`
   * operation appears in the lists (late, by the profile's `preemptedListingMs`). Resolves when done.
   */
  preempt(name: string): Promise<void>;
  /** A host event on a RUNNING instance: `suspend` (SUSPENDING, SUSPENDED) or `repair` (REPAIRING, then TERMINATED or RUNNING again). */
  hostEvent(name: string, event: 'suspend' | 'repair'): Promise<void>;
  /** The clocks in use (after the profile, the time factor and overrides). */
  timings: GceEmulatorTimings;
  /** Adds an image (e.g. a newer one in a family). */
  addImage(image: GceEmulatorImage): void;
  /** Stops the server and every guest. */
  stop(): Promise<void>;
}

/**
 * Starts a Compute Engine v1 REST emulator on 127.0.0.1 for the unmodified `@google-cloud/compute`
 * client (`fallback: true`, plain HTTP). Instances boot real guests (a private sshd each) on
 * their own 127.x.y.z address. See `GceEmulatorFaults` for fault injection.
 */
export async function startGceEmulator(options: GceEmulatorOptions = {}): Promise<GceEmulator> {
  const gce = new GceEmulatorState(options, options.guest ?? (await defaultBooter()));
  for (const image of options.images ?? DEFAULT_IMAGES) addImage(gce, image);
  const routes = gceRoutes(gce);
  const server = createServer((req, res) => void handleRequest(gce, routes, req, res));
  // Google's front ends keep idle connections open for minutes (620 s): a client's pooled socket
  // must not meet a close racing its next request (ECONNRESET) after a few idle seconds.
  server.keepAliveTimeout = 620_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const { counts, instances, operations } = gce;

  return {
    endpoint: { apiEndpoint: '127.0.0.1', port, protocol: 'http' },
    url: `http://127.0.0.1:${port}`,
    projectId: gce.projectId,
    sshPort: gce.sshPort,
    faults: gce.faults,
    calls: {
      count: (method) => counts.get(method) ?? 0,
      snapshot: () => Object.fromEntries([...counts].sort(([a], [b]) => a.localeCompare(b))),
      total: () => [...counts.values()].reduce((a, b) => a + b, 0),
      reset: () => counts.clear(),
    },
    instances: () =>
      [...instances.values()].map((r) => ({
        name: r.name,
        zone: r.zone,
        id: r.id,
        status: r.status,
        address: r.address,
        sshPort: gce.sshPort,
        labels: { ...(r.resource.labels as Record<string, string>) },
        metadata: { ...r.metadata },
        resource: structuredClone(r.resource),
        preempted: r.preempted,
        serialOutput: r.serial.text,
        statusHistory: [...r.statusHistory],
      })),
    operations: () => [...operations.values()].map((o) => structuredClone(o.resource)),
    preempt: (name) => preempt(gce, name),
    hostEvent: (name, event) => hostEvent(gce, name, event),
    timings: gce.timings,
    addImage: (image) => addImage(gce, image),
    async stop() {
      if (gce.stopped) return;
      gce.stopped = true;
      for (const op of operations.values()) for (const wake of op.waiters) wake();
      const records = [...instances.values()];
      for (const record of records) removeInstance(gce, record);
      await Promise.all(records.map((record) => stopGuest(record)));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function defaultBooter(): Promise<GceGuestBooter> {
  const { gceSshdGuestBooter } = await import('./gce-emulator-sshd.js');
  return gceSshdGuestBooter();
}

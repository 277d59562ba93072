import { createServer } from 'node:net';
import { ProviderApiError } from '@workerkit/core';

/** A port held by one container; `release` gives it back once. */
export interface PortLease {
  readonly port: number;
  release(): void;
}

/**
 * Hands out ports from `first..last`, one per container (ssh mode with host networking, where
 * every container's sshd needs its own port on the shared address).
 */
export class PortPool {
  readonly first: number;
  readonly last: number;
  readonly #used = new Set<number>();
  #next: number;

  constructor(first: number, last: number) {
    this.first = first;
    this.last = last;
    this.#next = first;
  }

  /**
   * Takes a port that is also free on the host: each candidate is test-bound on `address`
   * first (with host networking the container's sshd binds the same address), so a port some
   * other program holds is skipped instead of failing the container's start.
   */
  async acquireBindable(address: string): Promise<PortLease> {
    const size = this.last - this.first + 1;
    const busy: PortLease[] = [];
    try {
      for (let i = 0; i < size; i++) {
        let lease: PortLease;
        try {
          lease = this.acquire();
        } catch (error) {
          if (busy.length > 0) break;
          throw error;
        }
        if (await canBind(address, lease.port)) return lease;
        busy.push(lease);
      }
    } finally {
      for (const lease of busy) lease.release();
    }
    throw new ProviderApiError({
      provider: 'docker',
      operation: 'ssh port allocation',
      message: `no free ssh port in ${this.first}-${this.last} on ${address}: the free ones are taken by other programs`,
      retryable: true,
      code: 'ssh-ports-exhausted',
    });
  }

  /** Takes a free port (round-robin, so a just-freed port is not reused at once). */
  acquire(): PortLease {
    const size = this.last - this.first + 1;
    for (let i = 0; i < size; i++) {
      const port = this.first + ((this.#next - this.first + i) % size);
      if (this.#used.has(port)) continue;
      this.#used.add(port);
      this.#next = port === this.last ? this.first : port + 1;
      let released = false;
      return {
        port,
        release: () => {
          if (released) return;
          released = true;
          this.#used.delete(port);
        },
      };
    }
    throw new ProviderApiError({
      provider: 'docker',
      operation: 'ssh port allocation',
      message: `no free ssh port in ${this.first}-${this.last}: all ${size} are held by running containers`,
      retryable: true,
      code: 'ssh-ports-exhausted',
    });
  }
}

/** Whether a TCP port can be bound on `address` right now. */
export function canBind(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host: address, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

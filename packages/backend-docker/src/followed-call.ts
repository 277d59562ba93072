/**
 * How long an aborted start waits for the answer to a daemon call that changes state (a create,
 * a container start). The Engine finishes such a call whose request the client gave up on (it
 * does not watch the connection): cutting the request leaves a container behind that nobody
 * knows the ID of, or one being started while the cleanup removes it. The answer normally
 * comes within tens of milliseconds; only a daemon that stopped answering makes an aborted
 * start wait this long.
 */
export const FOLLOW_SETTLE_MS = 3_000;

/**
 * Awaits `call` without letting `signal` cut it: an abort meanwhile still gets the call's answer
 * (then the caller sees the abort and cleans up what the call made). If the answer does not come
 * within FOLLOW_SETTLE_MS of the abort, this rejects with the abort reason and hands the call to
 * `onLate`, which cleans up whenever it settles.
 */
export async function followToEnd<T>(
  call: Promise<T>,
  signal: AbortSignal | undefined,
  onLate: (call: Promise<T>) => void,
): Promise<T> {
  if (!signal) return call;
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const late = new Promise<typeof LATE>((resolve) => {
    onAbort = () => {
      timer = setTimeout(() => resolve(LATE), FOLLOW_SETTLE_MS);
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    const outcome = await Promise.race([call, late]);
    if (outcome !== LATE) return outcome as T;
  } finally {
    signal.removeEventListener('abort', onAbort!);
    clearTimeout(timer);
  }
  onLate(call);
  throw signal.reason;
}

const LATE = Symbol('late');

/**
 * Cleanups that outlive the start that needed them (a call the daemon answered only after the
 * aborted start stopped waiting). The provider's `close()` waits for them.
 */
export class LateCleanups {
  readonly #pending = new Set<Promise<void>>();

  track(cleanup: Promise<void>): void {
    const settled = cleanup.finally(() => this.#pending.delete(settled));
    this.#pending.add(settled);
  }

  /** Waits for the pending cleanups, at most `timeoutMs` (a daemon that stopped answering). */
  async settle(timeoutMs: number): Promise<void> {
    if (this.#pending.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.#pending]),
      new Promise((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
  }
}

import { formatDuration, nullProgresser, type Progresser } from '@workerkit/core';
import { SshScriptTarget } from './ssh-script-target.js';
import type { ConnectOptions, HostKeyPolicy, SshScriptTargetOptions } from './ssh-types.js';

/**
 * What a cloud VM backend (GCE, EC2) needs to reach its guest: the guest publishes its host keys
 * through a side channel the backend trusts (guest attributes, the serial or system console), and
 * the only difference between clouds is where those keys are read from.
 */
export interface PublishedHostKeysTargetOptions extends Omit<SshScriptTargetOptions, 'connect'> {
  /** How to reach the guest; the host key is checked against what `readHostKeys` returns. */
  connect: Omit<ConnectOptions, 'hostKey' | 'signal'>;
  /**
   * Reads the host keys the guest published, as `type base64` lines. An empty list means "not
   * published yet" and is asked again before the next connect attempt; an error it throws is final.
   */
  readHostKeys: (signal: AbortSignal | undefined) => Promise<readonly string[]>;
  /** `published` (the default) accepts only the published keys; `insecure` accepts any key, with a warning. */
  hostKeyCheck?: 'published' | 'insecure';
  /** Receives `waiting for ssh connectivity...`, a dot per retried attempt, and the outcome. */
  progress?: Progresser;
  signal?: AbortSignal;
}

/**
 * Waits for the guest to accept SSH with a host key it published, and returns the connected
 * target. The keys are read once they exist and then kept: a later answer cannot swap them.
 * On failure nothing stays open.
 */
export async function connectWithPublishedHostKeys(
  options: PublishedHostKeysTargetOptions,
): Promise<SshScriptTarget> {
  const {
    connect,
    readHostKeys,
    hostKeyCheck = 'published',
    progress = nullProgresser,
    signal,
    ...target
  } = options;
  let published: HostKeyPolicy | undefined;
  const hostKey =
    hostKeyCheck === 'insecure'
      ? ({ kind: 'insecure' } as const)
      : async (): Promise<HostKeyPolicy | undefined> => {
          if (published) return published;
          const keys = await readHostKeys(signal);
          if (keys.length > 0) published = { kind: 'public-keys', publicKeys: [...keys] };
          return published;
        };
  const waitStarted = performance.now();
  progress.progress({ message: 'waiting for ssh connectivity...', continues: true });
  const sshTarget = new SshScriptTarget({
    ...target,
    connect: {
      ...connect,
      hostKey,
      onAttempt: (attempt) => {
        progress.progress({ message: '.', raw: true });
        connect.onAttempt?.(attempt);
      },
    },
  });
  try {
    await sshTarget.connected(signal ? { signal } : {});
  } catch (error) {
    await sshTarget.close().catch(() => {});
    if (!signal?.aborted) {
      progress.progress({
        message: 'could not establish ssh connectivity',
        state: 'failure',
        interrupts: true,
      });
    }
    throw error;
  }
  progress.progress({
    message: `ssh connectivity established (${formatDuration(performance.now() - waitStarted)})`,
    state: 'success',
    interrupts: true,
  });
  return sshTarget;
}

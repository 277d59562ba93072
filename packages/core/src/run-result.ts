/**
 * Why a run did not reach the end of its script. Every one of these means "requeue the job":
 * the script's own verdict is unknown.
 */
export type IncompleteReason =
  /** The caller aborted the run. */
  | 'cancelled'
  /** The job's hard timeout passed. */
  | 'hard-timeout'
  /** The connection to the instance dropped before the exit status arrived. */
  | 'connection-lost'
  /** The cloud reclaimed the instance (GCE preemption, EC2 spot interruption). */
  | 'preempted'
  /** Writing to the caller's output failed, so output would have been lost. */
  | 'output-failed'
  /** The provider's API failed while running the script. */
  | 'provider-error';

export interface CompletedRun {
  completed: true;
  /** The script's exit status; 128 + signal number when it was killed by a signal. */
  exitCode: number;
  /** The signal name ("SIGKILL") when the script was killed by one. */
  signal?: string;
  /** Bytes of output delivered to the caller's writer. */
  outputBytes: number;
}

export interface IncompleteRun {
  completed: false;
  reason: IncompleteReason;
  /** A human-readable account of what happened. */
  message: string;
  outputBytes: number;
  exitCode?: undefined;
  cause?: unknown;
}

/** The outcome of `Instance.runScript`: `completed: true` carries the script's real exit code. */
export type RunResult = CompletedRun | IncompleteRun;

const SIGNAL_NUMBERS: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGTRAP: 5,
  SIGABRT: 6,
  SIGBUS: 7,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGSEGV: 11,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
};

/** A completed run whose script ended by a signal: exit code 128 + n, as a shell reports it. */
export function exitedBySignal(signal: string, outputBytes: number): CompletedRun {
  const name = signal.startsWith('SIG') ? signal : `SIG${signal}`;
  return { completed: true, exitCode: 128 + (SIGNAL_NUMBERS[name] ?? 0), signal: name, outputBytes };
}

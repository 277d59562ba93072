export type ProgressState = 'neutral' | 'success' | 'failure';

/** One line (or fragment) of start-up progress shown to the user. */
export interface ProgressEntry {
  message: string;
  /** Default "neutral". */
  state?: ProgressState;
  /** Begin on a fresh line (after a run of dots). */
  interrupts?: boolean;
  /** Leave the line open: more (dots) follows. */
  continues?: boolean;
  /** Write the message alone, with no marker or line ending. */
  raw?: boolean;
}

export interface Progresser {
  progress(entry: ProgressEntry): void;
}

/** Discards progress: for callers that do not show it. */
export const nullProgresser: Progresser = Object.freeze({ progress() {} });

import type { ProgressEntry, Progresser } from './progress-entry.js';

const MARKERS = { success: '✓ ', failure: '✗ ', neutral: '• ' } as const;

/** Writes progress into a job log exactly as the Go worker's TextProgresser does. */
export class TextProgresser implements Progresser {
  #output: { write(chunk: string): unknown } | undefined;

  constructor(output: { write(chunk: string): unknown } | undefined) {
    this.#output = output;
  }

  progress(entry: ProgressEntry): void {
    this.#output?.write(renderProgress(entry));
  }
}

export function renderProgress(entry: ProgressEntry): string {
  if (entry.raw) return entry.message;
  const head = (entry.interrupts ? '\r\n' : '') + MARKERS[entry.state ?? 'neutral'];
  const tail = entry.continues ? '' : '\r\n';
  return `${head}${entry.message}${tail}`;
}

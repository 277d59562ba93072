import { describe, expect, it } from 'vitest';
import type { ProgressEntry } from './progress-entry.js';
import { renderProgress, TextProgresser } from './text-progresser.js';

// The Go worker's rendering, case by case: job logs must look the same after a port.
const cases: [ProgressEntry, string][] = [
  [{ message: 'hello' }, '• hello\r\n'],
  [{ message: 'yay', state: 'success' }, '✓ yay\r\n'],
  [{ message: 'oh no', state: 'failure' }, '✗ oh no\r\n'],
  [{ message: 'hello...', continues: true }, '• hello...'],
  [{ message: 'yay...', state: 'success', continues: true }, '✓ yay...'],
  [{ message: 'oh no...', state: 'failure', continues: true }, '✗ oh no...'],
  [{ message: 'hello!', interrupts: true }, '\r\n• hello!\r\n'],
  [{ message: 'yay!', state: 'success', interrupts: true }, '\r\n✓ yay!\r\n'],
  [{ message: 'oh no!', state: 'failure', interrupts: true }, '\r\n✗ oh no!\r\n'],
  [{ message: 'hello!...', interrupts: true, continues: true }, '\r\n• hello!...'],
  [{ message: 'yay!...', state: 'success', interrupts: true, continues: true }, '\r\n✓ yay!...'],
  [{ message: 'oh no!...', state: 'failure', interrupts: true, continues: true }, '\r\n✗ oh no!...'],
  [{ message: 'hello', raw: true }, 'hello'],
  [{ message: 'yay', state: 'success', raw: true }, 'yay'],
  [{ message: 'oh no', state: 'failure', raw: true, interrupts: true }, 'oh no'],
];

describe('TextProgresser', () => {
  it.each(cases)('renders %j as the Go worker does', (entry, expected) => {
    expect(renderProgress(entry)).toBe(expected);
  });

  it('writes into its output, and a missing output discards', () => {
    const written: string[] = [];
    new TextProgresser({ write: (chunk: string) => written.push(chunk) }).progress({
      message: '.',
      raw: true,
    });
    new TextProgresser(undefined).progress({ message: 'dropped' });
    expect(written).toEqual(['.']);
  });
});

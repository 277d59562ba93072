import { describe, expect, it } from 'vitest';
import { ProgressRenderer } from './progress-renderer.js';

function output(isTTY: boolean) {
  const chunks: string[] = [];
  return { chunks, isTTY, write: (chunk: string) => chunks.push(chunk), text: () => chunks.join('') };
}

describe('ProgressRenderer', () => {
  it('writes plain lines when stderr is not a terminal', () => {
    const out = output(false);
    const renderer = new ProgressRenderer(out);
    renderer.phase('starting gce instance');
    renderer.progress({ message: 'waiting for ssh connectivity...', continues: true });
    renderer.progress({ message: '.', raw: true });
    renderer.progress({ message: 'ssh connectivity established (2s)', state: 'success', interrupts: true });
    renderer.done();
    expect(out.text()).toBe(
      'starting gce instance\n• waiting for ssh connectivity....\n✓ ssh connectivity established (2s)\n',
    );
    expect(out.text()).not.toContain('\x1b');
  });

  it('draws a spinner on a terminal, keeps entries above it and clears it when done', () => {
    const out = output(true);
    const renderer = new ProgressRenderer(out);
    renderer.phase('starting docker instance');
    renderer.progress({ message: 'selected image "busybox"', state: 'success' });
    renderer.done();
    const text = out.text();
    const clearLine = '\r\x1b[2K';
    expect(text).toContain(`${clearLine}⠋ starting docker instance (0.`);
    expect(text).toContain('\r\x1b[2K✓ selected image "busybox"\n');
    expect(text.endsWith('\r\x1b[2K')).toBe(true);
  });

  it('ends an open line before a note', () => {
    const out = output(false);
    const renderer = new ProgressRenderer(out);
    renderer.progress({ message: 'polling', continues: true });
    renderer.note('workerkit: cancelled');
    expect(out.text()).toBe('• polling\nworkerkit: cancelled\n');
  });
});

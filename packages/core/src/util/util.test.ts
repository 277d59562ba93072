import { describe, expect, it } from 'vitest';
import { abortable } from './abort.js';
import { asBool } from './as-bool.js';
import { backoffDelay, retryWithBackoff } from './backoff.js';
import { closestWord, editDistance } from './closest-word.js';
import { formatDuration, parseDuration } from './duration.js';
import { str2map } from './str2map.js';

describe('asBool (Go semantics)', () => {
  it.each(['0', 'no', 'off', 'false', '', 'FALSE', 'No', ' off '])('%j is false', (value) => {
    expect(asBool(value)).toBe(false);
  });
  it.each(['1', 'yes', 'on', 'true', 'fafafaf', 'TRUE'])('%j is true', (value) => {
    expect(asBool(value)).toBe(true);
  });
  it('treats undefined as false', () => expect(asBool(undefined)).toBe(false));
});

describe('str2map', () => {
  it('splits on spaces and commas and unescapes values', () => {
    expect(str2map('foo:bar,bang:baz Hello:World, extra space:justbecause sep:this%2Cthat')).toEqual({
      foo: 'bar',
      bang: 'baz',
      Hello: 'World',
      extra: '',
      space: 'justbecause',
      sep: 'this,that',
    });
  });
  it('keeps commas in values when only spaces separate', () => {
    expect(str2map('/run:rw,nosuid,size=65536k /tmp:rw', ' ')).toEqual({
      '/run': 'rw,nosuid,size=65536k',
      '/tmp': 'rw',
    });
  });
  it('returns an empty map for empty input', () => expect(str2map('')).toEqual({}));
});

describe('parseDuration / formatDuration', () => {
  it.each([
    ['500ms', 500],
    ['3s', 3000],
    ['1m30s', 90_000],
    ['1h2m3.5s', 3_723_500],
    ['0', 0],
    ['1.5s', 1500],
    ['250us', 0.25],
  ])('parses %s', (input, ms) => expect(parseDuration(input)).toBe(ms));
  it.each(['', '5', 'abc', '1x', 's', '1s2'])('rejects %j', (input) =>
    expect(parseDuration(input)).toBeUndefined(),
  );
  it.each([
    [0, '0s'],
    [250, '250ms'],
    [1500, '1.5s'],
    [90_000, '1m30s'],
    [3_723_500, '1h2m3.5s'],
  ])('formats %d ms as %s', (ms, text) => expect(formatDuration(ms)).toBe(text));
});

describe('backoff', () => {
  it('grows by the factor up to the maximum, jittered around it', () => {
    const options = { initialMs: 100, maxMs: 1000, jitter: 0.5 };
    expect(backoffDelay(1, options, () => 0.5)).toBe(100);
    expect(backoffDelay(3, options, () => 0.5)).toBe(400);
    expect(backoffDelay(10, options, () => 0.5)).toBe(1000);
    expect(backoffDelay(10, options, () => 0)).toBe(500);
    expect(backoffDelay(10, options, () => 1)).toBe(1500);
  });

  it('retries retryable errors and stops at the first other one', async () => {
    let calls = 0;
    const result = await retryWithBackoff(
      async () => {
        calls++;
        if (calls < 3) throw new Error('throttled');
        return 'ok';
      },
      () => true,
      { initialMs: 1, maxMs: 2 },
    );
    expect([result, calls]).toEqual(['ok', 3]);
    await expect(
      retryWithBackoff(
        async () => {
          throw new Error('fatal');
        },
        () => false,
        { initialMs: 1, maxMs: 2 },
      ),
    ).rejects.toThrow('fatal');
  });

  it('gives up once the next wait would pass maxElapsedMs', async () => {
    let calls = 0;
    const failing = async () => {
      calls++;
      throw new Error(`attempt ${calls}`);
    };
    // A first wait that alone passes the budget: no retry, whatever the machine's load.
    await expect(
      retryWithBackoff(failing, () => true, { initialMs: 20, maxMs: 20, jitter: 0, maxElapsedMs: 10 }),
    ).rejects.toThrow('attempt 1');

    // Within the budget it retries, and never starts a wait that would end past it. (How many
    // retries fit depends on the load; the bound does not.)
    calls = 0;
    // When each wait ends on the retry loop's own clock: a clock read here could differ by the
    // time a loaded machine takes between two statements.
    const waitEnds: number[] = [];
    const lastError = await retryWithBackoff(failing, () => true, {
      initialMs: 100,
      maxMs: 100,
      jitter: 0,
      maxElapsedMs: 1000,
      onRetry: ({ delayMs, elapsedMs }) => waitEnds.push(elapsedMs + delayMs),
    }).catch((error: unknown) => error);
    expect(String(lastError)).toBe(`Error: attempt ${calls}`);
    expect(waitEnds.length).toBeGreaterThan(0);
    expect(waitEnds.length).toBe(calls - 1);
    for (const end of waitEnds) expect(end).toBeLessThanOrEqual(1000);
  });

  it('rejects with the abort reason while waiting', async () => {
    const controller = new AbortController();
    const pending = retryWithBackoff(
      async () => {
        throw new Error('busy');
      },
      () => true,
      { initialMs: 10_000, maxMs: 10_000, signal: controller.signal },
    );
    controller.abort(new Error('stop now'));
    await expect(pending).rejects.toThrow('stop now');
  });
});

describe('abortable', () => {
  it('settles with the promise, or rejects with the reason once the signal aborts', async () => {
    expect(await abortable(Promise.resolve(1), undefined)).toBe(1);
    expect(await abortable(Promise.resolve(2), new AbortController().signal)).toBe(2);
    const reason = new Error('gave up');
    const controller = new AbortController();
    const never = new Promise<number>(() => {});
    const racing = abortable(never, controller.signal);
    controller.abort(reason);
    await expect(racing).rejects.toBe(reason);
    await expect(abortable(Promise.resolve(3), AbortSignal.abort(reason))).rejects.toBe(reason);
    // A later rejection of the abandoned promise is not an unhandled one.
    await expect(abortable(Promise.reject(new Error('late')), AbortSignal.abort(reason))).rejects.toBe(
      reason,
    );
  });
});

describe('closestWord', () => {
  it('finds the known word nearest by edit distance', () => {
    expect(editDistance('KILL_GRACEE', 'KILL_GRACE')).toBe(1);
    expect(editDistance('', 'ABC')).toBe(3);
    expect(closestWord('KILL_GRACEE', ['SHELL', 'KILL_GRACE', 'SCRIPTS_DIR'])).toBe('KILL_GRACE');
    expect(closestWord('SHEL', ['SHELL', 'KILL_GRACE'])).toBe('SHELL');
    expect(closestWord('X', [])).toBeUndefined();
  });
});

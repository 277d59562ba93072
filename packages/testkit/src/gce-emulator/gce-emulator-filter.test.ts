import { describe, expect, it } from 'vitest';
import { FilterSyntaxError, parseFilter } from './gce-emulator-filter.js';

const instance = {
  name: 'travis-job-1',
  status: 'RUNNING',
  targetId: '123',
  labels: { workerkit: 'true', 'workerkit-job': '7' },
};

describe('parseFilter', () => {
  it.each([
    ['', true],
    ['labels.workerkit = "true"', true],
    ['labels.workerkit = true', true],
    ['labels.workerkit = "false"', false],
    ['labels.workerkit != "true"', false],
    ['labels.missing = "x"', false],
    ['labels.workerkit-job:*', true],
    ['labels.missing:*', false],
    ['(labels.workerkit = "true") (status = RUNNING)', true],
    ['(labels.workerkit = "true") AND (status = "TERMINATED")', false],
    ['targetId = "123"', true],
    ['name eq ^travis-job-.*', true],
    ['name eq travis-job', false],
    ['name ne ^travis-.+', false],
  ])('%s → %s', (filter, expected) => {
    expect(parseFilter(filter)(instance)).toBe(expected);
  });

  it.each(['a = 1 OR b = 2', 'status < 3', 'name eq (unclosed'])(
    'rejects unsupported filter %s',
    (filter) => {
      expect(() => parseFilter(filter)).toThrow(FilterSyntaxError);
    },
  );
});

import { describe, expect, it } from 'vitest';
import { hostnameFromJob } from './hostname.js';
import { START_ATTRIBUTE_DEFAULTS, withDefaults } from './start-attributes.js';

describe('withDefaults', () => {
  it('fills empty fields from the Go defaults and keeps the rest', () => {
    expect(withDefaults({ language: 'go', dist: '', imageName: 'img' })).toEqual({
      ...START_ATTRIBUTE_DEFAULTS,
      language: 'go',
      imageName: 'img',
    });
  });
  it('takes worker defaults where given', () => {
    expect(withDefaults({}, { dist: 'xenial', group: 'edge' })).toMatchObject({
      dist: 'xenial',
      group: 'edge',
      os: 'linux',
    });
  });
});

describe('hostnameFromJob', () => {
  it('builds travis-job-<owner>-<repo>-<job> with the Go rules', () => {
    expect(hostnameFromJob({ jobId: 123, repository: 'Travis-CI/Worker' })).toBe(
      'travis-job-travis-ci-worker-123',
    );
    expect(
      hostnameFromJob({ jobId: '9', repository: 'some_owner.with.dots/a--b__c...d_and_a_long_tail' }),
    ).toBe('travis-job-some-owner-wit-a-b-c-d-and-a-9');
  });
  it('falls back to unk-unk with a uuid without a job id or repository', () => {
    expect(hostnameFromJob({})).toMatch(/^travis-job-unk-unk-[0-9a-f-]{36}$/);
    expect(hostnameFromJob({ jobId: '1' })).toMatch(/^travis-job-unk-unk-/);
  });
});

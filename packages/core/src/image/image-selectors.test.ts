import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProviderConfig } from '../config/provider-config.js';
import { JobAbortError } from '../errors/job-abort-error.js';
import { ApiImageSelector, apiImageQueryLines } from './api-image-selector.js';
import { EnvImageSelector } from './env-image-selector.js';
import type { ImageSelectParams } from './image-selector.js';

describe('EnvImageSelector (the Go candidate order)', () => {
  const selector = new EnvImageSelector(
    ProviderConfig.fromMap({
      IMAGE_DEFAULT: 'wk:default',
      IMAGE_LINUX: 'wk:linux',
      IMAGE_DIST_XENIAL: 'wk:xenial',
      IMAGE_DIST_XENIAL_PYTHON: 'wk:py3k',
      IMAGE_GROUP_EDGE: 'wk:edge',
      IMAGE_GROUP_EDGE_RUBY: 'wk:ruby-edge',
      IMAGE_LANGUAGE_RUBY: 'wk:ruby',
      IMAGE_OSX_IMAGE_XCODE9_OBJC: 'wk:xcode9-objc',
      IMAGE_ALIAS_LEGACY: 'wk:legacy',
      IMAGE_DIST_PRECISE: 'alias_legacy',
      ENDPOINT: 'not an image key',
    }),
  );

  it.each<[string, Partial<ImageSelectParams>]>([
    ['wk:default', { language: 'clojure' }],
    ['wk:edge', { language: 'java', group: 'edge' }],
    ['wk:linux', { language: 'bf', group: 'wat', os: 'linux' }],
    ['wk:py3k', { language: 'python', dist: 'xenial' }],
    ['wk:ruby', { language: 'ruby' }],
    ['wk:ruby-edge', { language: 'ruby', group: 'edge' }],
    ['wk:xenial', { language: 'java', dist: 'xenial' }],
    ['wk:xcode9-objc', { language: 'objc', os: 'osx', osxImage: 'xcode9' }],
    ['wk:legacy', { language: 'c', dist: 'precise' }],
  ])('selects %s for %j', async (expected, params) => {
    expect(await selector.select({ infra: 'test', ...params })).toBe(expected);
  });

  it('answers "default" when nothing matches and no IMAGE_DEFAULT is set', async () => {
    expect(
      await new EnvImageSelector(ProviderConfig.fromMap({})).select({ infra: 'test', language: 'go' }),
    ).toBe('default');
  });
});

describe('ApiImageSelector', () => {
  let server: Server;
  let url: string;
  const requests: { body: string; headers: IncomingMessage['headers'] }[] = [];
  let failuresLeft = 0;

  beforeAll(async () => {
    server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => {
        body += chunk;
      });
      request.on('end', () => {
        requests.push({ body, headers: request.headers });
        if (failuresLeft > 0) {
          failuresLeft--;
          response.writeHead(503).end('busy');
          return;
        }
        const wantsRuby = body.includes('language_ruby%3Atrue');
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ data: wantsRuby ? [{ name: 'travis-ci-ruby-1' }] : [] }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://user:pa%20ss@127.0.0.1:${(server.address() as AddressInfo).port}/images/search`;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('posts one query per candidate tag set with basic auth from the URL', async () => {
    requests.length = 0;
    const selector = new ApiImageSelector({ url });
    expect(
      await selector.select({
        infra: 'gce',
        language: 'ruby',
        dist: 'xenial',
        group: 'stable',
        os: 'linux',
        jobId: '9',
        repository: 'o/r',
      }),
    ).toBe('travis-ci-ruby-1');
    const [request] = requests;
    expect(request?.headers['content-type']).toBe('application/x-www-form-urlencoded; boundary=NL');
    expect(request?.headers.authorization).toBe(`Basic ${Buffer.from('user:pa ss').toString('base64')}`);
    const lines = request!.body.split('\n').map((line) => new URLSearchParams(line));
    expect(lines[0]!.get('tags')).toBe('dist:xenial,group_stable:true,language_ruby:true,os:linux');
    expect(lines[0]!.get('is_default')).toBe('false');
    expect(lines[1]!.get('tags')).toBe('dist:xenial,group_stable:true,language_ruby:true');
    expect(lines.at(-1)!.get('tags')).toBeNull();
    expect(lines.at(-1)!.get('is_default')).toBe('true');
    expect(
      lines.every(
        (line) => line.get('infra') === 'gce' && line.get('job_id') === '9' && line.get('limit') === '1',
      ),
    ).toBe(true);
  });

  it('answers "default" when the service has no match', async () => {
    expect(await new ApiImageSelector({ url }).select({ infra: 'gce', language: 'go' })).toBe('default');
  });

  it('retries while the service answers non-200', async () => {
    failuresLeft = 2;
    requests.length = 0;
    expect(
      await new ApiImageSelector({ url, initialRetryMs: 5 }).select({ infra: 'gce', language: 'ruby' }),
    ).toBe('travis-ci-ruby-1');
    expect(requests).toHaveLength(3);
  });

  it('aborts the job (not requeue) for a tag with a comma', () => {
    expect(() => apiImageQueryLines({ infra: 'gce', language: 'ruby,' })).toThrow(JobAbortError);
  });
});

import { describe, expect, it } from 'vitest';
import { InvalidConfigError } from '../errors/invalid-config-error.js';
import { UnknownOptionError } from '../errors/unknown-option-error.js';
import { defineOptions, option } from './define-options.js';
import { optionTypes } from './option-types.js';
import { withOptionsTable } from './options-table.js';
import { ProviderConfig } from './provider-config.js';

describe('ProviderConfig', () => {
  it('reads WORKERKIT_<ALIAS>_, then TRAVIS_WORKER_<ALIAS>_, then <ALIAS>_ keys', () => {
    const config = ProviderConfig.fromEnv('docker', {
      DOCKER_ENDPOINT: 'bare',
      TRAVIS_WORKER_DOCKER_ENDPOINT: 'travis',
      WORKERKIT_DOCKER_ENDPOINT: 'workerkit',
      DOCKER_CMD: '/sbin/init',
      TRAVIS_WORKER_DOCKER_MEMORY: '4G',
      GCE_PROJECT_ID: 'other provider',
    });
    expect(config.keys()).toEqual(['CMD', 'ENDPOINT', 'MEMORY']);
    expect(config.get('endpoint')).toBe('workerkit');
    expect(config.get('CMD')).toBe('/sbin/init');
  });

  it('keeps values as given (no URL unescaping of whole values, unlike Go)', () => {
    expect(ProviderConfig.fromMap({ ACCOUNT_JSON: '{"a":"b+c%20"}' }).get('ACCOUNT_JSON')).toBe(
      '{"a":"b+c%20"}',
    );
  });

  it('recognises and merges a config made by another copy of core through its public methods', () => {
    // A stand-in for ProviderConfig of another installed version: only the brand and methods.
    const foreign = {
      [Symbol.for('workerkit.ProviderConfig')]: true,
      keys: () => ['ENDPOINT'],
      get: (key: string) => (key === 'ENDPOINT' ? 'unix:///other.sock' : undefined),
    };
    expect(ProviderConfig.isProviderConfig(foreign)).toBe(true);
    expect(ProviderConfig.isProviderConfig({ ENDPOINT: 'x' })).toBe(false);
    const fromForeign = ProviderConfig.from(foreign as unknown as ProviderConfig);
    expect(fromForeign.get('ENDPOINT')).toBe('unix:///other.sock');
    expect(fromForeign.origin('ENDPOINT')).toEqual({ kind: 'given' });
    const merged = ProviderConfig.fromMap({ A: '1' }).merge(foreign as unknown as ProviderConfig);
    expect(merged.keys()).toEqual(['A', 'ENDPOINT']);
  });

  it('merges with the other side winning and never prints values', () => {
    const config = ProviderConfig.fromMap({ A: '1', SECRET: 's3cr3t' }).merge({ A: '2' });
    expect(config.get('A')).toBe('2');
    expect(String(config)).toBe('ProviderConfig(A, SECRET)');
    expect(JSON.stringify({ config })).not.toContain('s3cr3t');
  });
});

describe('defineOptions', () => {
  const options = defineOptions('demo', {
    ENDPOINT: option(optionTypes.string(), {
      description: 'address of the daemon',
      required: true,
      aliases: ['HOST'],
    }),
    INTERVAL: option(optionTypes.duration(), { description: 'time between checks', default: '500ms' }),
    COUNT: option(optionTypes.int({ min: 0 }), { description: 'how many' }),
    MODE: option(optionTypes.oneOf(['env', 'api']), { description: 'selector type', default: 'env' }),
    TOKEN: option(optionTypes.string(), { description: 'api token', secret: true }),
    LIMIT: option(optionTypes.int({ min: 1 }), { description: 'limit', secret: true }),
    MAP: option(optionTypes.map(), { description: 'tmpfs map', default: '/run:rw' }),
    FLAG: option(optionTypes.bool(), { description: 'a flag', default: 'false' }),
  });

  it('parses values, applies defaults and accepts aliases', () => {
    const parsed = options.parse(
      ProviderConfig.fromMap({ HOST: 'unix:///d.sock', COUNT: '3', FLAG: 'fafafaf' }),
    );
    expect(parsed).toEqual({
      ENDPOINT: 'unix:///d.sock',
      INTERVAL: 500,
      COUNT: 3,
      MODE: 'env',
      TOKEN: undefined,
      LIMIT: undefined,
      MAP: { '/run': 'rw' },
      FLAG: true,
    });
  });

  it('names the provider, option, value and expectation for a bad value', () => {
    const bad = (map: Record<string, string>) => () =>
      options.parse(ProviderConfig.fromMap({ ENDPOINT: 'x', ...map }));
    expect(bad({ INTERVAL: 'soon' })).toThrow(
      'demo: invalid INTERVAL: got "soon", expected a duration such as "500ms", "3s" or "1m30s"',
    );
    expect(bad({ MODE: 'redis' })).toThrow('demo: invalid MODE: got "redis", expected one of "env", "api"');
    expect(bad({ COUNT: '-1' })).toThrow('demo: invalid COUNT: got "-1", expected an integer from 0');
    expect(bad({ COUNT: '-1' })).toThrow(InvalidConfigError);
  });

  it('says which option is missing', () => {
    expect(() => options.parse(ProviderConfig.fromMap({}))).toThrow(
      'demo: invalid ENDPOINT: got no value, expected a string (required: address of the daemon)',
    );
  });

  it('never shows a secret value', () => {
    let message = '';
    try {
      options.parse(ProviderConfig.fromMap({ ENDPOINT: 'x', LIMIT: 'hunter2' }));
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toBe('demo: invalid LIMIT: got a value (hidden: secret), expected an integer from 1');
  });

  it('refuses an unknown key given in a map, naming it and the closest known option', () => {
    const parse = () => options.parse(ProviderConfig.fromMap({ ENDPOINT: 'x', INTERVALL: '3s' }));
    expect(parse).toThrow(UnknownOptionError);
    expect(parse).toThrow(InvalidConfigError);
    expect(parse).toThrow(
      'demo: unknown option INTERVALL; did you mean INTERVAL? (workerkit backends lists every option)',
    );
  });

  it('refuses an unknown WORKERKIT_<ALIAS>_ variable, naming the variable', () => {
    const config = ProviderConfig.fromEnv('demo', { WORKERKIT_DEMO_ENDPOINT: 'x', WORKERKIT_DEMO_TOKN: 't' });
    expect(() => options.parse(config)).toThrow(
      'demo: unknown option TOKN (from WORKERKIT_DEMO_TOKN); did you mean TOKEN?',
    );
  });

  it('ignores unknown keys from the Go prefixes, which other programs share (DEMO_HOST, …)', () => {
    const config = ProviderConfig.fromEnv('demo', {
      DEMO_ENDPOINT: 'x',
      DEMO_UNRELATED: 'belongs to another program',
      TRAVIS_WORKER_DEMO_OLD_OPTION: '1',
    });
    expect(options.parse(config).ENDPOINT).toBe('x');
    // The same key through a strict source is refused.
    expect(() => options.parse(config.merge({ UNRELATED: 'y' }))).toThrow(UnknownOptionError);
  });

  it('accepts the image selector keys when the provider has IMAGE_ options, and declared open keys', () => {
    const withImages = defineOptions('img', {
      IMAGE_DEFAULT: option(optionTypes.string(), { description: 'default image' }),
    });
    expect(() => withImages.parse(ProviderConfig.fromMap({ IMAGE_DIST_JAMMY_GO: 'x' }))).not.toThrow();
    expect(() => options.parse(ProviderConfig.fromMap({ ENDPOINT: 'x', IMAGE_GO: 'x' }))).toThrow(
      UnknownOptionError,
    );
    const open = defineOptions('open', {}, { openKeys: [/^LABEL_/] });
    expect(() => open.parse(ProviderConfig.fromMap({ LABEL_TEAM: 'ci' }))).not.toThrow();
    expect(() => open.parse(ProviderConfig.fromMap({ LABELS: 'ci' }))).toThrow(UnknownOptionError);
  });

  it('renders the help map as the Go worker did', () => {
    expect(options.help()).toMatchObject({
      'ENDPOINT / HOST': '[REQUIRED] address of the daemon',
      INTERVAL: 'time between checks (default "500ms")',
      COUNT: 'how many',
    });
    expect(options.envNames('COUNT')).toEqual([
      'WORKERKIT_DEMO_COUNT',
      'TRAVIS_WORKER_DEMO_COUNT',
      'DEMO_COUNT',
    ]);
  });
});

describe('optionTypes', () => {
  it('parse gives the value, or undefined for a string that is not one', () => {
    expect(optionTypes.duration().parse('1m30s')).toBe(90_000);
    expect(optionTypes.duration().parse('soon')).toBeUndefined();
    expect(optionTypes.int({ min: 1, max: 3 }).parse('4')).toBeUndefined();
    expect(optionTypes.list().parse('a, b,,c')).toEqual(['a', 'b', 'c']);
  });

  it('is a Standard Schema: validate gives the value, or an issue saying what is expected', async () => {
    const duration = optionTypes.duration()['~standard'];
    expect(duration).toMatchObject({ version: 1, vendor: 'workerkit' });
    expect(await duration.validate('3s')).toEqual({ value: 3000 });
    expect(await duration.validate('3 parsecs')).toEqual({
      issues: [{ message: 'expected a duration such as "500ms", "3s" or "1m30s"' }],
    });
    expect(await duration.validate(3000)).toHaveProperty('issues');
  });
});

describe('withOptionsTable', () => {
  const options = defineOptions('demo', {
    ENDPOINT: option(optionTypes.string(), { description: 'address', required: true }),
  });

  it('puts the options table between the markers, replacing what was there', () => {
    const readme = '# demo\n<!-- options:start -->\nstale\n<!-- options:end -->\nmore\n';
    const updated = withOptionsTable(readme, options);
    expect(updated).toBe(
      `# demo\n<!-- options:start -->\n${options.markdownTable()}\n<!-- options:end -->\nmore\n`,
    );
    expect(withOptionsTable(updated, options)).toBe(updated);
  });

  it('says where the markers go when they are missing', () => {
    expect(() => withOptionsTable('# demo\n', options)).toThrow(
      'demo: the README needs a line <!-- options:start -->',
    );
  });
});

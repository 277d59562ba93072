import { describe, expect, it } from 'vitest';
import {
  InvalidConfigError,
  JobAbortError,
  MissingEndpointConfigError,
  ProviderApiError,
  StaleVmError,
  TraceNotImplementedError,
  WorkerkitError,
} from './index.js';

describe('errors', () => {
  it('are recognised by isInstance, also from a second copy of the package', () => {
    // A second copy defines its own classes but uses the same Symbol.for markers.
    const foreign = Object.assign(new Error('from another copy'), {
      [Symbol.for('workerkit.error')]: true,
      [Symbol.for('workerkit.error.StaleVmError')]: true,
    });
    expect(StaleVmError.isInstance(foreign)).toBe(true);
    expect(WorkerkitError.isInstance(foreign)).toBe(true);
    expect(ProviderApiError.isInstance(foreign)).toBe(false);
  });

  it('keep kinds apart and all count as WorkerkitError', () => {
    const stale = new StaleVmError();
    expect(stale.message).toBe('previous build artifacts found on stale vm');
    expect(WorkerkitError.isInstance(stale)).toBe(true);
    expect(JobAbortError.isInstance(stale)).toBe(false);
    expect(stale.name).toBe('StaleVmError');
  });

  it('carry the SDK error only as cause, with retryability', () => {
    const sdk = new Error('Request limit exceeded.');
    const error = new ProviderApiError({
      provider: 'ec2',
      operation: 'RunInstances',
      message: 'throttled',
      retryable: true,
      code: 'RequestLimitExceeded',
      cause: sdk,
    });
    expect(error.message).toBe('ec2: RunInstances failed: throttled');
    expect(error.cause).toBe(sdk);
    expect(error.retryable).toBe(true);
  });

  it('say what is expected', () => {
    expect(new MissingEndpointConfigError({ provider: 'docker', keys: ['ENDPOINT', 'HOST'] }).message).toBe(
      'docker: expected config key ENDPOINT or HOST (the endpoint address)',
    );
    expect(new TraceNotImplementedError({ provider: 'local' }).message).toBe(
      'local: DownloadTrace not implemented',
    );
    expect(
      new InvalidConfigError({ provider: 'gce', option: 'ZONE', value: 'mars-1', expected: 'a zone name' })
        .message,
    ).toBe('gce: invalid ZONE: got "mars-1", expected a zone name');
  });
});

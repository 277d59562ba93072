import type * as Ec2SdkModule from '@aws-sdk/client-ec2';

/** The `@aws-sdk/client-ec2` module (~0.6 s and ~100 MB to load). */
export type Ec2Sdk = typeof Ec2SdkModule;

let loading: Promise<Ec2Sdk> | undefined;

/**
 * Loads the AWS SDK on first use (a provider's first call), never at import: registering the
 * backend (`workerkit backends`, a worker using another backend) must not pay for it.
 */
export function loadEc2Sdk(): Promise<Ec2Sdk> {
  loading ??= import('@aws-sdk/client-ec2').catch((error: unknown) => {
    loading = undefined;
    throw new Error(
      'ec2: the AWS SDK could not be loaded: install "@aws-sdk/client-ec2" (a dependency of @workerkit/backend-ec2)',
      { cause: error },
    );
  });
  return loading;
}

import { registerBackend } from '@workerkit/core';
import { EC2_ALIAS, ec2Options } from './ec2-options.js';
import { createEc2Provider } from './ec2-provider.js';

export type { Ec2ApiOptions, Ec2CallCounts } from './ec2-client.js';
export { createEc2Api, createEc2Client, Ec2Api } from './ec2-client.js';
export {
  ec2ErrorCode,
  isRetryableEc2Error,
  isThrottling,
  shouldRetryCall,
  toEc2ApiError,
} from './ec2-errors.js';
export type { ResolvedImage } from './ec2-image.js';
export { Ec2ImageResolver, newestImage } from './ec2-image.js';
export { Ec2Instance, SPOT_TERMINATION_REASON } from './ec2-instance.js';
export type { Ec2Options, Ec2ParsedOptions } from './ec2-options.js';
export {
  EC2_ALIAS,
  ec2Options,
  isAmiId,
  isBurstable,
  parseEc2Options,
} from './ec2-options.js';
export { createEc2Provider, Ec2Provider } from './ec2-provider.js';
export type { Ec2RateLimiterOptions } from './ec2-rate-limiter.js';
export { createEc2RateLimiter, EC2_RATE_LIMIT_NAME, Ec2RateLimiter } from './ec2-rate-limiter.js';
export type { Ec2Market, LaunchChoice, RunInstancesRequestInput } from './ec2-run-instances-request.js';
export {
  buildRunInstancesRequest,
  guestShutdownMinutes,
  launchChoices,
  renderUserData,
} from './ec2-run-instances-request.js';
export { hostKeysFromConsoleOutput } from './ec2-ssh-connect.js';

registerBackend({
  alias: EC2_ALIAS,
  humanReadableName: 'EC2',
  packageName: '@workerkit/backend-ec2',
  providerHelp: ec2Options.help(),
  create: (config, context) => createEc2Provider(config, context),
});

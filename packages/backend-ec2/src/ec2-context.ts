import type { Logger } from '@workerkit/core';
import type { Ec2Api } from './ec2-client.js';
import type { Ec2Options } from './ec2-options.js';

/** What the start steps and resource functions share: the API, the configuration, the logger. */
export interface Ec2Context {
  api: Ec2Api;
  options: Ec2Options;
  logger: Logger;
}

import { statusForCode } from './ec2-faults.js';
import type { Ec2Filter } from './ec2-query.js';

/** An error answer: EC2's code, message and HTTP status. */
export class Ec2ApiError extends Error {
  readonly code: string;
  readonly status: number;
  constructor(code: string, message: string, status = statusForCode(code)) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

/** Refuses a filter name the resource does not know, as EC2 does. */
export function checkFilters(filters: Ec2Filter[], known: (name: string) => boolean): void {
  for (const filter of filters) {
    if (!known(filter.name))
      throw new Ec2ApiError('InvalidParameterValue', `The filter '${filter.name}' is invalid`);
  }
}

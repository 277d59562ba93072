import type { Ec2EmulatorState } from './ec2-emulator-state.js';
import { type EmulatedInstance, INSTANCE_STATE_CODES } from './ec2-emulator-types.js';
import { checkFilters, Ec2ApiError } from './ec2-errors.js';
import { terminate } from './ec2-instance-lifecycle.js';
import { reservationMembers } from './ec2-instance-xml.js';
import { type Ec2QueryParams, matchesFilters, tagFilterValues } from './ec2-query.js';
import { list, node, type XmlValue } from './ec2-xml.js';

type Members = Record<string, XmlValue>;

/** An instance with every field empty: tells `instanceFilterValues` which filter names exist. */
const INSTANCE_SHAPE: EmulatedInstance = {
  instanceId: '',
  reservationId: '',
  imageId: '',
  instanceType: '',
  state: 'pending',
  stateTransitionReason: '',
  market: 'on-demand',
  privateIpAddress: '',
  securityGroupIds: [],
  tags: {},
  ebsOptimized: false,
  shutdownBehavior: 'stop',
  blockDevices: [],
  launchTime: new Date(0),
  sshPort: 0,
  sshUp: false,
  consoleOutput: '',
};

/** DescribeInstances: by id and filters, in reservations; paged by reservation when MaxResults is given. */
export function describeInstances(ec2: Ec2EmulatorState, params: Ec2QueryParams): Members {
  const ids = params.list('InstanceId');
  const filters = params.filters();
  checkFilters(filters, (name) => instanceFilterValues(INSTANCE_SHAPE, name) !== undefined);
  for (const id of ids) {
    if (!ec2.instances.has(id))
      throw new Ec2ApiError('InvalidInstanceID.NotFound', `The instance ID '${id}' does not exist`);
  }
  const wanted = new Set(ids);
  const selected = new Set<string>();
  for (const record of ec2.instances.values()) {
    if (wanted.size > 0 && !wanted.has(record.data.instanceId)) continue;
    if (!matchesFilters(filters, (name) => instanceFilterValues(record.data, name))) continue;
    selected.add(record.data.instanceId);
  }
  const matching = [...ec2.reservations.values()].filter((r) => r.instanceIds.some((id) => selected.has(id)));
  // Pagination by reservation, as EC2 does when MaxResults is given.
  const maxResults = params.int('MaxResults');
  if (maxResults !== undefined && ids.length > 0) {
    throw new Ec2ApiError(
      'InvalidParameterCombination',
      'The parameter instancesSet cannot be used with the parameter maxResults',
    );
  }
  if (maxResults !== undefined && (!Number.isInteger(maxResults) || maxResults < 5 || maxResults > 1000)) {
    throw new Ec2ApiError('InvalidParameterValue', 'MaxResults must be between 5 and 1000');
  }
  const token = params.get('NextToken');
  const offset = token === undefined ? 0 : Number(Buffer.from(token, 'base64').toString());
  if (!Number.isInteger(offset) || offset < 0)
    throw new Ec2ApiError('InvalidParameterValue', 'Invalid NextToken');
  const page =
    maxResults === undefined ? matching.slice(offset) : matching.slice(offset, offset + maxResults);
  const next =
    maxResults !== undefined && offset + maxResults < matching.length ? offset + maxResults : undefined;
  return {
    reservationSet: list(page.map((r) => node(reservationMembers(ec2, r, selected)))),
    nextToken: next === undefined ? undefined : Buffer.from(String(next)).toString('base64'),
  };
}

export function terminateInstances(ec2: Ec2EmulatorState, params: Ec2QueryParams): Members {
  const ids = params.list('InstanceId');
  if (ids.length === 0)
    throw new Ec2ApiError('MissingParameter', 'The request must contain the parameter InstanceId');
  for (const id of ids) {
    if (!ec2.instances.has(id))
      throw new Ec2ApiError('InvalidInstanceID.NotFound', `The instance ID '${id}' does not exist`);
  }
  return {
    instancesSet: list(
      ids.map((id) => {
        const record = ec2.instances.get(id)!;
        const previous = record.data.state;
        terminate(
          ec2,
          record,
          {
            code: 'Client.UserInitiatedShutdown',
            message: 'Client.UserInitiatedShutdown: User initiated shutdown',
          },
          `User initiated (${new Date().toISOString()})`,
        );
        return node({
          instanceId: id,
          currentState: node({ code: INSTANCE_STATE_CODES[record.data.state], name: record.data.state }),
          previousState: node({ code: INSTANCE_STATE_CODES[previous], name: previous }),
        });
      }),
    ),
  };
}

export function getConsoleOutput(ec2: Ec2EmulatorState, params: Ec2QueryParams): Members {
  const id = params.get('InstanceId');
  if (!id) throw new Ec2ApiError('MissingParameter', 'The request must contain the parameter InstanceId');
  const record = ec2.instances.get(id);
  if (!record) throw new Ec2ApiError('InvalidInstanceID.NotFound', `The instance ID '${id}' does not exist`);
  return {
    instanceId: id,
    timestamp: new Date(),
    output:
      record.data.consoleOutput === ''
        ? undefined
        : Buffer.from(record.data.consoleOutput).toString('base64'),
  };
}

/** An instance's values for a DescribeInstances filter; undefined for a filter EC2 does not know. */
function instanceFilterValues(data: EmulatedInstance, name: string): string[] | undefined {
  const tagValues = tagFilterValues(name, data.tags);
  if (tagValues) return tagValues;
  const simple: Record<string, string | undefined> = {
    'instance-id': data.instanceId,
    'instance-state-name': data.state,
    'instance-state-code': String(INSTANCE_STATE_CODES[data.state]),
    'instance-type': data.instanceType,
    'image-id': data.imageId,
    'key-name': data.keyName,
    'reservation-id': data.reservationId,
    'subnet-id': data.subnetId,
    'private-ip-address': data.privateIpAddress,
    'ip-address': data.publicIpAddress,
    'client-token': data.clientToken,
    'instance-lifecycle': data.market === 'spot' ? 'spot' : undefined,
    'state-reason-code': data.stateReason?.code,
  };
  if (!(name in simple)) return undefined;
  const value = simple[name];
  return value === undefined ? [] : [value];
}

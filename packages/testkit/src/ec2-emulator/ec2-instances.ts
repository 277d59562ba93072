import type { Ec2EmulatorState } from './ec2-emulator-state.js';
import { type EmulatedInstance, INSTANCE_STATE_CODES } from './ec2-emulator-types.js';
import { checkFilters, Ec2ApiError } from './ec2-errors.js';
import { terminate, USER_SHUTDOWN } from './ec2-instance-lifecycle.js';
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
  architecture: 'x86_64',
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
  postedConsoleOutput: '',
  visibleAt: new Date(0),
};

function notFound(id: string): Ec2ApiError {
  return new Ec2ApiError('InvalidInstanceID.NotFound', `The instance ID '${id}' does not exist`);
}

function checkInstanceId(id: string): void {
  if (!/^i-[0-9a-f]{8}([0-9a-f]{9})?$/.test(id))
    throw new Ec2ApiError('InvalidInstanceID.Malformed', `Invalid id: "${id}"`);
}

/** DescribeInstances: by id and filters, in reservations; paged by reservation when MaxResults is given. */
export function describeInstances(ec2: Ec2EmulatorState, params: Ec2QueryParams): Members {
  const ids = params.list('InstanceId');
  const filters = params.filters();
  checkFilters(filters, (name) => instanceFilterValues(INSTANCE_SHAPE, name) !== undefined);
  const now = Date.now();
  for (const id of ids) {
    checkInstanceId(id);
    if (!ec2.visibleInstance(id, now)) throw notFound(id);
  }
  const wanted = new Set(ids);
  const selected = new Set<string>();
  for (const record of ec2.instances.values()) {
    if (!ec2.visibleInstance(record.data.instanceId, now)) continue;
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
  // Eventual consistency: an id EC2 does not know yet fails the whole call and terminates nothing.
  for (const id of ids) {
    checkInstanceId(id);
    if (!ec2.visibleInstance(id)) throw notFound(id);
  }
  return {
    instancesSet: list(
      ids.map((id) => {
        const record = ec2.instances.get(id)!;
        const previous = record.data.state;
        terminate(ec2, record, USER_SHUTDOWN, `User initiated (${new Date().toISOString()})`);
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
  checkInstanceId(id);
  const record = ec2.visibleInstance(id);
  if (!record) throw notFound(id);
  const latest = params.bool('Latest') ?? false;
  if (latest && ec2.instanceTypes.get(record.data.instanceType)?.hypervisor !== 'nitro') {
    throw new Ec2ApiError(
      'UnsupportedOperation',
      `The instance type ${record.data.instanceType} does not support retrieving the latest console output. Latest is supported on Nitro-based instance types only.`,
    );
  }
  // Without Latest, EC2 answers what it last posted (shortly after boot), empty before.
  const output = latest ? record.data.consoleOutput : record.data.postedConsoleOutput;
  return {
    instanceId: id,
    timestamp: new Date(),
    output: output === '' ? undefined : Buffer.from(output).toString('base64'),
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

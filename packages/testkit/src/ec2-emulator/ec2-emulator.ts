import { createHash, randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import {
  type EmulatedImage,
  type EmulatedInstance,
  type EmulatedKeyPair,
  INSTANCE_STATE_CODES,
  type InstanceStateName,
} from './ec2-emulator-types.js';
import { EC2_ACTIONS, type Ec2Action, Ec2Faults, statusForCode } from './ec2-faults.js';
import { type Ec2Guest, type Ec2GuestBooter, ec2SshdGuestBooter } from './ec2-guest.js';
import { generateKeyMaterial, parseImportedPublicKey } from './ec2-key-material.js';
import { type Ec2Filter, Ec2QueryParams, matchesFilters, tagFilterValues } from './ec2-query.js';
import { errorXml, list, node, responseXml, tagSet, type XmlValue } from './ec2-xml.js';

export interface Ec2EmulatorOptions {
  /** Default "us-east-1". */
  region?: string;
  /** The account id that owns everything created (default "123456789012"). */
  accountId?: string;
  /** Static credentials the emulator accepts (others get AuthFailure). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /**
   * How long an instance stays `pending` (default 0: instant boot — RunInstances answers, still
   * "pending" as EC2 does, once the guest's sshd is up, so the next DescribeInstances sees it running).
   */
  bootDelayMs?: number;
  /** How long after `running` its sshd starts (default 0). */
  sshDelayMs?: number;
  /** How long `shutting-down` lasts before `terminated` (default 0). */
  terminateDelayMs?: number;
  /** AMIs (default: one Ubuntu-like image owned by the account, plus an older one). */
  images?: EmulatedImage[];
  /** Instance types RunInstances accepts (default: a common set incl. t2/t3/m5/m6g/c5). */
  instanceTypes?: string[];
  /** Boots an instance's guest (default: a private OpenSSH sshd on the instance's address). */
  bootGuest?: Ec2GuestBooter;
}

export interface Ec2Emulator {
  /** `http://127.0.0.1:<port>`: the `endpoint` for `EC2Client`. */
  readonly endpoint: string;
  readonly region: string;
  readonly credentials: { accessKeyId: string; secretAccessKey: string };
  readonly accountId: string;
  /** The port every instance's sshd listens on (its address differs per instance). */
  readonly sshPort: number;
  /** The user the guests accept logins for. */
  readonly sshUser: string;
  readonly faults: Ec2Faults;
  /** Calls per action, failed and throttled ones included. */
  readonly calls: Readonly<Record<string, number>>;
  /** Error answers per code (RequestLimitExceeded, InsufficientInstanceCapacity, …). */
  readonly errors: Readonly<Record<string, number>>;
  /** Sum of `calls`. */
  totalCalls(): number;
  /** Zeroes `calls` and `errors`. */
  resetCalls(): void;
  instances(): EmulatedInstance[];
  /** Instances not yet `terminated` (pending, running or shutting-down). */
  liveInstances(): EmulatedInstance[];
  keyPairs(): EmulatedKeyPair[];
  images(): EmulatedImage[];
  addImage(image: EmulatedImage): void;
  /**
   * Reclaims a spot instance now, as EC2 does: state-reason `Server.SpotInstanceTermination`,
   * its sshd and every session killed, then terminated.
   */
  interruptSpot(instanceId: string): Promise<void>;
  /** Waits until every guest process started so far has exited. */
  settled(): Promise<void>;
  /** Kills every guest and closes the server. */
  stop(): Promise<void>;
}

const DEFAULT_INSTANCE_TYPES = [
  't2.micro',
  't2.small',
  't2.medium',
  't3.micro',
  't3.small',
  't3.medium',
  't3.large',
  't3a.medium',
  'm5.large',
  'm5.xlarge',
  'm6g.large',
  'm6g.xlarge',
  'm6g.2xlarge',
  'm6g.4xlarge',
  'c5.large',
  'c5.xlarge',
];

class Ec2ApiError extends Error {
  readonly code: string;
  readonly status: number;
  constructor(code: string, message: string, status = statusForCode(code)) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

interface InstanceRecord {
  data: EmulatedInstance;
  guest?: Ec2Guest;
  booting?: Promise<void>;
  timers: NodeJS.Timeout[];
  runningAt?: number;
}

interface Reservation {
  reservationId: string;
  instanceIds: string[];
  fingerprint: string;
}

function hex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

/** Starts an EC2 API emulator on 127.0.0.1; see `Ec2EmulatorOptions`. */
export async function startEc2Emulator(options: Ec2EmulatorOptions = {}): Promise<Ec2Emulator> {
  const region = options.region ?? 'us-east-1';
  const accountId = options.accountId ?? '123456789012';
  const credentials = options.credentials ?? {
    accessKeyId: 'AKIAEMULATOR',
    secretAccessKey: 'emulator-secret',
  };
  const bootDelayMs = options.bootDelayMs ?? 0;
  const sshDelayMs = options.sshDelayMs ?? 0;
  const terminateDelayMs = options.terminateDelayMs ?? 0;
  const instanceTypes = new Set(options.instanceTypes ?? DEFAULT_INSTANCE_TYPES);
  const bootGuest = options.bootGuest ?? ec2SshdGuestBooter;
  const faults = new Ec2Faults();
  const calls: Record<string, number> = {};
  const errors: Record<string, number> = {};
  const images = new Map<string, EmulatedImage>();
  const keyPairs = new Map<string, EmulatedKeyPair>();
  const instances = new Map<string, InstanceRecord>();
  const reservations = new Map<string, Reservation>();
  const clientTokens = new Map<string, Reservation>();
  const guestStops = new Set<Promise<void>>();
  let stopped = false;

  for (const image of options.images ?? defaultImages(accountId)) images.set(image.imageId, image);

  // Every instance gets its own 127.a.b.c address; all share one SSH port, free on 127.0.0.1.
  const sshPort = await freePort();
  const addressBase = [64 + Math.floor(Math.random() * 190), Math.floor(Math.random() * 256)] as const;
  let nextHost = 0;
  const allocateAddress = () => {
    nextHost += 1;
    const third = Math.floor(nextHost / 254);
    const fourth = (nextHost % 254) + 1;
    return `127.${addressBase[0]}.${(addressBase[1] + third) % 256}.${fourth}`;
  };

  // ---- instance lifecycle -------------------------------------------------------------------

  const setState = (record: InstanceRecord, state: InstanceStateName) => {
    record.data.state = state;
    if (state === 'running') record.runningAt = Date.now();
  };

  const stopGuest = (record: InstanceRecord) => {
    const guest = record.guest;
    record.guest = undefined;
    record.data.sshUp = false;
    if (!guest) return;
    const stopping = guest.stop().catch(() => {});
    guestStops.add(stopping);
    void stopping.finally(() => guestStops.delete(stopping));
  };

  const later = (record: InstanceRecord, ms: number, fn: () => void) => {
    const timer = setTimeout(fn, ms);
    timer.unref();
    record.timers.push(timer);
  };

  const boot = (record: InstanceRecord, keyPair: EmulatedKeyPair | undefined) => {
    const stuck = faults.stuckInPending;
    const sshNeverUp = faults.sshNeverUp;
    const forged = faults.forgedConsoleHostKeys;
    const interruptAfter = record.data.market === 'spot' ? faults.spotInterruptionAfterMs : undefined;
    const started = Date.now();
    const bootLog = `[    0.000000] Linux version 6.1.0-emulated (ec2-emulator)\r\nCloud-init v. 23.1 running 'init' at ${new Date().toUTCString()}\r\n`;
    record.data.consoleOutput = bootLog;
    if (stuck) return;
    const becomeRunning = () => {
      if (record.data.state !== 'pending') return;
      setState(record, 'running');
      if (interruptAfter !== undefined) later(record, interruptAfter, () => void interrupt(record));
    };
    if (sshNeverUp) {
      later(record, bootDelayMs, becomeRunning);
      return;
    }
    const startSshd = async () => {
      const guest = await bootGuest({
        addresses: [
          record.data.privateIpAddress,
          ...(record.data.publicIpAddress ? [record.data.publicIpAddress] : []),
        ],
        port: sshPort,
        authorizedKeys: keyPair ? [keyPair.publicKey] : [],
        name: record.data.instanceId,
      });
      if (record.data.state === 'shutting-down' || record.data.state === 'terminated' || stopped) {
        record.guest = guest;
        stopGuest(record);
        return;
      }
      record.guest = guest;
      record.data.sshUp = true;
      const printed = forged
        ? guest.hostPublicKeys.map(
            () => generateKeyMaterial('ed25519', `root@${record.data.instanceId}`).publicKey,
          )
        : guest.hostPublicKeys;
      record.data.consoleOutput +=
        `ec2: #############################################################\r\n` +
        `-----BEGIN SSH HOST KEY KEYS-----\r\n${printed.map((k) => `${k}\r\n`).join('')}` +
        `-----END SSH HOST KEY KEYS-----\r\n` +
        `ec2: #############################################################\r\n` +
        `Cloud-init v. 23.1 finished at ${new Date().toUTCString()}. Datasource DataSourceEc2.\r\n`;
    };
    // Pending lasts bootDelayMs and at least until the machine is up (its sshd started) unless
    // sshd is delayed after running.
    record.booting = (async () => {
      try {
        if (sshDelayMs === 0) {
          await startSshd();
          const remaining = bootDelayMs - (Date.now() - started);
          if (remaining > 0) later(record, remaining, becomeRunning);
          else becomeRunning();
        } else {
          later(record, bootDelayMs, () => {
            becomeRunning();
            later(record, sshDelayMs, () => {
              if (record.data.state === 'running') record.booting = startSshd().catch(bootFailed);
            });
          });
        }
      } catch (error) {
        bootFailed(error);
      }
    })();
    function bootFailed(error: unknown) {
      record.data.consoleOutput += `ec2-emulator: guest failed to boot: ${String(error)}\r\n`;
    }
  };

  const terminate = (
    record: InstanceRecord,
    reason: { code: string; message: string },
    transition: string,
  ) => {
    if (record.data.state === 'terminated' || record.data.state === 'shutting-down') return;
    for (const timer of record.timers) clearTimeout(timer);
    record.timers = [];
    setState(record, 'shutting-down');
    record.data.stateReason = reason;
    record.data.stateTransitionReason = transition;
    stopGuest(record);
    const finish = () => {
      if (record.data.state === 'shutting-down') setState(record, 'terminated');
    };
    if (terminateDelayMs > 0) later(record, terminateDelayMs, finish);
    else finish();
  };

  const interrupt = async (record: InstanceRecord) => {
    terminate(
      record,
      {
        code: 'Server.SpotInstanceTermination',
        message: 'Server.SpotInstanceTermination: Spot instance termination',
      },
      `Service initiated (${new Date().toISOString()})`,
    );
    await Promise.all([...guestStops]);
  };

  // ---- actions ------------------------------------------------------------------------------

  const requireList = (params: Ec2QueryParams, prefix: string) => params.list(prefix);

  const checkFilters = (filters: Ec2Filter[], known: (name: string) => boolean) => {
    for (const filter of filters) {
      if (!known(filter.name))
        throw new Ec2ApiError('InvalidParameterValue', `The filter '${filter.name}' is invalid`);
    }
  };

  const instanceFilterValues = (data: EmulatedInstance, name: string): string[] | undefined => {
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
  };

  const instanceXml = (data: EmulatedInstance): XmlValue =>
    node({
      instanceId: data.instanceId,
      imageId: data.imageId,
      instanceState: node({ code: INSTANCE_STATE_CODES[data.state], name: data.state }),
      privateDnsName: `ip-${data.privateIpAddress.replaceAll('.', '-')}.ec2.internal`,
      dnsName: data.publicIpAddress
        ? `ec2-${data.publicIpAddress.replaceAll('.', '-')}.compute-1.amazonaws.com`
        : '',
      reason: data.stateTransitionReason,
      keyName: data.keyName,
      amiLaunchIndex: 0,
      productCodes: list([]),
      instanceType: data.instanceType,
      launchTime: data.launchTime,
      placement: node({ availabilityZone: `${region}a`, groupName: '', tenancy: 'default' }),
      monitoring: node({ state: 'disabled' }),
      subnetId: data.subnetId,
      vpcId: data.subnetId ? 'vpc-emulated' : undefined,
      privateIpAddress: data.state === 'terminated' ? undefined : data.privateIpAddress,
      ipAddress:
        data.state === 'running' || data.state === 'shutting-down' ? data.publicIpAddress : undefined,
      groupSet: list(data.securityGroupIds.map((groupId) => node({ groupId, groupName: groupId }))),
      stateReason: data.stateReason ? node(data.stateReason) : undefined,
      architecture: 'x86_64',
      rootDeviceType: 'ebs',
      rootDeviceName: '/dev/sda1',
      blockDeviceMapping: list(
        data.state === 'terminated'
          ? []
          : data.blockDevices.map((device, index) =>
              node({
                deviceName: device.deviceName,
                ebs: node({
                  volumeId: `vol-${createHash('sha1').update(`${data.instanceId}${index}`).digest('hex').slice(0, 17)}`,
                  status: 'attached',
                  attachTime: data.launchTime,
                  deleteOnTermination: device.deleteOnTermination ?? true,
                }),
              }),
            ),
      ),
      instanceLifecycle: data.market === 'spot' ? 'spot' : undefined,
      virtualizationType: 'hvm',
      clientToken: data.clientToken,
      tagSet: tagSet(data.tags),
      hypervisor: 'xen',
      iamInstanceProfile: data.iamInstanceProfile
        ? node({
            arn:
              data.iamInstanceProfile.arn ??
              `arn:aws:iam::${accountId}:instance-profile/${data.iamInstanceProfile.name ?? ''}`,
            id: 'AIPAEMULATED',
          })
        : undefined,
      ebsOptimized: data.ebsOptimized,
      metadataOptions: node({
        state: 'applied',
        httpTokens: data.metadataHttpTokens ?? 'optional',
        httpPutResponseHopLimit: 1,
        httpEndpoint: 'enabled',
      }),
    });

  const reservationXml = (reservation: Reservation, only?: Set<string>): XmlValue =>
    node({
      reservationId: reservation.reservationId,
      ownerId: accountId,
      groupSet: list([]),
      instancesSet: list(
        reservation.instanceIds
          .filter((id) => !only || only.has(id))
          .map((id) => instanceXml(instances.get(id)!.data)),
      ),
    });

  const findKeyPair = (params: Ec2QueryParams): EmulatedKeyPair | undefined => {
    const name = params.get('KeyName');
    const id = params.get('KeyPairId');
    for (const pair of keyPairs.values()) {
      if ((name !== undefined && pair.keyName === name) || (id !== undefined && pair.keyPairId === id))
        return pair;
    }
    return undefined;
  };

  const keyPairTags = (params: Ec2QueryParams) => {
    const types = params.tagSpecificationTypes();
    const bad = types.find((type) => type !== 'key-pair');
    if (bad !== undefined)
      throw new Ec2ApiError(
        'InvalidParameterValue',
        `'${bad}' is not a valid taggable resource type for this operation.`,
      );
    return params.tagSpecification('key-pair');
  };

  const validateTags = (tags: Record<string, string>) => {
    for (const [key, value] of Object.entries(tags)) {
      if (key === '' || key.length > 128)
        throw new Ec2ApiError('InvalidParameterValue', `Tag key '${key}' must be 1 to 128 characters`);
      if (key.toLowerCase().startsWith('aws:'))
        throw new Ec2ApiError(
          'InvalidParameterValue',
          `Tag keys starting with 'aws:' are reserved for internal use`,
        );
      if (value.length > 256)
        throw new Ec2ApiError('InvalidParameterValue', `Tag value for '${key}' exceeds 256 characters`);
    }
    if (Object.keys(tags).length > 50)
      throw new Ec2ApiError('TagLimitExceeded', 'The maximum number of tags per resource is 50');
  };

  const newKeyName = (name: string | undefined) => {
    if (!name) throw new Ec2ApiError('MissingParameter', 'The request must contain the parameter KeyName');
    if (name.length > 255)
      throw new Ec2ApiError('InvalidParameterValue', 'KeyName is longer than 255 characters');
    if ([...keyPairs.values()].some((pair) => pair.keyName === name)) {
      throw new Ec2ApiError('InvalidKeyPair.Duplicate', `The keypair '${name}' already exists.`);
    }
    return name;
  };

  const actions: Record<Ec2Action, (params: Ec2QueryParams) => Record<string, XmlValue>> = {
    RunInstances(params) {
      const imageId = params.get('ImageId');
      if (!imageId)
        throw new Ec2ApiError('MissingParameter', 'The request must contain the parameter ImageId');
      const minCount = params.int('MinCount');
      const maxCount = params.int('MaxCount');
      if (minCount === undefined || maxCount === undefined) {
        throw new Ec2ApiError(
          'MissingParameter',
          'The request must contain the parameters MinCount and MaxCount',
        );
      }
      if (!Number.isInteger(minCount) || !Number.isInteger(maxCount) || minCount < 1 || maxCount < minCount) {
        throw new Ec2ApiError(
          'InvalidParameterValue',
          'MinCount and MaxCount must be positive and MinCount <= MaxCount',
        );
      }
      const clientToken = params.get('ClientToken');
      const fingerprint = createHash('sha256')
        .update(JSON.stringify(params.entries().filter(([key]) => key !== 'ClientToken')))
        .digest('hex');
      if (clientToken !== undefined) {
        const previous = clientTokens.get(clientToken);
        if (previous) {
          if (previous.fingerprint !== fingerprint) {
            throw new Ec2ApiError(
              'IdempotentParameterMismatch',
              'Arguments on this idempotent request are inconsistent with arguments used in previous request(s).',
            );
          }
          return reservationMembers(previous);
        }
        if (clientToken.length > 64)
          throw new Ec2ApiError('InvalidParameterValue', 'ClientToken is longer than 64 characters');
      }
      const image = images.get(imageId);
      if (!image || image.state === 'failed') {
        throw new Ec2ApiError('InvalidAMIID.NotFound', `The image id '[${imageId}]' does not exist`);
      }
      const instanceType = params.get('InstanceType') ?? 'm1.small';
      if (!instanceTypes.has(instanceType)) {
        throw new Ec2ApiError('InvalidParameterValue', `Invalid value '${instanceType}' for InstanceType.`);
      }
      const keyName = params.get('KeyName');
      const keyPair =
        keyName === undefined ? undefined : [...keyPairs.values()].find((pair) => pair.keyName === keyName);
      if (keyName !== undefined && !keyPair) {
        throw new Ec2ApiError('InvalidKeyPair.NotFound', `The key pair '${keyName}' does not exist`);
      }
      const marketType = params.get('InstanceMarketOptions.MarketType');
      if (marketType !== undefined && marketType !== 'spot' && marketType !== 'capacity-block') {
        throw new Ec2ApiError('InvalidParameterValue', `Invalid value '${marketType}' for MarketType.`);
      }
      const market = marketType === 'spot' ? 'spot' : 'on-demand';
      const spotType = params.get('InstanceMarketOptions.SpotOptions.SpotInstanceType');
      if (
        market === 'spot' &&
        spotType === 'persistent' &&
        params.get('InstanceMarketOptions.SpotOptions.InstanceInterruptionBehavior') === 'terminate'
      ) {
        throw new Ec2ApiError(
          'InvalidParameterCombination',
          'A persistent spot request cannot terminate on interruption.',
        );
      }
      const shutdownBehavior = params.get('InstanceInitiatedShutdownBehavior') ?? 'stop';
      if (shutdownBehavior !== 'stop' && shutdownBehavior !== 'terminate') {
        throw new Ec2ApiError(
          'InvalidParameterValue',
          `Invalid value '${shutdownBehavior}' for InstanceInitiatedShutdownBehavior.`,
        );
      }
      if (market === 'spot' && shutdownBehavior === 'stop' && spotType !== 'persistent') {
        throw new Ec2ApiError(
          'InvalidParameterCombination',
          "One-time spot instances must use InstanceInitiatedShutdownBehavior 'terminate'.",
        );
      }
      const cpuCredits = params.get('CreditSpecification.CpuCredits');
      if (cpuCredits !== undefined) {
        if (cpuCredits !== 'standard' && cpuCredits !== 'unlimited') {
          throw new Ec2ApiError('InvalidParameterValue', `Invalid value '${cpuCredits}' for CpuCredits.`);
        }
        if (!/^t\d/.test(instanceType)) {
          throw new Ec2ApiError(
            'InvalidParameterCombination',
            `The instance type ${instanceType} does not support CPU credits.`,
          );
        }
      }
      const httpTokens = params.get('MetadataOptions.HttpTokens');
      if (httpTokens !== undefined && httpTokens !== 'optional' && httpTokens !== 'required') {
        throw new Ec2ApiError('InvalidParameterValue', `Invalid value '${httpTokens}' for HttpTokens.`);
      }
      const rawUserData = params.get('UserData');
      let userData: string | undefined;
      if (rawUserData !== undefined) {
        if (!/^[A-Za-z0-9+/]*={0,2}$/.test(rawUserData))
          throw new Ec2ApiError('InvalidParameterValue', 'Invalid BASE64 encoding of user data.');
        if (rawUserData.length > 21_848)
          throw new Ec2ApiError('InvalidParameterValue', 'User data is limited to 16384 bytes');
        userData = Buffer.from(rawUserData, 'base64').toString('utf8');
      }
      const interfaces = params.indexes('NetworkInterface');
      const interfaceBase = interfaces[0];
      const subnetId =
        params.get('SubnetId') ?? (interfaceBase ? params.get(`${interfaceBase}.SubnetId`) : undefined);
      const groups = [
        ...params.list('SecurityGroupId'),
        ...params.list('SecurityGroup'),
        ...(interfaceBase ? params.list(`${interfaceBase}.SecurityGroupId`) : []),
      ];
      if (interfaceBase && (params.has('SubnetId') || params.list('SecurityGroupId').length > 0)) {
        throw new Ec2ApiError(
          'InvalidParameterCombination',
          'Network interfaces and an instance-level subnet ID or security groups may not be specified on the same request',
        );
      }
      for (const group of groups) {
        if (!/^sg-[0-9a-f]+$/.test(group) && group !== 'default') {
          throw new Ec2ApiError('InvalidGroup.NotFound', `The security group '${group}' does not exist`);
        }
      }
      if (subnetId !== undefined && !/^subnet-[0-9a-f]+$/.test(subnetId)) {
        throw new Ec2ApiError('InvalidSubnetID.NotFound', `The subnet ID '${subnetId}' does not exist`);
      }
      const associatePublic = interfaceBase
        ? params.bool(`${interfaceBase}.AssociatePublicIpAddress`)
        : undefined;
      const blockDevices = params.indexes('BlockDeviceMapping').map((base) => {
        const size = params.int(`${base}.Ebs.VolumeSize`);
        if (size !== undefined && (!Number.isInteger(size) || size < 1 || size > 16_384)) {
          throw new Ec2ApiError('InvalidParameterValue', `Volume of size ${String(size)}GB is out of range.`);
        }
        return {
          deviceName: params.get(`${base}.DeviceName`) ?? '/dev/sda1',
          ...(size !== undefined ? { volumeSize: size } : {}),
          ...(params.has(`${base}.Ebs.VolumeType`)
            ? { volumeType: params.get(`${base}.Ebs.VolumeType`)! }
            : {}),
          ...(params.has(`${base}.Ebs.DeleteOnTermination`)
            ? { deleteOnTermination: params.bool(`${base}.Ebs.DeleteOnTermination`)! }
            : {}),
        };
      });
      for (const type of params.tagSpecificationTypes()) {
        if (!['instance', 'volume', 'network-interface', 'spot-instances-request'].includes(type)) {
          throw new Ec2ApiError(
            'InvalidParameterValue',
            `'${type}' is not a valid taggable resource type for this operation.`,
          );
        }
      }
      const tags = params.tagSpecification('instance');
      validateTags(tags);
      const profileName = params.get('IamInstanceProfile.Name');
      const profileArn = params.get('IamInstanceProfile.Arn');
      if (faults.isUnsupported(instanceType)) {
        throw new Ec2ApiError(
          'Unsupported',
          `Your requested instance type (${instanceType}) is not supported in your requested Availability Zone (${region}a).`,
        );
      }
      if (faults.lacksCapacity(instanceType, market)) {
        throw new Ec2ApiError(
          'InsufficientInstanceCapacity',
          `We currently do not have sufficient ${instanceType} capacity${market === 'spot' ? ' for Spot' : ''} in the Availability Zone you requested (${region}a).`,
        );
      }
      const reservation: Reservation = {
        reservationId: `r-${hex(8).slice(0, 17)}`,
        instanceIds: [],
        fingerprint,
      };
      for (let i = 0; i < maxCount; i++) {
        const privateIpAddress = allocateAddress();
        const record: InstanceRecord = {
          timers: [],
          data: {
            instanceId: `i-${hex(9).slice(0, 17)}`,
            reservationId: reservation.reservationId,
            imageId,
            instanceType,
            ...(keyName !== undefined ? { keyName } : {}),
            state: 'pending',
            stateTransitionReason: '',
            market,
            privateIpAddress,
            // The guest's sshd listens on both, so a client's choice of address is observable.
            ...(associatePublic !== false ? { publicIpAddress: allocateAddress() } : {}),
            ...(subnetId !== undefined ? { subnetId } : {}),
            securityGroupIds: groups.length > 0 ? groups : ['default'],
            tags: { ...tags },
            ...(userData !== undefined ? { userData } : {}),
            ebsOptimized: params.bool('EbsOptimized') ?? false,
            ...(profileName !== undefined || profileArn !== undefined
              ? {
                  iamInstanceProfile: {
                    ...(profileName ? { name: profileName } : {}),
                    ...(profileArn ? { arn: profileArn } : {}),
                  },
                }
              : {}),
            ...(cpuCredits !== undefined ? { cpuCredits } : {}),
            ...(httpTokens !== undefined ? { metadataHttpTokens: httpTokens } : {}),
            shutdownBehavior,
            blockDevices,
            ...(clientToken !== undefined ? { clientToken } : {}),
            launchTime: new Date(),
            sshPort,
            sshUp: false,
            consoleOutput: '',
          },
        };
        instances.set(record.data.instanceId, record);
        reservation.instanceIds.push(record.data.instanceId);
        boot(record, keyPair);
      }
      reservations.set(reservation.reservationId, reservation);
      if (clientToken !== undefined) clientTokens.set(clientToken, reservation);
      if (bootDelayMs === 0 && sshDelayMs === 0) {
        // Instant boot: answer (still "pending", as EC2 does) once the guests are up.
        answerAfter = Promise.all(reservation.instanceIds.map((id) => instances.get(id)?.booting));
      }
      return reservationMembers(reservation);
    },

    DescribeInstances(params) {
      const ids = requireList(params, 'InstanceId');
      const filters = params.filters();
      checkFilters(filters, (name) => instanceFilterValues(firstInstanceShape, name) !== undefined);
      for (const id of ids) {
        if (!instances.has(id))
          throw new Ec2ApiError('InvalidInstanceID.NotFound', `The instance ID '${id}' does not exist`);
      }
      const wanted = new Set(ids);
      const selected = new Set<string>();
      for (const record of instances.values()) {
        if (wanted.size > 0 && !wanted.has(record.data.instanceId)) continue;
        if (!matchesFilters(filters, (name) => instanceFilterValues(record.data, name))) continue;
        selected.add(record.data.instanceId);
      }
      const matching = [...reservations.values()].filter((r) => r.instanceIds.some((id) => selected.has(id)));
      // Pagination by reservation, as EC2 does when MaxResults is given.
      const maxResults = params.int('MaxResults');
      if (maxResults !== undefined && ids.length > 0) {
        throw new Ec2ApiError(
          'InvalidParameterCombination',
          'The parameter instancesSet cannot be used with the parameter maxResults',
        );
      }
      if (
        maxResults !== undefined &&
        (!Number.isInteger(maxResults) || maxResults < 5 || maxResults > 1000)
      ) {
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
        reservationSet: list(page.map((r) => reservationXml(r, selected))),
        nextToken: next === undefined ? undefined : Buffer.from(String(next)).toString('base64'),
      };
    },

    TerminateInstances(params) {
      const ids = requireList(params, 'InstanceId');
      if (ids.length === 0)
        throw new Ec2ApiError('MissingParameter', 'The request must contain the parameter InstanceId');
      for (const id of ids) {
        if (!instances.has(id))
          throw new Ec2ApiError('InvalidInstanceID.NotFound', `The instance ID '${id}' does not exist`);
      }
      return {
        instancesSet: list(
          ids.map((id) => {
            const record = instances.get(id)!;
            const previous = record.data.state;
            terminate(
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
    },

    CreateKeyPair(params) {
      const keyName = newKeyName(params.get('KeyName'));
      const keyType = params.get('KeyType') ?? 'rsa';
      if (keyType !== 'rsa' && keyType !== 'ed25519')
        throw new Ec2ApiError('InvalidParameterValue', `Invalid value '${keyType}' for KeyType.`);
      const format = params.get('KeyFormat') ?? 'pem';
      if (format !== 'pem')
        throw new Ec2ApiError(
          'Unsupported',
          `The emulator only returns pem key material (asked for ${format}).`,
        );
      const tags = keyPairTags(params);
      validateTags(tags);
      const material = generateKeyMaterial(keyType, keyName);
      const pair: EmulatedKeyPair = {
        keyPairId: `key-${hex(9).slice(0, 17)}`,
        keyName,
        keyType,
        fingerprint: material.fingerprint,
        publicKey: material.publicKey,
        privateKey: material.privateKey,
        tags,
        createTime: new Date(),
        imported: false,
      };
      keyPairs.set(pair.keyPairId, pair);
      return {
        keyName,
        keyFingerprint: pair.fingerprint,
        keyMaterial: material.privateKey,
        keyPairId: pair.keyPairId,
        tagSet: tagSet(tags),
      };
    },

    ImportKeyPair(params) {
      const keyName = newKeyName(params.get('KeyName'));
      const material = params.get('PublicKeyMaterial');
      if (!material)
        throw new Ec2ApiError('MissingParameter', 'The request must contain the parameter PublicKeyMaterial');
      const parsed = parseImportedPublicKey(material);
      if (!parsed)
        throw new Ec2ApiError('InvalidKey.Format', 'Key is not in valid OpenSSH public key format');
      const tags = keyPairTags(params);
      validateTags(tags);
      const pair: EmulatedKeyPair = {
        keyPairId: `key-${hex(9).slice(0, 17)}`,
        keyName,
        keyType: parsed.type,
        fingerprint: parsed.fingerprint,
        publicKey: parsed.publicKey,
        tags,
        createTime: new Date(),
        imported: true,
      };
      keyPairs.set(pair.keyPairId, pair);
      return { keyFingerprint: pair.fingerprint, keyName, keyPairId: pair.keyPairId, tagSet: tagSet(tags) };
    },

    DeleteKeyPair(params) {
      if (!params.has('KeyName') && !params.has('KeyPairId')) {
        throw new Ec2ApiError(
          'MissingParameter',
          'The request must contain the parameter KeyName or KeyPairId',
        );
      }
      // EC2 answers success for a name that does not exist (deletion is idempotent).
      const pair = findKeyPair(params);
      if (pair) keyPairs.delete(pair.keyPairId);
      return { return: true, keyPairId: pair?.keyPairId };
    },

    DescribeKeyPairs(params) {
      const names = params.list('KeyName');
      const ids = params.list('KeyPairId');
      const filters = params.filters();
      const valuesOf = (pair: EmulatedKeyPair, name: string): string[] | undefined =>
        tagFilterValues(name, pair.tags) ??
        (
          {
            'key-name': [pair.keyName],
            'key-pair-id': [pair.keyPairId],
            fingerprint: [pair.fingerprint],
            'key-type': [pair.keyType],
          } as Record<string, string[]>
        )[name];
      checkFilters(
        filters,
        (name) =>
          name.startsWith('tag:') ||
          name === 'tag-key' ||
          name === 'tag-value' ||
          ['key-name', 'key-pair-id', 'fingerprint', 'key-type'].includes(name),
      );
      for (const name of names) {
        if (![...keyPairs.values()].some((pair) => pair.keyName === name)) {
          throw new Ec2ApiError('InvalidKeyPair.NotFound', `The key pair '${name}' does not exist`);
        }
      }
      for (const id of ids) {
        if (!keyPairs.has(id))
          throw new Ec2ApiError('InvalidKeyPair.NotFound', `The key pair '${id}' does not exist`);
      }
      const includePublicKey = params.bool('IncludePublicKey') ?? false;
      const selected = [...keyPairs.values()].filter(
        (pair) =>
          (names.length === 0 || names.includes(pair.keyName)) &&
          (ids.length === 0 || ids.includes(pair.keyPairId)) &&
          matchesFilters(filters, (name) => valuesOf(pair, name)),
      );
      return {
        keySet: list(
          selected.map((pair) =>
            node({
              keyPairId: pair.keyPairId,
              keyName: pair.keyName,
              keyFingerprint: pair.fingerprint,
              keyType: pair.keyType,
              tagSet: tagSet(pair.tags),
              publicKey: includePublicKey ? pair.publicKey : undefined,
              createTime: pair.createTime,
            }),
          ),
        ),
      };
    },

    DescribeImages(params) {
      const ids = params.list('ImageId');
      const owners = params.list('Owner');
      const filters = params.filters();
      const valuesOf = (image: EmulatedImage, name: string): string[] | undefined =>
        tagFilterValues(name, image.tags ?? {}) ??
        (
          {
            name: [image.name],
            'image-id': [image.imageId],
            state: [image.state ?? 'available'],
            architecture: [image.architecture ?? 'x86_64'],
            'owner-id': [image.ownerId],
            'owner-alias': image.ownerAlias ? [image.ownerAlias] : [],
            'is-public': [String(image.isPublic ?? false)],
            'image-type': ['machine'],
            'root-device-type': ['ebs'],
            'virtualization-type': ['hvm'],
          } as Record<string, string[]>
        )[name];
      checkFilters(filters, (name) => valuesOf(defaultImages(accountId)[0]!, name) !== undefined);
      for (const id of ids) {
        if (!/^ami-[0-9a-f]+$/.test(id))
          throw new Ec2ApiError('InvalidAMIID.Malformed', `Invalid id: "${id}"`);
      }
      const ownerMatches = (image: EmulatedImage) =>
        owners.length === 0 ||
        owners.some(
          (owner) =>
            owner === image.ownerId ||
            (owner === 'self' && image.ownerId === accountId) ||
            (image.ownerAlias !== undefined && owner === image.ownerAlias),
        );
      const selected = [...images.values()].filter(
        (image) =>
          (ids.length === 0 || ids.includes(image.imageId)) &&
          ownerMatches(image) &&
          (ids.length > 0 || owners.length > 0 || image.isPublic || image.ownerId === accountId) &&
          matchesFilters(filters, (name) => valuesOf(image, name)),
      );
      return {
        imagesSet: list(
          selected.map((image) =>
            node({
              imageId: image.imageId,
              imageLocation: `${image.ownerId}/${image.name}`,
              imageState: image.state ?? 'available',
              imageOwnerId: image.ownerId,
              creationDate: image.creationDate,
              isPublic: image.isPublic ?? false,
              architecture: image.architecture ?? 'x86_64',
              imageType: 'machine',
              imageOwnerAlias: image.ownerAlias,
              name: image.name,
              description: image.description,
              rootDeviceType: 'ebs',
              rootDeviceName: '/dev/sda1',
              blockDeviceMapping: list([
                node({
                  deviceName: '/dev/sda1',
                  ebs: node({ volumeSize: 8, deleteOnTermination: true, volumeType: 'gp3' }),
                }),
              ]),
              virtualizationType: 'hvm',
              tagSet: tagSet(image.tags ?? {}),
              hypervisor: 'xen',
            }),
          ),
        ),
      };
    },

    CreateTags(params) {
      const ids = params.list('ResourceId');
      if (ids.length === 0)
        throw new Ec2ApiError('MissingParameter', 'The request must contain the parameter ResourceId');
      const tags = params.tags('Tag');
      for (const id of ids) {
        const target = instances.get(id)?.data ?? keyPairs.get(id) ?? images.get(id);
        if (!target) {
          const code = id.startsWith('i-')
            ? 'InvalidInstanceID.NotFound'
            : id.startsWith('key-')
              ? 'InvalidKeyPair.NotFound'
              : 'InvalidID';
          throw new Ec2ApiError(code, `The ID '${id}' does not exist`);
        }
        const merged = { ...(target.tags ?? {}), ...tags };
        validateTags(merged);
        target.tags = merged;
      }
      return { return: true };
    },

    GetConsoleOutput(params) {
      const id = params.get('InstanceId');
      if (!id) throw new Ec2ApiError('MissingParameter', 'The request must contain the parameter InstanceId');
      const record = instances.get(id);
      if (!record)
        throw new Ec2ApiError('InvalidInstanceID.NotFound', `The instance ID '${id}' does not exist`);
      return {
        instanceId: id,
        timestamp: new Date(),
        output:
          record.data.consoleOutput === ''
            ? undefined
            : Buffer.from(record.data.consoleOutput).toString('base64'),
      };
    },

    DescribeInstanceTypes(params) {
      const asked = params.list('InstanceType');
      for (const type of asked) {
        if (!instanceTypes.has(type))
          throw new Ec2ApiError(
            'InvalidInstanceType',
            `The following supplied instance types do not exist: [${type}]`,
          );
      }
      const selected = asked.length > 0 ? asked : [...instanceTypes];
      return {
        instanceTypeSet: list(
          selected.map((instanceType) =>
            node({
              instanceType,
              currentGeneration: true,
              burstablePerformanceSupported: /^t\d/.test(instanceType),
              supportedUsageClasses: list(['on-demand', 'spot']),
              processorInfo: node({
                supportedArchitectures: list([instanceType.startsWith('m6g') ? 'arm64' : 'x86_64']),
              }),
            }),
          ),
        ),
      };
    },
  };

  const firstInstanceShape: EmulatedInstance = {
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
    sshPort,
    sshUp: false,
    consoleOutput: '',
  };

  function reservationMembers(reservation: Reservation): Record<string, XmlValue> {
    return {
      reservationId: reservation.reservationId,
      ownerId: accountId,
      groupSet: list([]),
      instancesSet: list(reservation.instanceIds.map((id) => instanceXml(instances.get(id)!.data))),
    };
  }

  // ---- HTTP ---------------------------------------------------------------------------------

  const authorize = (header: string | undefined) => {
    const match = /Credential=([^/]+)\/\d{8}\/([^/]+)\/ec2\/aws4_request/.exec(header ?? '');
    if (!match)
      throw new Ec2ApiError(
        'AuthFailure',
        'AWS was not able to validate the provided access credentials',
        401,
      );
    if (match[1] !== credentials.accessKeyId) {
      throw new Ec2ApiError(
        'AuthFailure',
        'AWS was not able to validate the provided access credentials',
        401,
      );
    }
    if (match[2] !== region) {
      throw new Ec2ApiError(
        'AuthFailure',
        `Credential should be scoped to a valid region, not '${match[2]}'.`,
        401,
      );
    }
  };

  let answerAfter: Promise<unknown> | undefined;

  const handle = async (
    request: http.IncomingMessage,
    body: string,
  ): Promise<{ status: number; xml: string }> => {
    const requestId = randomUUID();
    try {
      if (request.method !== 'POST')
        throw new Ec2ApiError('InvalidAction', 'Only POST is supported by the emulator');
      const params = new Ec2QueryParams(body);
      const action = params.action ?? '';
      calls[action] = (calls[action] ?? 0) + 1;
      if (!(EC2_ACTIONS as readonly string[]).includes(action)) {
        throw new Ec2ApiError('InvalidAction', `The action ${action} is not valid for this web service.`);
      }
      if (params.version !== '2016-11-15') {
        throw new Ec2ApiError('InvalidParameterValue', `Unsupported API version ${String(params.version)}`);
      }
      authorize(request.headers.authorization);
      if (!faults.takeThrottleToken())
        throw new Ec2ApiError('RequestLimitExceeded', 'Request limit exceeded.');
      const failure = faults.takeFailure(action);
      if (failure) {
        throw new Ec2ApiError(
          failure.code,
          failure.message ?? failure.code,
          failure.status ?? statusForCode(failure.code),
        );
      }
      answerAfter = undefined;
      const members = actions[action as Ec2Action](params);
      const xml = responseXml(action, requestId, members);
      const after = answerAfter as Promise<unknown> | undefined;
      answerAfter = undefined;
      if (after) await after;
      return { status: 200, xml };
    } catch (error) {
      if (error instanceof Ec2ApiError) {
        errors[error.code] = (errors[error.code] ?? 0) + 1;
        return { status: error.status, xml: errorXml(error.code, error.message, requestId) };
      }
      errors.InternalError = (errors.InternalError ?? 0) + 1;
      return { status: 500, xml: errorXml('InternalError', `emulator bug: ${String(error)}`, requestId) };
    }
  };

  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      void handle(request, Buffer.concat(chunks).toString('utf8')).then(({ status, xml }) => {
        response.writeHead(status, {
          'content-type': 'text/xml;charset=UTF-8',
          'content-length': Buffer.byteLength(xml),
        });
        response.end(xml);
      });
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  const snapshot = (data: EmulatedInstance): EmulatedInstance => structuredClone(data);

  return {
    endpoint: `http://127.0.0.1:${port}`,
    region,
    credentials,
    accountId,
    sshPort,
    sshUser: guestUser(),
    faults,
    calls,
    errors,
    totalCalls: () => Object.values(calls).reduce((sum, n) => sum + n, 0),
    resetCalls() {
      for (const key of Object.keys(calls)) delete calls[key];
      for (const key of Object.keys(errors)) delete errors[key];
    },
    instances: () => [...instances.values()].map((record) => snapshot(record.data)),
    liveInstances: () =>
      [...instances.values()]
        .filter((record) => record.data.state !== 'terminated')
        .map((record) => snapshot(record.data)),
    keyPairs: () => [...keyPairs.values()].map((pair) => structuredClone(pair)),
    images: () => [...images.values()].map((image) => structuredClone(image)),
    addImage(image) {
      images.set(image.imageId, image);
    },
    async interruptSpot(instanceId) {
      const record = instances.get(instanceId);
      if (!record) throw new Error(`no instance ${instanceId}`);
      if (record.data.market !== 'spot') throw new Error(`${instanceId} is not a spot instance`);
      await interrupt(record);
    },
    async settled() {
      await Promise.all([...instances.values()].map((record) => record.booting));
      await Promise.all([...guestStops]);
    },
    async stop() {
      stopped = true;
      for (const record of instances.values()) {
        for (const timer of record.timers) clearTimeout(timer);
        record.timers = [];
      }
      await Promise.all([...instances.values()].map((record) => record.booting?.catch(() => {})));
      for (const record of instances.values()) stopGuest(record);
      await Promise.all([...guestStops]);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function guestUser(): string {
  return process.env.USER ?? (process.getuid?.() === 0 ? 'root' : 'root');
}

function defaultImages(accountId: string): EmulatedImage[] {
  return [
    {
      imageId: 'ami-0a1b2c3d4e5f60718',
      name: 'workerkit-ubuntu-jammy-20260101',
      ownerId: accountId,
      creationDate: new Date('2026-01-01T00:00:00Z'),
      description: 'workerkit build image (emulated), older',
    },
    {
      imageId: 'ami-0f1e2d3c4b5a69788',
      name: 'workerkit-ubuntu-jammy-20260301',
      ownerId: accountId,
      creationDate: new Date('2026-03-01T00:00:00Z'),
      description: 'workerkit build image (emulated), newest',
    },
    {
      imageId: 'ami-0123456789abcdef0',
      name: 'amzn2-ami-hvm-2.0.20260101-x86_64-gp2',
      ownerId: '137112412989',
      ownerAlias: 'amazon',
      isPublic: true,
      creationDate: new Date('2026-01-01T00:00:00Z'),
    },
  ];
}

/** A port free on 127.0.0.1 (and, in practice, on the other loopback addresses). */
async function freePort(): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

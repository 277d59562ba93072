export type InstanceStateName =
  | 'pending'
  | 'running'
  | 'shutting-down'
  | 'terminated'
  | 'stopping'
  | 'stopped';

export const INSTANCE_STATE_CODES: Readonly<Record<InstanceStateName, number>> = {
  pending: 0,
  running: 16,
  'shutting-down': 32,
  terminated: 48,
  stopping: 64,
  stopped: 80,
};

/** An AMI the emulator knows. */
export interface EmulatedImage {
  imageId: string;
  name: string;
  /** Account id; `amazon` images also carry ownerAlias "amazon". */
  ownerId: string;
  ownerAlias?: string;
  creationDate: Date;
  /** Default x86_64; RunInstances refuses an instance type of another architecture. */
  architecture?: 'x86_64' | 'arm64';
  /** Default /dev/sda1 (Ubuntu); Amazon Linux uses /dev/xvda. */
  rootDeviceName?: string;
  /** Size of the root snapshot in GiB (default 8): the smallest root volume RunInstances accepts. */
  rootVolumeSize?: number;
  /** The user cloud-init gives the key pair's key (default "ubuntu"). */
  defaultUser?: string;
  /** Users the image already has, without keys (a Travis build image has "travis"). */
  users?: readonly string[];
  state?: 'available' | 'pending' | 'failed';
  isPublic?: boolean;
  tags?: Record<string, string>;
  description?: string;
}

export interface EmulatedKeyPair {
  keyPairId: string;
  keyName: string;
  keyType: 'ed25519' | 'rsa';
  fingerprint: string;
  /** The OpenSSH public key line. */
  publicKey: string;
  /** Set for CreateKeyPair pairs (the emulator generated them). */
  privateKey?: string;
  tags: Record<string, string>;
  createTime: Date;
  imported: boolean;
}

/** What an instance was launched with and where it is now (a snapshot for tests). */
export interface EmulatedInstance {
  instanceId: string;
  reservationId: string;
  imageId: string;
  instanceType: string;
  architecture: 'x86_64' | 'arm64';
  keyName?: string;
  state: InstanceStateName;
  stateReason?: { code: string; message: string };
  stateTransitionReason: string;
  market: 'spot' | 'on-demand';
  privateIpAddress: string;
  publicIpAddress?: string;
  subnetId?: string;
  securityGroupIds: string[];
  tags: Record<string, string>;
  /** The decoded user data, when given. */
  userData?: string;
  ebsOptimized: boolean;
  iamInstanceProfile?: { name?: string; arn?: string };
  cpuCredits?: string;
  metadataHttpTokens?: string;
  shutdownBehavior: 'stop' | 'terminate';
  /** The root volume first (at the image's root device name), then any other mapped volume. */
  blockDevices: EmulatedBlockDevice[];
  clientToken?: string;
  launchTime: Date;
  /** The SSH port every instance of this emulator listens on. */
  sshPort: number;
  /** Whether its sshd runs. */
  sshUp: boolean;
  /** Everything the guest printed so far (what `GetConsoleOutput Latest` reads on Nitro types). */
  consoleOutput: string;
  /** The output as last posted (what a read without `Latest` sees); empty until the first post. */
  postedConsoleOutput: string;
  /** Until then, calls naming this id answer `InvalidInstanceID.NotFound` (eventual consistency). */
  visibleAt: Date;
  /** Set by a spot interruption notice: `{ action, time }` as instance metadata serves it. */
  spotInstanceAction?: { action: 'terminate' | 'stop'; time: string };
  /** When a `shutdown +N` the guest ran powers it off. */
  scheduledShutdownAt?: Date;
  /** Exit status of the user data script, once it ran (cloud-init runs it once, at first boot). */
  userDataExitCode?: number;
}

export interface EmulatedBlockDevice {
  deviceName: string;
  volumeSize: number;
  volumeType: string;
  iops?: number;
  deleteOnTermination: boolean;
}

export interface EmulatedSubnet {
  subnetId: string;
  vpcId: string;
  availabilityZone: string;
}

export interface EmulatedSecurityGroup {
  groupId: string;
  groupName: string;
  vpcId: string;
}

export type InstanceStateName = 'pending' | 'running' | 'shutting-down' | 'terminated';

export const INSTANCE_STATE_CODES: Readonly<Record<InstanceStateName, number>> = {
  pending: 0,
  running: 16,
  'shutting-down': 32,
  terminated: 48,
};

/** An AMI the emulator knows. */
export interface EmulatedImage {
  imageId: string;
  name: string;
  /** Account id; `amazon` images also carry ownerAlias "amazon". */
  ownerId: string;
  ownerAlias?: string;
  creationDate: Date;
  architecture?: string;
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
  blockDevices: {
    deviceName: string;
    volumeSize?: number;
    volumeType?: string;
    deleteOnTermination?: boolean;
  }[];
  clientToken?: string;
  launchTime: Date;
  /** The SSH port every instance of this emulator listens on. */
  sshPort: number;
  /** Whether its sshd runs. */
  sshUp: boolean;
  consoleOutput: string;
}

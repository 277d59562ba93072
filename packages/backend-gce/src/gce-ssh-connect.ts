import { formatDuration, type Logger, type Progresser, ProviderApiError } from '@workerkit/core';
import { connect, type HostKeyPolicy, type SshConnection } from '@workerkit/ssh';
import type { GceApi, IInstance } from './gce-client.js';
import type { GceOptions } from './gce-options.js';

/** The instance's SSH address: the NAT IP when PUBLIC_IP and PUBLIC_IP_CONNECT, else the internal IP. */
export function connectAddress(options: GceOptions, instance: IInstance): string {
  const nic = instance.networkInterfaces?.[0];
  const natIp = nic?.accessConfigs?.[0]?.natIP;
  const address = options.PUBLIC_IP && options.PUBLIC_IP_CONNECT && natIp ? natIp : nic?.networkIP;
  if (!address) {
    throw new ProviderApiError({
      provider: 'gce',
      operation: 'instances.get',
      message: `instance ${instance.name} has no IP address`,
      retryable: false,
    });
  }
  return address;
}

/** Host keys as the guest agent publishes them (`hostkeys/<type>`); undefined until it has. */
export function hostKeysFromGuestAttributes(
  api: GceApi,
  zone: string,
  name: string,
  signal: AbortSignal | undefined,
): () => Promise<HostKeyPolicy | undefined> {
  let policy: HostKeyPolicy | undefined;
  return async () => {
    if (policy) return policy;
    const items = await api.guestAttributes(zone, name, 'hostkeys/', { signal });
    const publicKeys = items
      .filter((item) => item.namespace === 'hostkeys' && item.key && item.value)
      .map((item) => `${item.key} ${item.value}`);
    if (publicKeys.length > 0) policy = { kind: 'public-keys', publicKeys };
    return policy;
  };
}

/**
 * Waits for the guest's sshd (UPLOAD_RETRIES × UPLOAD_RETRY_SLEEP, each attempt bounded by
 * SSH_DIAL_TIMEOUT) and logs in, accepting only the host keys the guest agent published.
 */
export async function connectToGuest(
  { api, options: o, logger }: { api: GceApi; options: GceOptions; logger: Logger },
  {
    instance,
    zone,
    name,
    privateKey,
    progress,
    signal,
  }: {
    instance: IInstance;
    zone: string;
    name: string;
    privateKey: string;
    progress: Progresser;
    signal: AbortSignal | undefined;
  },
): Promise<SshConnection> {
  const host = connectAddress(o, instance);
  progress.progress({ message: 'waiting for ssh connectivity...', continues: true });
  const sshStart = Date.now();
  const connection = await connect({
    host,
    port: o.SSH_PORT,
    username: o.SSH_USER,
    auth: { privateKey },
    hostKey: hostKeysFromGuestAttributes(api, zone, name, signal),
    ...(signal ? { signal } : {}),
    dialTimeoutMs: o.SSH_DIAL_TIMEOUT,
    readyTimeoutMs: o.UPLOAD_RETRIES * o.UPLOAD_RETRY_SLEEP,
    onAttempt: () => progress.progress({ message: '.', raw: true }),
    logger,
  });
  progress.progress({
    message: `ssh connectivity established (${formatDuration(Date.now() - sshStart)})`,
    state: 'success',
    interrupts: true,
  });
  return connection;
}

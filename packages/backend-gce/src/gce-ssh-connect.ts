import { connect as tcpConnect } from 'node:net';
import { type Logger, type Progresser, ProviderApiError } from '@workerkit/core';
import { connectWithPublishedHostKeys, type SshScriptTarget } from '@workerkit/ssh';
import type { GceApi, IInstance } from './gce-client.js';
import { type HostKeySource, publishedHostKeyReader } from './gce-host-keys.js';
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

/**
 * Waits for the guest's sshd (UPLOAD_RETRIES × UPLOAD_RETRY_SLEEP, each attempt bounded by
 * SSH_DIAL_TIMEOUT) and logs in, accepting only the host keys the guest published — as guest
 * attributes, or on the serial console for images without the guest agent — unless
 * SSH_HOST_KEY_CHECK is `insecure`.
 */
export async function connectToGuest(
  { api, options: o, logger }: { api: GceApi; options: GceOptions; logger: Logger },
  {
    instance,
    zone,
    name,
    image,
    hostKeySources,
    privateKey,
    progress,
    signal,
  }: {
    instance: IInstance;
    zone: string;
    name: string;
    image: string;
    hostKeySources: Map<string, HostKeySource>;
    privateKey: string;
    progress: Progresser;
    signal: AbortSignal | undefined;
  },
): Promise<SshScriptTarget> {
  const host = connectAddress(o, instance);
  const readPublished = publishedHostKeyReader(api, { zone, name, image, sources: hostKeySources });
  let listening = false;
  return connectWithPublishedHostKeys({
    connect: {
      host,
      port: o.SSH_PORT,
      username: o.SSH_USER,
      auth: { privateKey },
      dialTimeoutMs: o.SSH_DIAL_TIMEOUT,
      readyTimeoutMs: o.UPLOAD_RETRIES * o.UPLOAD_RETRY_SLEEP,
      backoff: { initialDelayMs: Math.min(250, o.UPLOAD_RETRY_SLEEP), maxDelayMs: o.UPLOAD_RETRY_SLEEP },
      logger,
    },
    pty: o.PTY,
    hostKeyCheck: o.SSH_HOST_KEY_CHECK,
    // The guest publishes its host keys as sshd comes up: no API call before its port answers.
    readHostKeys: async (callSignal) => {
      listening ||= await portAnswers(host, o.SSH_PORT, o.SSH_DIAL_TIMEOUT);
      return listening ? readPublished(callSignal) : [];
    },
    progress,
    ...(signal ? { signal } : {}),
  });
}

/** Whether a TCP connection to host:port is accepted within `timeoutMs` (closed at once). */
function portAnswers(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host, port });
    const done = (answer: boolean) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

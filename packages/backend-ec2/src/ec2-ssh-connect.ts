import { GetConsoleOutputCommand, type Instance as InstanceDescription } from '@aws-sdk/client-ec2';
import type { Progresser } from '@workerkit/core';
import { connectWithPublishedHostKeys, type SshScriptTarget } from '@workerkit/ssh';
import type { Ec2Context } from './ec2-context.js';

const HOST_KEYS = /-----BEGIN SSH HOST KEY KEYS-----\r?\n([\s\S]*?)-----END SSH HOST KEY KEYS-----/;

/** The host keys cloud-init printed to the console, as `type base64` lines. */
export function hostKeysFromConsoleOutput(output: string): string[] {
  const match = HOST_KEYS.exec(output);
  if (!match) return [];
  return match[1]!
    .split(/\r?\n/)
    .map((line) => line.trim().split(/\s+/).slice(0, 2).join(' '))
    .filter((line) => /^(ssh-|ecdsa-)\S+ [A-Za-z0-9+/]+=*$/.test(line));
}

/**
 * Connects over SSH (public or private address as configured), checking the host key that
 * cloud-init printed to the console unless SSH_HOST_KEY_CHECK=insecure.
 */
export async function connectSsh(
  { api, config, logger }: Ec2Context,
  instance: InstanceDescription,
  privateKey: string,
  progress: Progresser,
  signal?: AbortSignal,
): Promise<SshScriptTarget> {
  const usePublic = config.PUBLIC_IP && config.PUBLIC_IP_CONNECT && instance.PublicIpAddress;
  const host =
    (usePublic ? instance.PublicIpAddress : instance.PrivateIpAddress) ?? instance.PublicIpAddress!;
  const instanceId = instance.InstanceId!;
  return connectWithPublishedHostKeys({
    connect: {
      host,
      port: config.SSH_PORT,
      username: config.SSH_USER,
      auth: { privateKey },
      dialTimeoutMs: config.SSH_DIAL_TIMEOUT,
      readyTimeoutMs: config.UPLOAD_RETRIES * config.UPLOAD_RETRY_SLEEP,
      backoff: {
        initialDelayMs: Math.min(250, config.UPLOAD_RETRY_SLEEP),
        maxDelayMs: config.UPLOAD_RETRY_SLEEP,
      },
      logger,
    },
    command: config.EXEC_CMD,
    hostKeyCheck: config.SSH_HOST_KEY_CHECK === 'insecure' ? 'insecure' : 'published',
    readHostKeys: async (callSignal) => {
      const answer = await api.call(
        'GetConsoleOutput',
        (client, options) =>
          client.send(new GetConsoleOutputCommand({ InstanceId: instanceId, Latest: true }), options),
        { signal: callSignal },
      );
      return hostKeysFromConsoleOutput(Buffer.from(answer.Output ?? '', 'base64').toString('utf8'));
    },
    progress,
    ...(signal ? { signal } : {}),
  });
}

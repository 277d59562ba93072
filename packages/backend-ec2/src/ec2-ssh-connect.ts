import { Socket } from 'node:net';
import type { Instance as InstanceDescription } from '@aws-sdk/client-ec2';
import type { Progresser } from '@workerkit/core';
import { connectWithPublishedHostKeys, type SshScriptTarget } from '@workerkit/ssh';
import { supportsLatestConsoleOutput } from './ec2-architecture.js';
import { connectsPublicly } from './ec2-boot-wait.js';
import type { Ec2Context } from './ec2-context.js';
import { ec2ErrorCode } from './ec2-errors.js';

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
 *
 * The console is read with `Latest` on Nitro types (the output as it is now) and without it on
 * Xen types, where `Latest` is refused and the output is posted only a while after boot. Until
 * the keys appear (empty output, or an id EC2 does not know yet) it is asked again before each
 * connect attempt. It is asked only once port 22 answers (cloud-init has printed the keys by
 * then): while the guest boots, each attempt is a TCP dial and `stillBooting` (which fails the
 * start if the instance went away), not an API call.
 */
export async function connectSsh(
  { api, options: config, logger }: Ec2Context,
  instance: InstanceDescription,
  privateKey: string,
  stillBooting: (signal: AbortSignal | undefined) => Promise<void>,
  progress: Progresser,
  signal?: AbortSignal,
): Promise<SshScriptTarget> {
  const usePublic = connectsPublicly(config) && instance.PublicIpAddress;
  const host =
    (usePublic ? instance.PublicIpAddress : instance.PrivateIpAddress) ?? instance.PublicIpAddress!;
  const instanceId = instance.InstanceId!;
  let latest = supportsLatestConsoleOutput(instance.InstanceType ?? '');
  return connectWithPublishedHostKeys({
    connect: {
      host,
      port: config.SSH_PORT,
      username: config.SSH_USER,
      auth: { privateKey },
      dialTimeoutMs: config.SSH_DIAL_TIMEOUT,
      // The instance may still be pending: its boot counts too.
      readyTimeoutMs: config.BOOT_TIMEOUT + config.UPLOAD_RETRIES * config.UPLOAD_RETRY_SLEEP,
      backoff: {
        initialDelayMs: Math.min(250, config.UPLOAD_RETRY_SLEEP),
        maxDelayMs: config.UPLOAD_RETRY_SLEEP,
      },
      logger,
    },
    command: config.EXEC_CMD,
    pty: config.PTY,
    hostKeyCheck: config.SSH_HOST_KEY_CHECK === 'insecure' ? 'insecure' : 'published',
    readHostKeys: async (callSignal) => {
      if (!(await portAnswers(host, config.SSH_PORT, Math.min(1000, config.SSH_DIAL_TIMEOUT)))) {
        await stillBooting(callSignal);
        return [];
      }
      try {
        const answer = await api.call(
          'GetConsoleOutput',
          (client, options, sdk) =>
            client.send(
              new sdk.GetConsoleOutputCommand({
                InstanceId: instanceId,
                ...(latest ? { Latest: true } : {}),
              }),
              options,
            ),
          { signal: callSignal },
        );
        return hostKeysFromConsoleOutput(Buffer.from(answer.Output ?? '', 'base64').toString('utf8'));
      } catch (error) {
        const code = ec2ErrorCode(error);
        if (code === 'InvalidInstanceID.NotFound') return [];
        if (code === 'UnsupportedOperation' && latest) {
          // A type we took for Nitro is not: read the posted output from now on.
          latest = false;
          return [];
        }
        throw error;
      }
    },
    progress,
    ...(signal ? { signal } : {}),
  });
}

/** Whether a TCP connection to host:port is accepted within `timeoutMs` (closed at once). */
function portAnswers(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.connect(port, host, () => done(true));
  });
}

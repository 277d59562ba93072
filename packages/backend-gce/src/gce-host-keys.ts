import type { GceApi } from './gce-client.js';

/** The lines around the host keys the startup script prints (cloud-init's markers, so either may print them). */
export const HOST_KEYS_BEGIN = '-----BEGIN SSH HOST KEY KEYS-----';
export const HOST_KEYS_END = '-----END SSH HOST KEY KEYS-----';
const KEY =
  /(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(?:256|384|521)|sk-ssh-ed25519@openssh\.com) (AAAA[A-Za-z0-9+/]+=*)/;

/** Where a guest's host keys were found. */
export type HostKeySource = 'guest-attributes' | 'serial-console';

/**
 * The host keys of the first complete block the startup script printed, as `type base64`
 * lines. The first block counts: it was printed at boot, before anything else ran on the VM.
 * Lines may carry the metadata script runner's prefix (`… startup-script: ssh-ed25519 AAAA…`).
 */
export function hostKeysFromSerialOutput(output: string): string[] {
  const begin = output.indexOf(HOST_KEYS_BEGIN);
  if (begin < 0) return [];
  const end = output.indexOf(HOST_KEYS_END, begin);
  if (end < 0) return [];
  return output
    .slice(begin + HOST_KEYS_BEGIN.length, end)
    .split('\n')
    .map((line) => KEY.exec(line))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => `${match[1]} ${match[2]}`);
}

/**
 * Reads the host keys a guest published: the guest attributes the guest agent writes
 * (`hostkeys/<type>`), else what the startup script printed to serial port 1 — both only
 * writable from inside the VM, so both verify the host. Which of the two an image uses is
 * remembered per image (`sources`), so later jobs ask only there: one call per attempt.
 */
export function publishedHostKeyReader(
  api: GceApi,
  {
    zone,
    name,
    image,
    sources,
  }: { zone: string; name: string; image: string; sources: Map<string, HostKeySource> },
): (signal: AbortSignal | undefined) => Promise<string[]> {
  let serialOutput = '';
  let serialNext = 0;
  const read: Record<HostKeySource, (signal: AbortSignal | undefined) => Promise<string[]>> = {
    'guest-attributes': async (signal) =>
      (await api.guestAttributes(zone, name, 'hostkeys/', { signal }))
        .filter((item) => item.namespace === 'hostkeys' && item.key && item.value)
        .map((item) => `${item.key} ${item.value}`),
    'serial-console': async (signal) => {
      const { contents, next } = await api.serialPortOutput(zone, name, serialNext, { signal });
      serialOutput += contents;
      serialNext = next;
      return hostKeysFromSerialOutput(serialOutput);
    },
  };
  return async (signal) => {
    const known = sources.get(image);
    const order: HostKeySource[] = known ? [known] : ['guest-attributes', 'serial-console'];
    for (const source of order) {
      const keys = await read[source](signal);
      if (keys.length > 0) {
        sources.set(image, source);
        return keys;
      }
    }
    return [];
  };
}

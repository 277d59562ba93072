export { ensureSshdInstalled, SSHD_PATH } from './ensure-sshd-installed.js';
export { freePort } from './free-port.js';
export { descendantsOf, isProcessAlive } from './process-tree.js';
export type { SshdHostKey, SshdHostKeyType } from './sshd-host-key.js';
export { generateSshKey, publicKeyFingerprint } from './sshd-host-key.js';
export type { SshdHandle, StartSshdOptions } from './start-sshd.js';
export { startSshd } from './start-sshd.js';

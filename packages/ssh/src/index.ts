export { connect } from './connect.js';
export { fingerprintOf } from './fingerprint.js';
export { generateKeyPair } from './key-pair.js';
export type { PublishedHostKeysTargetOptions } from './published-host-keys.js';
export { connectWithPublishedHostKeys } from './published-host-keys.js';
export {
  HostKeyMismatchError,
  SshAuthenticationError,
  SshConnectionClosedError,
  SshError,
  SshFileNotFoundError,
  SshHandshakeError,
  SshNotReadyError,
  SshOptionsError,
  SshSftpError,
} from './ssh-errors.js';
export { SshScriptTarget } from './ssh-script-target.js';
export type {
  ConnectAttempt,
  ConnectOptions,
  HostKeyPolicy,
  HostKeySource,
  SshAlgorithms,
  SshAuth,
  SshConnection,
  SshKeyPair,
  SshRunOptions,
  SshScriptRunOptions,
  SshScriptTargetOptions,
  UploadOptions,
} from './ssh-types.js';

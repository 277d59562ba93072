/**
 * What every private test sshd (the harness's and the emulators' guests) runs with: key logins
 * only, no PAM or strict-mode checks (homes are temp dirs), no DNS (loopback only), quiet logins,
 * and room for many concurrent connections. sshd takes the first value of a keyword, so a
 * config that wants something else states it before these.
 */
export const PRIVATE_SSHD_DEFAULTS: readonly string[] = Object.freeze([
  'PubkeyAuthentication yes',
  'KbdInteractiveAuthentication no',
  'UsePAM no',
  'StrictModes no',
  'UseDNS no',
  'PrintMotd no',
  'PrintLastLog no',
  'MaxStartups 64',
  'MaxSessions 32',
]);

import { execFileSync } from 'node:child_process';

/**
 * pnpm settings under which any registry fetch fails at once: a proxy on a closed loopback port,
 * no retries. (pnpm 12 ignores `npm_config_registry`, so that cannot be the guard.)
 */
const FETCHES_FAIL = {
  pnpm_config_https_proxy: 'http://127.0.0.1:9/',
  pnpm_config_http_proxy: 'http://127.0.0.1:9/',
  pnpm_config_no_proxy: '',
  pnpm_config_fetch_retries: '0',
};

export interface OfflineInstallOptions {
  /** A directory of the workspace whose `pnpm install` filled the store. */
  workspaceDir: string;
  /** The environment pnpm runs with (default: this process's). */
  env?: NodeJS.ProcessEnv;
}

/**
 * `pnpm install --offline` in `projectDir` (a test's project of packed tarballs): every
 * third-party package comes from the store the workspace install filled, named explicitly
 * because from a temporary directory pnpm could pick another. Tests reach only loopback
 * addresses, so a dependency missing from the store fails the install instead of downloading.
 */
export function installOffline(
  projectDir: string,
  { workspaceDir, env = process.env }: OfflineInstallOptions,
): void {
  const pnpm = (args: string[], cwd: string) =>
    execFileSync('pnpm', args, {
      cwd,
      env: { ...env, ...FETCHES_FAIL },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  const store = pnpm(['store', 'path'], workspaceDir).trim();
  pnpm(['install', '--offline', '--store-dir', store], projectDir);
}

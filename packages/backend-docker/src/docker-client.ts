import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import Docker from 'dockerode';
import type { DockerOptions } from './docker-options.js';

/** docker-modem takes an http(s) Agent; @types/dockerode does not list it. */
type DockerOptionsWithAgent = Docker.DockerOptions & { agent: HttpAgent };

/**
 * The only module that loads dockerode: the provider imports it in setup()/start() (see
 * loadDockerClient), so registering the backend stays cheap.
 */

/** Creates the dockerode client for the configured endpoint; environment variables are ignored. */
export function createDockerClient(settings: DockerOptions): { docker: Docker; agent: HttpAgent } {
  const endpoint = settings.ENDPOINT;
  const version = `v${settings.API_VERSION}`;
  // dockerode merges DOCKER_HOST/DOCKER_CERT_PATH from the environment under explicit options:
  // every connection field is set explicitly so only the provider's configuration counts.
  const cleared = {
    host: undefined,
    port: undefined,
    socketPath: undefined,
    ca: undefined,
    cert: undefined,
    key: undefined,
  };
  if (endpoint.kind === 'unix') {
    const agent = new HttpAgent({ keepAlive: true });
    return {
      docker: new Docker({
        ...cleared,
        socketPath: endpoint.socketPath,
        version,
        agent,
      } as DockerOptionsWithAgent),
      agent,
    };
  }
  const tls = settings.tls;
  const agent =
    endpoint.protocol === 'https' || tls
      ? new HttpsAgent({ keepAlive: true, rejectUnauthorized: settings.TLS_VERIFY ?? false, ...(tls ?? {}) })
      : new HttpAgent({ keepAlive: true });
  const docker = new Docker({
    ...cleared,
    host: endpoint.host,
    port: endpoint.port,
    protocol: endpoint.protocol === 'https' || tls ? 'https' : 'http',
    ...(tls ?? {}),
    version,
    agent,
  } as DockerOptionsWithAgent);
  return { docker, agent };
}

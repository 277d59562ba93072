import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { describeImages, describeInstanceTypes } from './ec2-catalog.js';
import type { Ec2EmulatorState } from './ec2-emulator-state.js';
import { Ec2ApiError } from './ec2-errors.js';
import { EC2_ACTIONS, type Ec2Action, statusForCode } from './ec2-faults.js';
import { describeInstances, getConsoleOutput, terminateInstances } from './ec2-instances.js';
import { createKeyPair, deleteKeyPair, describeKeyPairs, importKeyPair } from './ec2-key-pairs.js';
import { answerMetadata, isMetadataRequest } from './ec2-metadata.js';
import { Ec2QueryParams } from './ec2-query.js';
import { runInstances } from './ec2-run-instances.js';
import { createTags } from './ec2-tags.js';
import { errorXml, responseXml, type XmlValue } from './ec2-xml.js';

type ActionHandler = (
  ec2: Ec2EmulatorState,
  params: Ec2QueryParams,
) => Record<string, XmlValue> | Promise<Record<string, XmlValue>>;

const ACTIONS: Record<Ec2Action, ActionHandler> = {
  RunInstances: runInstances,
  DescribeInstances: describeInstances,
  TerminateInstances: terminateInstances,
  CreateKeyPair: createKeyPair,
  ImportKeyPair: importKeyPair,
  DeleteKeyPair: deleteKeyPair,
  DescribeKeyPairs: describeKeyPairs,
  DescribeImages: describeImages,
  CreateTags: createTags,
  GetConsoleOutput: getConsoleOutput,
  DescribeInstanceTypes: describeInstanceTypes,
};

/** The emulator's HTTP server: EC2's query protocol (form-encoded POST in, XML out). */
export function createEc2Server(ec2: Ec2EmulatorState): http.Server {
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (isMetadataRequest(request)) {
        const { status, body, contentType } = answerMetadata(ec2, request);
        response.writeHead(status, {
          'content-type': contentType,
          'content-length': Buffer.byteLength(body),
        });
        response.end(body);
        return;
      }
      void answer(ec2, request, Buffer.concat(chunks).toString('utf8')).then(({ status, xml }) => {
        response.writeHead(status, {
          'content-type': 'text/xml;charset=UTF-8',
          'content-length': Buffer.byteLength(xml),
        });
        response.end(xml);
      });
    });
  });
  server.keepAliveTimeout = 1000;
  return server;
}

/**
 * Answers one request: counts the call, checks action, version and credentials, applies the
 * injected throttling and failures, and runs the action; errors become EC2's error XML.
 */
async function answer(
  ec2: Ec2EmulatorState,
  request: http.IncomingMessage,
  body: string,
): Promise<{ status: number; xml: string }> {
  const requestId = randomUUID();
  try {
    if (request.method !== 'POST')
      throw new Ec2ApiError('InvalidAction', 'Only POST is supported by the emulator');
    const params = new Ec2QueryParams(body);
    const action = params.action ?? '';
    ec2.calls[action] = (ec2.calls[action] ?? 0) + 1;
    if (!(EC2_ACTIONS as readonly string[]).includes(action)) {
      throw new Ec2ApiError('InvalidAction', `The action ${action} is not valid for this web service.`);
    }
    if (params.version !== '2016-11-15') {
      throw new Ec2ApiError('InvalidParameterValue', `Unsupported API version ${String(params.version)}`);
    }
    authorize(ec2, request.headers.authorization);
    if (!ec2.faults.takeThrottleToken())
      throw new Ec2ApiError('RequestLimitExceeded', 'Request limit exceeded.');
    const failure = ec2.faults.takeFailure(action);
    if (failure) {
      throw new Ec2ApiError(
        failure.code,
        failure.message ?? failure.code,
        failure.status ?? statusForCode(failure.code),
      );
    }
    const members = await ACTIONS[action as Ec2Action](ec2, params);
    return { status: 200, xml: responseXml(action, requestId, members) };
  } catch (error) {
    if (error instanceof Ec2ApiError) {
      ec2.errors[error.code] = (ec2.errors[error.code] ?? 0) + 1;
      return { status: error.status, xml: errorXml(error.code, error.message, requestId) };
    }
    ec2.errors.InternalError = (ec2.errors.InternalError ?? 0) + 1;
    return { status: 500, xml: errorXml('InternalError', `emulator bug: ${String(error)}`, requestId) };
  }
}

/** Checks the SigV4 Authorization header's credential scope (not the signature). */
function authorize(ec2: Ec2EmulatorState, header: string | undefined): void {
  const match = /Credential=([^/]+)\/\d{8}\/([^/]+)\/ec2\/aws4_request/.exec(header ?? '');
  if (!match || match[1] !== ec2.credentials.accessKeyId) {
    throw new Ec2ApiError('AuthFailure', 'AWS was not able to validate the provided access credentials', 401);
  }
  if (match[2] !== ec2.region) {
    throw new Ec2ApiError(
      'AuthFailure',
      `Credential should be scoped to a valid region, not '${match[2]}'.`,
      401,
    );
  }
}

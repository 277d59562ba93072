import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { providerConformanceSuite } from '@workerkit/testkit/conformance';
import { createLocalProvider } from './local-provider.js';

const scriptsDir = mkdtempSync(join(tmpdir(), 'workerkit-local-conformance-'));

providerConformanceSuite({
  name: 'local',
  createProvider: () => createLocalProvider({ SCRIPTS_DIR: scriptsDir, KILL_GRACE: '1s' }),
  trace: 'not-implemented',
  afterAll: () => rmSync(scriptsDir, { recursive: true, force: true }),
});

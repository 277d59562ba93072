import { fileURLToPath } from 'node:url';
import { workerkitVitestConfig } from '../../vitest.shared.js';

export default workerkitVitestConfig({
  setupFiles: [fileURLToPath(new URL('./test/preload-google-sdk.ts', import.meta.url))],
});

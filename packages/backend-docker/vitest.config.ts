import { mergeConfig } from 'vitest/config';
import { workerkitVitestConfig } from '../../vitest.shared.js';

export default mergeConfig(workerkitVitestConfig({ testTimeout: 60_000 }), {
  test: { globalSetup: ['./test/global-setup.ts'] },
});

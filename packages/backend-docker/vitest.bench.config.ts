import { mergeConfig } from 'vitest/config';
import { workerkitBenchConfig } from '../../vitest.shared.js';

export default mergeConfig(workerkitBenchConfig(), {
  test: { globalSetup: ['./test/global-setup.ts'] },
});

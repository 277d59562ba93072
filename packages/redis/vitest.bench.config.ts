import { workerkitBenchConfig } from '../../vitest.shared.js';

export default workerkitBenchConfig();

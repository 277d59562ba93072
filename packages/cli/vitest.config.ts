import { workerkitVitestConfig } from '../../vitest.shared.js';

// Each test spawns the CLI; `backends`, `gc` and an unknown --backend import every installed
// backend, which on a loaded machine takes seconds while backends load their SDKs at import.
export default workerkitVitestConfig({ testTimeout: 120_000 });

import { workerkitVitestConfig } from '../../vitest.shared.js';

export default workerkitVitestConfig();

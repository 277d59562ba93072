export type { ConformanceSuiteOptions } from './provider-conformance-suite.js';
export { providerConformanceSuite } from './provider-conformance-suite.js';

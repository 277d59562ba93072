export type { CliIo } from './cli-io.js';
export { processIo } from './cli-io.js';
export { EXIT_CODES } from './exit-codes.js';
export { main } from './main.js';

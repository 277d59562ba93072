/** The logging a provider needs; pass your own (pino, winston, console) through the context. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** Warnings and errors to stderr; debug and info dropped. */
export const stderrLogger: Logger = Object.freeze({
  debug() {},
  info() {},
  warn(message: string, fields?: Record<string, unknown>) {
    process.stderr.write(`workerkit warn: ${message}${fields ? ` ${JSON.stringify(fields)}` : ''}\n`);
  },
  error(message: string, fields?: Record<string, unknown>) {
    process.stderr.write(`workerkit error: ${message}${fields ? ` ${JSON.stringify(fields)}` : ''}\n`);
  },
});

export const silentLogger: Logger = Object.freeze({ debug() {}, info() {}, warn() {}, error() {} });

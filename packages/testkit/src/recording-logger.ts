import type { Logger } from '@workerkit/core';

export interface LoggedLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  fields?: Record<string, unknown>;
}

/** A `Logger` that keeps what it is told, for assertions (and to keep test output quiet). */
export class RecordingLogger implements Logger {
  readonly lines: LoggedLine[] = [];

  debug(message: string, fields?: Record<string, unknown>): void {
    this.#record('debug', message, fields);
  }

  info(message: string, fields?: Record<string, unknown>): void {
    this.#record('info', message, fields);
  }

  warn(message: string, fields?: Record<string, unknown>): void {
    this.#record('warn', message, fields);
  }

  error(message: string, fields?: Record<string, unknown>): void {
    this.#record('error', message, fields);
  }

  #record(level: LoggedLine['level'], message: string, fields: Record<string, unknown> | undefined): void {
    this.lines.push({ level, message, ...(fields ? { fields } : {}) });
  }
}

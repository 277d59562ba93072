import type Docker from 'dockerode';
import { median } from './bench-support.js';

/** `POST /containers/abc…/start` → `POST /containers/{id}/start`. */
function callName(method: string, path: string): string {
  return `${method} ${path
    .split('?')[0]!
    .replace(/^\/v\d+\.\d+/, '')
    .replace(/\/(containers|exec)\/(?!create$|json$)[^/]+/, '/$1/{id}')}`;
}

/**
 * Times every Engine call a dockerode client makes (from request to answer; a hijacked exec
 * start until its stream is there), to show where a job's time goes. Bench-only instrumentation.
 */
export function recordEngineCalls(docker: Docker): { summary(): Record<string, string> } {
  const modem = (
    docker as unknown as { modem: { dial(options: object, callback: (...args: unknown[]) => void): void } }
  ).modem;
  const dial = modem.dial.bind(modem);
  const times = new Map<string, number[]>();
  modem.dial = (options, callback) => {
    const { method, path } = options as { method: string; path: string };
    const began = performance.now();
    dial(options, (...args: unknown[]) => {
      const name = callName(method, path);
      times.set(name, [...(times.get(name) ?? []), performance.now() - began]);
      callback(...args);
    });
  };
  return {
    summary: () =>
      Object.fromEntries(
        [...times.entries()]
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([name, values]) => [
            name,
            `${values.length} calls, median ${median(values).toFixed(0)} ms, max ${Math.max(...values).toFixed(0)} ms`,
          ]),
      ),
  };
}

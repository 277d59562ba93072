import { badRequest } from './gce-emulator-http.js';
import type { InstanceRecord, Json } from './gce-emulator-state.js';

/** GCE keeps the most recent 1 MiB of a serial port's output. */
const SERIAL_BUFFER_BYTES = 1024 * 1024;

/** Appends to the instance's serial port 1, dropping the oldest bytes beyond 1 MiB. */
export function writeConsole(record: InstanceRecord, text: string): void {
  const serial = record.serial;
  serial.text += text;
  const bytes = Buffer.from(serial.text, 'utf8');
  if (bytes.length > SERIAL_BUFFER_BYTES) {
    const drop = bytes.length - SERIAL_BUFFER_BYTES;
    serial.text = bytes.subarray(drop).toString('utf8');
    serial.start += drop;
  }
}

/**
 * `instances.getSerialPortOutput`: port 1 holds what the guest wrote (ports 2–4 nothing), from
 * byte `start` on. A `start` older than what is kept answers from the oldest byte kept, with
 * that `start`; `next` is where the following call continues. int64 fields travel as strings.
 */
export function serialPortOutput(record: InstanceRecord, query: URLSearchParams): Json {
  const port = query.has('port') ? Number(query.get('port')) : 1;
  if (!Number.isInteger(port) || port < 1 || port > 4)
    throw badRequest(`Invalid value for field 'port': '${query.get('port')}'. Must be in the range [1, 4].`);
  const bytes = port === 1 ? Buffer.from(record.serial.text, 'utf8') : Buffer.alloc(0);
  const first = port === 1 ? record.serial.start : 0;
  const end = first + bytes.length;
  const asked = query.has('start') ? Number(query.get('start')) : 0;
  if (!Number.isInteger(asked)) throw badRequest(`Invalid value for field 'start': '${query.get('start')}'.`);
  const start = Math.min(Math.max(asked, first), end);
  return {
    kind: 'compute#serialPortOutput',
    contents: bytes.subarray(start - first).toString('utf8'),
    start: String(start),
    next: String(end),
    selfLink: `${record.resource.selfLink}/serialPort?port=${port}`,
  };
}

// Pipelined loader: writes exactly `count` distinct keys (key:000000, key:000001, ...)
// with fixed-size values (or any commands) over one raw socket, a bounded number of
// batches in flight.
import { RespConnection, encodeCommand, type Reply } from './resp-client.js';

/** Commands per socket write: large enough to amortise syscalls, small enough to stream. */
const LOAD_BATCH_COMMANDS = 1_000;
/** Batches awaiting replies at once; bounds memory on both sides. */
const LOAD_BATCHES_IN_FLIGHT_MAX = 8;
const KEY_DIGITS_MIN = 6;

export interface LoadResult {
  readonly keys: number;
  readonly elapsedMs: number;
  readonly errors: number;
  readonly firstError: string | undefined;
}

export function benchKey(index: number, count: number): string {
  const digits = Math.max(KEY_DIGITS_MIN, String(Math.max(0, count - 1)).length);
  return `key:${String(index).padStart(digits, '0')}`;
}

export async function loadKeys(port: number, count: number, valueBytes: number): Promise<LoadResult> {
  const value = Buffer.alloc(valueBytes, 'x');
  return loadCommands(port, count, (index) => ['SET', benchKey(index, count), value]);
}

/** Sends `count` commands made by commandAt(index), pipelined in batches; errors counted. */
export async function loadCommands(port: number, count: number, commandAt: (index: number) => (string | Buffer)[]): Promise<LoadResult> {
  const connection = await RespConnection.connect(port);
  const started = performance.now();
  let errors = 0;
  let firstError: string | undefined;
  let inFlight = 0;
  let wake: (() => void) | undefined;
  const onReply = (reply: Reply) => {
    if (reply instanceof Error) {
      errors++;
      firstError ??= reply.message;
    }
  };
  try {
    for (let start = 0; start < count; start += LOAD_BATCH_COMMANDS) {
      const end = Math.min(count, start + LOAD_BATCH_COMMANDS);
      const parts: Buffer[] = [];
      for (let index = start; index < end; index++) parts.push(encodeCommand(commandAt(index)));
      while (inFlight >= LOAD_BATCHES_IN_FLIGHT_MAX) await new Promise<void>((resolve) => { wake = resolve; });
      inFlight++;
      let remaining = end - start;
      connection.sendEncoded(Buffer.concat(parts), remaining, (reply) => {
        onReply(reply);
        remaining--;
        if (remaining === 0) {
          inFlight--;
          const resume = wake;
          wake = undefined;
          resume?.();
        }
      });
      await connection.drained();
    }
    while (inFlight > 0) await new Promise<void>((resolve) => { wake = resolve; });
  } finally {
    connection.close();
  }
  return { keys: count, elapsedMs: performance.now() - started, errors, firstError };
}

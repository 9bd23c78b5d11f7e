// The node's logger: pino, human-readable on a terminal, JSON lines otherwise (for log
// collectors and for tests that wait for a line). pino-pretty runs as an in-process
// stream, not a worker transport, so shutdown has no thread to wait for and no line is
// lost when the process exits right after logging.
import { pino } from 'pino';
import pretty from 'pino-pretty';
import type { LogLevelName } from './options.js';

export type Logger = pino.Logger;

export interface LoggerOptions {
  /** Shown on every line (e.g. the node name), so logs of several nodes can be told apart. */
  readonly name?: string;
  /** Where JSON lines go instead of stdout (tests pass a stream to capture them). */
  readonly destination?: NodeJS.WritableStream;
}

export function createLogger(level: LogLevelName, options: LoggerOptions = {}): Logger {
  const pinoOptions: pino.LoggerOptions = { level, base: options.name === undefined ? {} : { name: options.name } };
  if (options.destination) return pino(pinoOptions, options.destination);
  if (process.stdout.isTTY) {
    return pino(pinoOptions, pretty({ colorize: true, sync: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' }));
  }
  // Synchronous writes: a node that logs and then exits (or crashes) still leaves the line.
  return pino(pinoOptions, pino.destination({ dest: 1, sync: true }));
}

// Helpers every command group shares: argument parsing without string conversion,
// liveness of a record, the key-size limit, and Redis's standard error texts.
import type { Buffer } from 'node:buffer';
import { KEY_BYTES_MAX } from '../core/validate.js';
import { appendError, appendOk, parseInteger } from '../wire/resp.js';
import type { ClientWrite } from '../core/io.js';
import type { CommandContext } from './context.js';
import { CommandFlag, type CommandSpec } from './command-spec.js';

export const SYNTAX_ERROR = 'ERR syntax error';
export const NOT_INTEGER_ERROR = 'ERR value is not an integer or out of range';

/** True if arg equals lowercaseWord ignoring ASCII case (no string is built). */
export function argIs(arg: Uint8Array, lowercaseWord: string): boolean {
  if (arg.length !== lowercaseWord.length) return false;
  for (let index = 0; index < arg.length; index++) {
    const byte = arg[index]!;
    const lower = byte >= 0x41 && byte <= 0x5a ? byte | 0x20 : byte;
    if (lower !== lowercaseWord.charCodeAt(index)) return false;
  }
  return true;
}

/** Lowercase ASCII text of a small argument (subcommand or option names). */
export function argLower(arg: Buffer): string {
  return arg.toString('latin1').toLowerCase();
}

/** A signed integer argument (up to 15 digits, enough for ms timestamps), or undefined. */
export function parseIntegerArg(arg: Uint8Array): number | undefined {
  return parseInteger(arg, 0);
}

/**
 * Keys longer than KEY_BYTES_MAX are a protocol error (DESIGN.md limits): the client is
 * told and disconnected, nothing is stored. Returns false after replying.
 */
export function checkKeyLength(session: CommandContext, key: Uint8Array): boolean {
  if (key.length <= KEY_BYTES_MAX) return true;
  session.stats.protocolErrors++;
  appendError(session.out, `ERR Protocol error: key is ${key.length} bytes, the limit is ${KEY_BYTES_MAX}`);
  session.closing = true;
  return false;
}

/** Commit writes; `+OK` once committed. */
export function writeThenOk(session: CommandContext, writes: ClientWrite[]): void {
  const start = session.out.length;
  appendOk(session.out);
  session.deferWrite(session.engine.write(writes), start);
}

/** Shorthand for table entries. */
export function command<S = CommandContext>(
  name: string,
  arity: number,
  flags: number,
  keys: readonly [first: number, last: number, step: number],
  group: string,
  summary: string,
  handler: (session: S, args: Buffer[]) => void,
): CommandSpec<S> {
  return { name, arity, flags, firstKey: keys[0], lastKey: keys[1], keyStep: keys[2], group, summary, handler };
}

export const NO_KEYS = [0, 0, 0] as const;
export const ONE_KEY = [1, 1, 1] as const;
export const ALL_KEYS = [1, -1, 1] as const;
export { CommandFlag };

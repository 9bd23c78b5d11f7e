// What a command is: its name, arity, flags, key positions, group, summary and handler. A
// handler takes what it uses of its connection: most take the narrow CommandContext
// (context.ts); those that need the session itself (blocking commands, WAIT, MULTI,
// connection and pub/sub commands, settings) take CommandSpec<Session>. This module
// depends on neither the session, the server state nor the command table.
import type { Buffer } from 'node:buffer';
import type { CommandContext } from './context.js';

export const CommandFlag = {
  /** Allowed before AUTH. */
  NoAuth: 1,
  /** Allowed in RESP2 subscribed mode. */
  PubSub: 2,
  Write: 4,
  ReadOnly: 8,
  Admin: 16,
  Fast: 32,
  /** Refused inside MULTI (Redis's no-multi). */
  NoMulti: 64,
  /** Runs at once inside MULTI instead of being queued (MULTI EXEC DISCARD WATCH QUIT RESET). */
  MultiControl: 128,
  /** May grow the dataset: refused while used memory is over maxmemory (Redis's deny-oom; admission.ts). */
  DenyOom: 256,
} as const;

/** A command of the table; S is what its handler is given (Session satisfies every S). */
export interface CommandSpec<S = CommandContext> {
  /** Lowercase name. */
  readonly name: string;
  /** Redis convention: N means exactly N args (name included), -N at least N. */
  readonly arity: number;
  /** Bit set of CommandFlag. */
  readonly flags: number;
  /** Key positions for COMMAND INFO (0 = no keys; lastKey -1 = to the end). */
  readonly firstKey: number;
  readonly lastKey: number;
  readonly keyStep: number;
  readonly group: string;
  readonly summary: string;
  readonly handler: (session: S, args: Buffer[]) => void;
  /**
   * The flags of one call, where they depend on its arguments (EVAL of a script with a
   * shebang, FCALL: the script's flags decide whether it writes, as in Redis).
   */
  readonly callFlags?: (session: S, args: Buffer[]) => number;
}

/** Redis's arity convention: N means exactly N args (name included), -N at least N. */
export function arityMatches(arity: number, count: number): boolean {
  return arity >= 0 ? count === arity : count >= -arity;
}

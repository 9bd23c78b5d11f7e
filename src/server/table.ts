// The command table and dispatch: name lookup (case-insensitive, cached), arity,
// authentication and subscribed-mode checks, then the handler, or, after MULTI, the queue.
import type { Buffer } from 'node:buffer';
import { performance } from 'node:perf_hooks';
import { appendError } from '../wire/resp.js';
import { aclRefusal } from './acl.js';
import { discardTransaction, queueCommand, rejectInTransaction } from './transaction-queue.js';
import type { ReplyMode, Session } from './session.js';
import { arityMatches, CommandFlag, type CommandSpec as BaseCommandSpec } from './command-spec.js';
import { admissionRefusal, misconfMessage } from './admission.js';

export { arityMatches, CommandFlag };

/** Writes its reply to session.out (or defers it); never throws on bad input. */
export type CommandHandler = (session: Session, args: Buffer[]) => void;


/** A command of the table, whose handler the dispatcher gives the session. */
export type CommandSpec = BaseCommandSpec<Session>;

/** Longest command name we look up; longer names are unknown without a string conversion. */
const COMMAND_NAME_BYTES_MAX = 32;
/** Spellings remembered by the lookup cache; bounded so random-case names cannot grow it. */
const LOOKUP_CACHE_ENTRIES_MAX = 1024;

export class CommandTable {
  private readonly byName = new Map<string, CommandSpec>();
  private readonly cache = new Map<string, CommandSpec | null>();
  /** The spelling last found (its bytes), and its command. */
  private readonly lastBytes = new Uint8Array(COMMAND_NAME_BYTES_MAX);
  private lastLength = -1;
  private lastSpec: CommandSpec | undefined;

  add(spec: CommandSpec): void {
    if (this.byName.has(spec.name)) throw new Error(`duplicate command ${spec.name}`);
    this.byName.set(spec.name, spec);
  }

  get(lowercaseName: string): CommandSpec | undefined {
    return this.byName.get(lowercaseName);
  }

  all(): CommandSpec[] {
    return [...this.byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  get size(): number {
    return this.byName.size;
  }

  lookup(name: Buffer): CommandSpec | undefined {
    if (name.length > COMMAND_NAME_BYTES_MAX) return undefined;
    // A pipeline mostly repeats one command: the same spelling as last time needs no string.
    if (name.length === this.lastLength && this.lastSpec !== undefined) {
      let same = true;
      for (let index = 0; same && index < name.length; index++) same = name[index] === this.lastBytes[index];
      if (same) return this.lastSpec;
    }
    const spelling = name.toString('latin1');
    const cached = this.cache.get(spelling);
    let spec: CommandSpec | undefined;
    if (cached !== undefined) {
      spec = cached ?? undefined;
    } else {
      spec = this.byName.get(spelling.toLowerCase());
      if (this.cache.size < LOOKUP_CACHE_ENTRIES_MAX) this.cache.set(spelling, spec ?? null);
    }
    if (spec !== undefined) {
      this.lastBytes.set(name);
      this.lastLength = name.length;
      this.lastSpec = spec;
    }
    return spec;
  }
}

const MINUS = 0x2d;

/** Redis quotes at most this much of the unknown command's arguments. */
const UNKNOWN_ARGS_QUOTE_CHARS_MAX = 128;

function unknownCommandMessage(args: Buffer[]): string {
  let quoted = '';
  for (let index = 1; index < args.length && quoted.length < UNKNOWN_ARGS_QUOTE_CHARS_MAX; index++) {
    quoted += `'${args[index]!.toString('utf8', 0, UNKNOWN_ARGS_QUOTE_CHARS_MAX - quoted.length)}' `;
  }
  const name = args[0]!.toString('utf8', 0, UNKNOWN_ARGS_QUOTE_CHARS_MAX);
  return `ERR unknown command '${name}', with args beginning with: ${quoted}`;
}


export function wrongArityMessage(name: string): string {
  return `ERR wrong number of arguments for '${name}' command`;
}

/**
 * A command refused before it runs (INFO commandstats: rejected_calls). Inside MULTI this
 * also dooms the transaction (EXEC answers EXECABORT); a refused EXEC ends it, with the
 * reason, as Redis does.
 */
function reject(session: Session, spec: CommandSpec | undefined, message: string): void {
  if (spec !== undefined) session.server.commandStats.recordRejected(spec.name);
  if (session.transaction === undefined) return void appendCountedError(session, message);
  if (spec?.name === 'exec') {
    discardTransaction(session);
    return void appendCountedError(session, `EXECABORT Transaction discarded because of: ${message.startsWith('-') ? message.slice(1) : message}`);
  }
  rejectInTransaction(session, message);
}

function appendCountedError(session: Session, message: string): void {
  const start = session.out.length;
  appendError(session.out, message);
  session.server.commandStats.recordError(session.out.buffer, start + 1, session.out.length);
}

/** Whether the command may change data: a write command, or EXEC of a queue holding one (as Redis judges it for MISCONF). */
function writes(session: Session, spec: CommandSpec): boolean {
  if ((spec.flags & CommandFlag.Write) !== 0) return true;
  if (spec.name !== 'exec' || session.transaction === undefined) return false;
  return session.transaction.commands.some((args) => ((session.server.table.lookup(args[0]!)?.flags ?? 0) & CommandFlag.Write) !== 0);
}


/** Run one command against the session; its reply (or a deferred one) lands in session.out. */
export function executeCommand(session: Session, args: Buffer[]): void {
  const server = session.server;
  server.stats.commandsProcessed++;
  const spec = server.table.lookup(args[0]!);
  if (spec === undefined) return reject(session, spec, unknownCommandMessage(args));
  if (!arityMatches(spec.arity, args.length)) return reject(session, spec, wrongArityMessage(spec.name));
  if (!session.authenticated && (spec.flags & CommandFlag.NoAuth) === 0) return reject(session, spec, 'NOAUTH Authentication required.');
  const refusal = session.user.unrestricted ? undefined : aclRefusal(session, spec, args);
  if (refusal !== undefined) return reject(session, spec, refusal);
  if (session.protocol === 2 && (spec.flags & CommandFlag.PubSub) === 0 && session.subscriptionCount() > 0) {
    return reject(
      session,
      spec,
      `ERR Can't execute '${spec.name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context`,
    );
  }
  const busy = server.scriptBusy?.(spec, args);
  if (busy !== undefined) return reject(session, spec, busy);
  const admission = admissionRefusal(session, spec, args);
  if (admission !== undefined) return reject(session, spec, admission);
  const storageFailure = server.engine.storageFailure?.();
  if (storageFailure !== undefined && writes(session, spec)) return reject(session, spec, misconfMessage(storageFailure));
  if (session.transaction !== undefined) {
    if ((spec.flags & CommandFlag.NoMulti) !== 0) return reject(session, spec, 'ERR Command not allowed inside a transaction');
    if ((spec.flags & CommandFlag.MultiControl) === 0) {
      // Reads are refused while loading when EXEC runs them, not now (as Redis).
      session.lastCommand = spec.name;
      return queueCommand(session, args);
    }
  }
  if ((spec.flags & CommandFlag.ReadOnly) !== 0 && server.engine.loading?.() === true) {
    return reject(session, spec, 'LOADING peerkv is resyncing from its peers after a long absence; reads resume when it completes');
  }
  callHandler(session, spec, args);
}

/** The handler of an accepted command (also each command EXEC runs). */
export function callHandler(session: Session, spec: CommandSpec, args: Buffer[]): void {
  const server = session.server;
  session.lastCommand = spec.name;
  const start = session.out.length;
  const pendingBefore = session.pendingCount();
  const modeBefore = session.replyMode;
  session.replyModeChanged = false;
  session.replyErrorCounted = false;
  const startedMs = performance.now();
  try {
    spec.handler(session, args);
  } catch (error) {
    // A handler bug must not take the connection or the node down: answer and log.
    server.stats.internalErrors++;
    server.logger.error({ err: error, command: spec.name, client: session.id }, 'command handler failed');
    session.out.truncate(start);
    appendError(session.out, 'ERR internal error');
  }
  const out = session.out;
  const failed = out.length > start && out.buffer[start] === MINUS;
  server.commandStats.recordCall(spec.name, performance.now() - startedMs, failed);
  if (failed && !session.replyErrorCounted) server.commandStats.recordError(out.buffer, start + 1, out.length);
  if (modeBefore !== 'on' || session.replyMode !== 'on') applyReplyMode(session, spec, modeBefore, start, pendingBefore);
}

/** Commands whose answers are pub/sub pushes: Redis sends them whatever CLIENT REPLY says. */
const PUSH_REPLY_COMMANDS = new Set(['subscribe', 'unsubscribe', 'psubscribe', 'punsubscribe']);

/** CLIENT REPLY: drop this command's reply under OFF or SKIP (CLIENT REPLY ON itself answers); a SKIP lasts one command. */
function applyReplyMode(session: Session, spec: CommandSpec, modeBefore: ReplyMode, start: number, pendingBefore: number): void {
  const changed = session.replyModeChanged;
  if (!(changed && session.replyMode === 'on') && !PUSH_REPLY_COMMANDS.has(spec.name)) session.silenceRepliesFrom(start, pendingBefore);
  if (modeBefore === 'skip' && !changed) session.replyMode = 'on';
}

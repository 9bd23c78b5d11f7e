// Admission: the node-state checks a command passes before it runs, as Redis's processCommand
// makes them: maxmemory (deny-oom commands get OOM while used memory is over it) and
// min-replicas-to-write (write commands get NOREPLICAS while fewer peers are good), and the
// same checks where a script starts and where it calls a command (scriptPrepareForRun,
// scriptVerifyOOM, scriptVerifyWriteCommandAllow in Redis).
// The states are sampled (admission-state.ts), so dispatch only reads a flag.
import type { Buffer } from 'node:buffer';
import { CommandFlag, type CommandSpec } from './command-spec.js';
import type { Session } from './session.js';

export const OOM_ERROR = "OOM command not allowed when used memory > 'maxmemory'.";
export const NOREPLICAS_ERROR = 'NOREPLICAS Not enough good replicas to write.';
export const SCRIPT_OOM_ERROR = "OOM allow-oom flag is not set on the script, can not run it when used memory > 'maxmemory'";
export const SCRIPT_WRITE_FLAG_RO_ERROR = 'ERR Can not execute a script with write flag using *_ro command.';

/** Redis's error class for writes refused because persistence fails (clients know MISCONF). */
export function misconfMessage(failure: string): string {
  return `MISCONF peerkv cannot write to its data directory: ${failure.replace(/[\r\n]+/g, ' ')}. Commands that may modify data are refused until it can (checked every second); reads work.`;
}

/**
 * Redis 7.0's deny-oom commands (src/commands/*.json "DENYOOM") that peerkv has; container
 * commands by "name|subcommand".
 */
const DENY_OOM_COMMANDS: ReadonlySet<string> = new Set([
  'append', 'bitfield', 'bitop', 'blmove', 'brpoplpush', 'copy', 'decr', 'decrby', 'geoadd', 'georadius', 'georadiusbymember',
  'geosearchstore', 'getset', 'hincrby', 'hincrbyfloat', 'hmset', 'hset', 'hsetnx', 'incr', 'incrby', 'incrbyfloat', 'linsert',
  'lmove', 'lpush', 'lpushx', 'lset', 'mset', 'msetnx', 'pfadd', 'pfmerge', 'psetex', 'restore', 'rpoplpush', 'rpush', 'rpushx',
  'sadd', 'sdiffstore', 'set', 'setbit', 'setex', 'setnx', 'setrange', 'sinterstore', 'sort', 'sunionstore', 'xadd', 'xsetid',
  'zadd', 'zdiffstore', 'zincrby', 'zinterstore', 'zrangestore', 'zunionstore',
]);
const DENY_OOM_SUBCOMMANDS: ReadonlySet<string> = new Set(['function|load', 'function|restore', 'xgroup|create', 'xgroup|createconsumer']);
const CONTAINERS: ReadonlySet<string> = new Set([...DENY_OOM_SUBCOMMANDS].map((name) => name.slice(0, name.indexOf('|'))));

/** The spec with Redis's deny-oom flag when Redis gives it to the command (the table is built with it). */
export function withDenyOom<S>(spec: CommandSpec<S>): CommandSpec<S> {
  return DENY_OOM_COMMANDS.has(spec.name) ? { ...spec, flags: spec.flags | CommandFlag.DenyOom } : spec;
}

/** Script flags as declared (`#!lua flags=...`, register_function flags); undefined: a script without shebang. */
export type ScriptFlags = ReadonlySet<string> | readonly string[] | undefined;

function has(flags: NonNullable<ScriptFlags>, flag: string): boolean {
  return Array.isArray(flags) ? flags.includes(flag) : (flags as ReadonlySet<string>).has(flag);
}

/**
 * A command's flags as a script's declared flags make them (Redis scriptFlagsToCmdFlags):
 * without shebang the command's own; with one, write unless no-writes, deny-oom unless
 * allow-oom or no-writes.
 */
export function scriptCommandFlags(commandFlags: number, flags: ScriptFlags): number {
  if (flags === undefined) return commandFlags;
  let result = commandFlags & ~(CommandFlag.Write | CommandFlag.DenyOom);
  const noWrites = has(flags, 'no-writes');
  if (!noWrites && !has(flags, 'allow-oom')) result |= CommandFlag.DenyOom;
  if (!noWrites) result |= CommandFlag.Write;
  return result;
}

/** The flags of this call: the spec's, a script's, a deny-oom subcommand's, or (EXEC) every queued command's. */
function callFlags(session: Session, spec: CommandSpec<Session>, args: Buffer[]): number {
  let flags = spec.callFlags?.(session, args) ?? spec.flags;
  if (CONTAINERS.has(spec.name) && args.length > 1 && DENY_OOM_SUBCOMMANDS.has(`${spec.name}|${args[1]!.toString('latin1').toLowerCase()}`)) {
    flags |= CommandFlag.DenyOom;
  }
  if (spec.name === 'exec' && session.transaction !== undefined) {
    for (const queued of session.transaction.commands) {
      const queuedSpec = session.server.table.lookup(queued[0]!);
      if (queuedSpec !== undefined) flags |= callFlags(session, queuedSpec, queued) & (CommandFlag.Write | CommandFlag.DenyOom);
    }
  }
  return flags;
}

/** Commands that pass the OOM check inside MULTI, where anything else queued would grow memory (Redis). */
const MULTI_OOM_EXEMPT: ReadonlySet<string> = new Set(['exec', 'discard', 'quit', 'reset']);

/**
 * The error a command gets before it runs (or is queued) because of maxmemory or
 * min-replicas-to-write, or undefined. A flag check unless a limit is exceeded.
 */
export function admissionRefusal(session: Session, spec: CommandSpec<Session>, args: Buffer[]): string | undefined {
  const admission = session.server.admission;
  if (!admission.active) return undefined;
  const flags = callFlags(session, spec, args);
  if (admission.overMemory) {
    const inMulti = session.transaction !== undefined && !MULTI_OOM_EXEMPT.has(spec.name);
    if (inMulti || (flags & CommandFlag.DenyOom) !== 0) return OOM_ERROR;
  }
  if (admission.tooFewReplicas && (flags & CommandFlag.Write) !== 0) return NOREPLICAS_ERROR;
  return undefined;
}

/**
 * Where a script or function starts (Redis scriptPrepareForRun): one with declared flags that
 * may write is refused while storage fails (MISCONF), by *_RO commands and while replicas are too few; one without allow-oom
 * (or no-writes) while memory is over maxmemory. Scripts without shebang are checked per call.
 */
export function scriptStartRefusal(session: Session, flags: ScriptFlags, readOnlyCommand: boolean): string | undefined {
  if (flags === undefined) return undefined;
  const admission = session.server.admission;
  const noWrites = has(flags, 'no-writes');
  if (!noWrites) {
    const storageFailure = session.server.engine.storageFailure?.();
    if (storageFailure !== undefined) return misconfMessage(storageFailure);
    if (readOnlyCommand) return SCRIPT_WRITE_FLAG_RO_ERROR;
    if (admission.tooFewReplicas) return NOREPLICAS_ERROR;
  }
  if (admission.overMemory && !noWrites && !has(flags, 'allow-oom')) return SCRIPT_OOM_ERROR;
  return undefined;
}

/**
 * Where a script calls a command (Redis scriptVerifyWriteCommandAllow, scriptVerifyOOM): until
 * the script's first write, a write gets MISCONF while storage fails, NOREPLICAS while replicas are too few, and a deny-oom
 * command OOM if memory was over maxmemory when the script started (unless allow-oom).
 * After a write the script cannot be stopped half-way for the node's state.
 */
export function scriptCallRefusal(session: Session, commandFlags: number, state: { readonly wroteAlready: boolean; readonly overMemoryAtStart: boolean; readonly allowOom: boolean }): string | undefined {
  if ((commandFlags & CommandFlag.Write) === 0 || state.wroteAlready) return undefined;
  const storageFailure = session.server.engine.storageFailure?.();
  if (storageFailure !== undefined) return misconfMessage(storageFailure);
  const admission = session.server.admission;
  if (admission.tooFewReplicas) return NOREPLICAS_ERROR;
  if (state.overMemoryAtStart && !state.allowOom && (commandFlags & CommandFlag.DenyOom) !== 0) return OOM_ERROR;
  return undefined;
}

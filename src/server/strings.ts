// String commands: GET SET GETSET GETEX GETDEL MGET MSET MSETNX and the SETNX SETEX
// PSETEX STRLEN variants; the rest of the string group lives beside them (string-edits.ts:
// APPEND GETRANGE SETRANGE, lcs.ts, counters.ts: INCR and friends) and is listed here.
// Conditional forms read through engine.get first; it already reflects uncommitted
// writes, so commands of one pipeline see each other.
import { Buffer } from 'node:buffer';
import type { ClientWrite } from '../core/io.js';
import { RespOutput, appendArrayHeader, appendBulk, appendBulkOrNull, appendError, appendInteger, appendNull, appendOk } from '../wire/resp.js';
import { ALL_KEYS, CommandFlag, ONE_KEY, SYNTAX_ERROR, checkKeyLength, command, parseIntegerArg, writeThenOk } from './common.js';
import { COUNTER_COMMANDS } from './counters.js';
import { LCS_COMMANDS } from './lcs.js';
import type { CommandContext } from './context.js';
import { STRING_EDIT_COMMANDS } from './string-edits.js';
import { expiryAtMs, isAbsoluteExpiry, parseStringOptions, StringOption } from './string-options.js';
import type { CommandSpec } from './command-spec.js';
import { deleteWrite, expiryWrite, liveHeader, readString, replaceWrite, stringValue, typeOf, WRONG_TYPE, WRONGTYPE_ERROR } from './typed-keys.js';
import { decodeHeader, headerRowKey, KeyType } from '../core/rows.js';
import { isAbsent } from '../core/record.js';

function getCommand(session: CommandContext, args: Buffer[]): void {
  const value = readString(session.engine, args[1]!);
  if (value === WRONG_TYPE) return void appendError(session.out, WRONGTYPE_ERROR);
  const stats = session.stats;
  if (value === null) {
    stats.keyspaceMisses++;
    appendNull(session.out, session.protocol);
  } else {
    stats.keyspaceHits++;
    appendBulk(session.out, value);
  }
}

/** SET key value [NX|XX] [GET] [EX|PX|EXAT|PXAT amount|KEEPTTL]: NX/XX judged on the local view. */
function setCommand(session: CommandContext, args: Buffer[]): void {
  const key = args[1]!;
  const value = args[2]!;
  if (!checkKeyLength(session, key)) return;
  if (args.length === 3) {
    writeThenOk(session, [replaceWrite(key, value, 0)]);
    return;
  }
  const options = parseStringOptions(args, 3, true);
  if (options === undefined) return void appendError(session.out, SYNTAX_ERROR);
  const engine = session.engine;
  const nowMs = engine.nowMs();
  let expiresAtMs = 0;
  if (options.expiryArg !== undefined) {
    const atMs = expiryAtMs(options, nowMs, 'set');
    if (typeof atMs === 'string') return void appendError(session.out, atMs);
    expiresAtMs = atMs;
  }
  const returnOld = (options.flags & StringOption.ReturnOld) !== 0;
  const header = liveHeader(engine, key);
  let old: Uint8Array | null = null;
  if (header !== undefined && returnOld) {
    if (typeOf(header) !== KeyType.String) return void appendError(session.out, WRONGTYPE_ERROR);
    old = stringValue(engine, key, header);
  }
  const exists = header !== undefined;
  const skip = ((options.flags & StringOption.IfAbsent) !== 0 && exists) || ((options.flags & StringOption.IfPresent) !== 0 && !exists);
  if ((options.flags & StringOption.KeepTtl) !== 0 && exists) expiresAtMs = header.expiresAtMs;
  const start = session.out.length;
  if (returnOld) appendBulkOrNull(session.out, old, session.protocol);
  else if (skip) appendNull(session.out, session.protocol);
  else appendOk(session.out);
  if (skip) return;
  // An absolute expiry already in the past stores nothing: the key is simply gone.
  const writes = [expiresAtMs !== 0 && expiresAtMs <= nowMs ? deleteWrite(key) : replaceWrite(key, value, expiresAtMs)];
  session.deferWrite(engine.write(writes), start);
}

function setnxCommand(session: CommandContext, args: Buffer[]): void {
  const key = args[1]!;
  if (!checkKeyLength(session, key)) return;
  if (liveHeader(session.engine, key) !== undefined) {
    appendInteger(session.out, 0);
    return;
  }
  const start = session.out.length;
  appendInteger(session.out, 1);
  session.deferWrite(session.engine.write([replaceWrite(key, args[2]!, 0)]), start);
}

/** SETEX/PSETEX key amount value: SET with EX/PX, with Redis's checks of the amount. */
function setexVariant(flag: number, name: string) {
  return (session: CommandContext, args: Buffer[]): void => {
    const key = args[1]!;
    if (!checkKeyLength(session, key)) return;
    const expiresAtMs = expiryAtMs({ flags: flag, expiryArg: args[2]! }, session.engine.nowMs(), name);
    if (typeof expiresAtMs === 'string') return void appendError(session.out, expiresAtMs);
    writeThenOk(session, [replaceWrite(key, args[3]!, expiresAtMs)]);
  };
}

/** GETSET key value: SET key value GET (the TTL goes, as with SET). */
function getsetCommand(session: CommandContext, args: Buffer[]): void {
  const key = args[1]!;
  if (!checkKeyLength(session, key)) return;
  const engine = session.engine;
  const header = liveHeader(engine, key);
  if (header !== undefined && typeOf(header) !== KeyType.String) return void appendError(session.out, WRONGTYPE_ERROR);
  const start = session.out.length;
  appendBulkOrNull(session.out, header === undefined ? null : stringValue(engine, key, header), session.protocol);
  session.deferWrite(engine.write([replaceWrite(key, args[2]!, 0)]), start);
}

/**
 * GETEX key [EX|PX|EXAT|PXAT amount|PERSIST]: the value, and the header rewritten with
 * the new expiry (same value and observed slots, so concurrent increments still count).
 * An absolute time already past deletes the key; no option writes nothing.
 */
function getexCommand(session: CommandContext, args: Buffer[]): void {
  const options = parseStringOptions(args, 2, false);
  if (options === undefined) return void appendError(session.out, SYNTAX_ERROR);
  const engine = session.engine;
  const key = args[1]!;
  const header = liveHeader(engine, key);
  if (header === undefined) return void appendNull(session.out, session.protocol);
  if (typeOf(header) !== KeyType.String) return void appendError(session.out, WRONGTYPE_ERROR);
  const nowMs = engine.nowMs();
  let atMs: number | undefined;
  if (options.expiryArg !== undefined) {
    const parsed = expiryAtMs(options, nowMs, 'getex');
    if (typeof parsed === 'string') return void appendError(session.out, parsed);
    atMs = parsed;
  }
  const start = session.out.length;
  appendBulk(session.out, stringValue(engine, key, header));
  let write: ClientWrite;
  if (atMs !== undefined) write = isAbsoluteExpiry(options) && atMs <= nowMs ? deleteWrite(key) : expiryWrite(key, header, atMs);
  else if ((options.flags & StringOption.Persist) !== 0 && header.expiresAtMs !== 0) write = expiryWrite(key, header, 0);
  else return;
  session.deferWrite(engine.write([write]), start);
}

function getdelCommand(session: CommandContext, args: Buffer[]): void {
  const key = args[1]!;
  const old = readString(session.engine, key);
  if (old === WRONG_TYPE) return void appendError(session.out, WRONGTYPE_ERROR);
  if (old === null) return void appendNull(session.out, session.protocol);
  const start = session.out.length;
  appendBulk(session.out, old);
  session.deferWrite(session.engine.write([deleteWrite(key)]), start);
}

function strlenCommand(session: CommandContext, args: Buffer[]): void {
  const value = readString(session.engine, args[1]!);
  if (value === WRONG_TYPE) return void appendError(session.out, WRONGTYPE_ERROR);
  appendInteger(session.out, value === null ? 0 : value.length);
}

function mgetCommand(session: CommandContext, args: Buffer[]): void {
  const engine = session.engine;
  const out = session.out;
  appendArrayHeader(out, args.length - 1);
  for (let index = 1; index < args.length; index++) {
    const value = readString(engine, args[index]!);
    if (value === null || value === WRONG_TYPE) appendNull(out, session.protocol);
    else appendBulk(out, value);
  }
}

function msetCommand(session: CommandContext, args: Buffer[]): void {
  if (args.length % 2 === 0) return void appendError(session.out, "ERR wrong number of arguments for 'mset' command");
  const writes: ClientWrite[] = [];
  for (let index = 1; index < args.length; index += 2) {
    const key = args[index]!;
    if (!checkKeyLength(session, key)) return;
    writes.push(replaceWrite(key, args[index + 1]!, 0));
  }
  writeThenOk(session, writes);
}

/**
 * MSETNX key value [key value ...]: sets them all when none exists, judged on the local
 * view only (another node may create one of the keys at the same time; both writes then
 * merge by last-writer-wins like any SET).
 */
function msetnxCommand(session: CommandContext, args: Buffer[]): void {
  if (args.length % 2 === 0) return void appendError(session.out, "ERR wrong number of arguments for 'msetnx' command");
  const engine = session.engine;
  for (let index = 1; index < args.length; index += 2) {
    if (!checkKeyLength(session, args[index]!)) return;
  }
  for (let index = 1; index < args.length; index += 2) {
    if (liveHeader(engine, args[index]!) !== undefined) return void appendInteger(session.out, 0);
  }
  const writes: ClientWrite[] = [];
  for (let index = 1; index < args.length; index += 2) {
    writes.push(replaceWrite(args[index]!, args[index + 1]!, 0));
  }
  const start = session.out.length;
  appendInteger(session.out, 1);
  session.deferWrite(engine.write(writes), start);
}

/** Quorum reads wait at most this long by default for a majority to answer. */
const QUORUM_READ_TIMEOUT_MS = 2_000;

/** PEERKV.QGET key [timeoutMs]: GET from a majority of members (engine.quorumGet). */
function quorumGetCommand(session: CommandContext, args: Buffer[]): void {
  const engine = session.engine;
  if (engine.quorumGet === undefined) return void appendError(session.out, 'ERR quorum reads are not available on this node');
  const timeoutMs = args.length > 2 ? parseIntegerArg(args[2]!) : QUORUM_READ_TIMEOUT_MS;
  if (timeoutMs === undefined || timeoutMs <= 0) return void appendError(session.out, 'ERR timeout is not a positive integer');
  const version = session.protocol;
  const key = Buffer.from(args[1]!);
  session.deferReply(
    engine.quorumGet(headerRowKey(key), timeoutMs).then((record) => {
      const out = new RespOutput(64 + (record?.value?.length ?? 0));
      const header = record === undefined || isAbsent(record, engine.nowMs()) ? undefined : decodeHeader(record.value!);
      const value = header?.type === KeyType.String ? header.base!.bytes : null;
      if (value === null) appendNull(out, version);
      else appendBulk(out, value);
      return out.take();
    }),
  );
}

const { Write, ReadOnly, Fast } = CommandFlag;

export const STRING_COMMANDS: readonly CommandSpec[] = [
  command('get', 2, ReadOnly | Fast, ONE_KEY, 'string', 'Get the value of a key', getCommand),
  command('set', -3, Write, ONE_KEY, 'string', 'Set the value of a key, with optional expiry and conditions', setCommand),
  command('setnx', 3, Write | Fast, ONE_KEY, 'string', 'Set a key only if it does not exist', setnxCommand),
  command('setex', 4, Write, ONE_KEY, 'string', 'Set a key with an expiry in seconds', setexVariant(StringOption.ExpireSeconds, 'setex')),
  command('psetex', 4, Write, ONE_KEY, 'string', 'Set a key with an expiry in milliseconds', setexVariant(StringOption.ExpireMs, 'psetex')),
  command('getset', 3, Write | Fast, ONE_KEY, 'string', 'Set the value of a key and return its old value', getsetCommand),
  command('getdel', 2, Write | Fast, ONE_KEY, 'string', 'Get the value of a key and delete it', getdelCommand),
  command('getex', -2, Write | Fast, ONE_KEY, 'string', 'Get the value of a key and set or remove its expiry', getexCommand),
  command('strlen', 2, ReadOnly | Fast, ONE_KEY, 'string', 'Length of the value of a key', strlenCommand),
  command('mget', -2, ReadOnly | Fast, ALL_KEYS, 'string', 'Get the values of several keys', mgetCommand),
  command('peerkv.qget', -2, ReadOnly, ONE_KEY, 'string', 'Get the value of a key from a majority of members', quorumGetCommand),
  command('mset', -3, Write, [1, -1, 2], 'string', 'Set several keys', msetCommand),
  command('msetnx', -3, Write, [1, -1, 2], 'string', 'Set several keys only if none of them exists', msetnxCommand),
  ...STRING_EDIT_COMMANDS,
  ...LCS_COMMANDS,
  ...COUNTER_COMMANDS,
];

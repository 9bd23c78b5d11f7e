// String commands: GET SET MGET MSET (plus SETNX SETEX PSETEX GETDEL STRLEN, which are
// thin variants). Conditional forms read through engine.get first; it already reflects
// uncommitted writes, so commands of one pipeline see each other.
import { Buffer } from 'node:buffer';
import type { ClientWrite } from '../core/io.js';
import { RespOutput, appendArrayHeader, appendBulk, appendError, appendInteger, appendNull, appendOk } from '../wire/resp.js';
import {
  ALL_KEYS,
  CommandFlag,
  NOT_INTEGER_ERROR,
  ONE_KEY,
  SYNTAX_ERROR,
  argIs,
  checkKeyLength,
  command,
  parseIntegerArg,
  writeThenOk,
} from './common.js';
import type { Session } from './session.js';
import type { CommandSpec } from './table.js';
import { deleteWrite, liveHeader, readString, replaceWrite, stringValue, typeOf, WRONG_TYPE, WRONGTYPE_ERROR } from './typed-keys.js';
import { decodeHeader, headerRowKey, KeyType } from '../core/rows.js';
import { isAbsent } from '../core/record.js';

function getCommand(session: Session, args: Buffer[]): void {
  const value = readString(session.engine, args[1]!);
  if (value === WRONG_TYPE) return void appendError(session.out, WRONGTYPE_ERROR);
  const stats = session.server.stats;
  if (value === null) {
    stats.keyspaceMisses++;
    appendNull(session.out, session.protocol);
  } else {
    stats.keyspaceHits++;
    appendBulk(session.out, value);
  }
}

const enum Condition {
  Always,
  IfAbsent,
  IfPresent,
}

const enum ExpiryKind {
  None,
  RelativeSeconds,
  RelativeMs,
  AtSeconds,
  AtMs,
  Keep,
}

interface SetOptions {
  condition: Condition;
  returnOld: boolean;
  expiry: ExpiryKind;
  expiryArg: number;
}

/** Parse SET's options from args[3..]; replies with the error and returns undefined on bad input. */
function parseSetOptions(session: Session, args: Buffer[]): SetOptions | undefined {
  const options: SetOptions = { condition: Condition.Always, returnOld: false, expiry: ExpiryKind.None, expiryArg: 0 };
  for (let index = 3; index < args.length; index++) {
    const arg = args[index]!;
    let expiry = ExpiryKind.None;
    if (argIs(arg, 'nx') && options.condition !== Condition.IfPresent) options.condition = Condition.IfAbsent;
    else if (argIs(arg, 'xx') && options.condition !== Condition.IfAbsent) options.condition = Condition.IfPresent;
    else if (argIs(arg, 'get')) options.returnOld = true;
    else if (argIs(arg, 'keepttl') && options.expiry === ExpiryKind.None) options.expiry = ExpiryKind.Keep;
    else if (argIs(arg, 'ex')) expiry = ExpiryKind.RelativeSeconds;
    else if (argIs(arg, 'px')) expiry = ExpiryKind.RelativeMs;
    else if (argIs(arg, 'exat')) expiry = ExpiryKind.AtSeconds;
    else if (argIs(arg, 'pxat')) expiry = ExpiryKind.AtMs;
    else return replyError(session, SYNTAX_ERROR);
    if (expiry === ExpiryKind.None) continue;
    if (options.expiry !== ExpiryKind.None || index + 1 >= args.length) return replyError(session, SYNTAX_ERROR);
    const amount = parseIntegerArg(args[++index]!);
    if (amount === undefined) return replyError(session, NOT_INTEGER_ERROR);
    if (amount <= 0) return replyError(session, "ERR invalid expire time in 'set' command");
    options.expiry = expiry;
    options.expiryArg = amount;
  }
  return options;
}

function replyError(session: Session, message: string): undefined {
  appendError(session.out, message);
  return undefined;
}

/** Absolute expiry in ms for a relative or absolute amount; undefined if it overflows. */
function absoluteExpiryMs(kind: ExpiryKind, amount: number, nowMs: number): number | undefined {
  let atMs: number;
  if (kind === ExpiryKind.RelativeSeconds) atMs = nowMs + amount * 1000;
  else if (kind === ExpiryKind.RelativeMs) atMs = nowMs + amount;
  else if (kind === ExpiryKind.AtSeconds) atMs = amount * 1000;
  else atMs = amount;
  return Number.isSafeInteger(atMs) ? atMs : undefined;
}

function setCommand(session: Session, args: Buffer[]): void {
  const key = args[1]!;
  const value = args[2]!;
  if (!checkKeyLength(session, key)) return;
  if (args.length === 3) {
    writeThenOk(session, [replaceWrite(key, value, 0)]);
    return;
  }
  const options = parseSetOptions(session, args);
  if (options === undefined) return;
  const engine = session.engine;
  const nowMs = engine.nowMs();
  let expiresAtMs = 0;
  if (options.expiry !== ExpiryKind.None && options.expiry !== ExpiryKind.Keep) {
    const atMs = absoluteExpiryMs(options.expiry, options.expiryArg, nowMs);
    if (atMs === undefined) {
      appendError(session.out, "ERR invalid expire time in 'set' command");
      return;
    }
    expiresAtMs = atMs;
  }
  const header = liveHeader(engine, key);
  let old: Uint8Array | null = null;
  if (header !== undefined && options.returnOld) {
    if (typeOf(header) !== KeyType.String) return void appendError(session.out, WRONGTYPE_ERROR);
    old = stringValue(engine, key, header);
  }
  const exists = header !== undefined;
  const skip = (options.condition === Condition.IfAbsent && exists) || (options.condition === Condition.IfPresent && !exists);
  if (options.expiry === ExpiryKind.Keep && exists) expiresAtMs = header.expiresAtMs;
  const start = session.out.length;
  if (options.returnOld) {
    if (old === null) appendNull(session.out, session.protocol);
    else appendBulk(session.out, old);
  } else if (skip) {
    appendNull(session.out, session.protocol);
  } else {
    appendOk(session.out);
  }
  if (skip) return;
  // An absolute expiry already in the past stores nothing: the key is simply gone.
  const writes = [expiresAtMs !== 0 && expiresAtMs <= nowMs ? deleteWrite(key) : replaceWrite(key, value, expiresAtMs)];
  session.deferWrite(engine.write(writes), start);
}

function setnxCommand(session: Session, args: Buffer[]): void {
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

function setexVariant(unitMs: number, name: string) {
  return (session: Session, args: Buffer[]): void => {
    const key = args[1]!;
    if (!checkKeyLength(session, key)) return;
    const amount = parseIntegerArg(args[2]!);
    if (amount === undefined) return void appendError(session.out, NOT_INTEGER_ERROR);
    const expiresAtMs = session.engine.nowMs() + amount * unitMs;
    if (amount <= 0 || !Number.isSafeInteger(expiresAtMs)) return void appendError(session.out, `ERR invalid expire time in '${name}' command`);
    writeThenOk(session, [replaceWrite(key, args[3]!, expiresAtMs)]);
  };
}

function getdelCommand(session: Session, args: Buffer[]): void {
  const key = args[1]!;
  const old = readString(session.engine, key);
  if (old === WRONG_TYPE) return void appendError(session.out, WRONGTYPE_ERROR);
  if (old === null) return void appendNull(session.out, session.protocol);
  const start = session.out.length;
  appendBulk(session.out, old);
  session.deferWrite(session.engine.write([deleteWrite(key)]), start);
}

function strlenCommand(session: Session, args: Buffer[]): void {
  const value = readString(session.engine, args[1]!);
  if (value === WRONG_TYPE) return void appendError(session.out, WRONGTYPE_ERROR);
  appendInteger(session.out, value === null ? 0 : value.length);
}

function mgetCommand(session: Session, args: Buffer[]): void {
  const engine = session.engine;
  const out = session.out;
  appendArrayHeader(out, args.length - 1);
  for (let index = 1; index < args.length; index++) {
    const value = readString(engine, args[index]!);
    if (value === null || value === WRONG_TYPE) appendNull(out, session.protocol);
    else appendBulk(out, value);
  }
}

function msetCommand(session: Session, args: Buffer[]): void {
  if (args.length % 2 === 0) return void appendError(session.out, "ERR wrong number of arguments for 'mset' command");
  const writes: ClientWrite[] = [];
  for (let index = 1; index < args.length; index += 2) {
    const key = args[index]!;
    if (!checkKeyLength(session, key)) return;
    writes.push(replaceWrite(key, args[index + 1]!, 0));
  }
  writeThenOk(session, writes);
}

/** Quorum reads wait at most this long by default for a majority to answer. */
const QUORUM_READ_TIMEOUT_MS = 2_000;

/** PEERKV.QGET key [timeoutMs]: GET from a majority of members (engine.quorumGet). */
function quorumGetCommand(session: Session, args: Buffer[]): void {
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
  command('setex', 4, Write, ONE_KEY, 'string', 'Set a key with an expiry in seconds', setexVariant(1000, 'setex')),
  command('psetex', 4, Write, ONE_KEY, 'string', 'Set a key with an expiry in milliseconds', setexVariant(1, 'psetex')),
  command('getdel', 2, Write | Fast, ONE_KEY, 'string', 'Get the value of a key and delete it', getdelCommand),
  command('strlen', 2, ReadOnly | Fast, ONE_KEY, 'string', 'Length of the value of a key', strlenCommand),
  command('mget', -2, ReadOnly | Fast, ALL_KEYS, 'string', 'Get the values of several keys', mgetCommand),
  command('peerkv.qget', -2, ReadOnly, ONE_KEY, 'string', 'Get the value of a key from a majority of members', quorumGetCommand),
  command('mset', -3, Write, [1, -1, 2], 'string', 'Set several keys', msetCommand),
];

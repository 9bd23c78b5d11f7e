// Set commands (Redis 7.0 replies and errors) on rows: a set is a header of KeyType.Set and
// one Field row per member whose value is empty (hash-rows.ts helpers serve both). A
// member is a last-writer-wins register of presence: SADD writes it, SREM its tombstone,
// so a concurrent SADD and SREM of one member resolve by stamp, and SCARD reads the
// keyspace's element count. SREM/SPOP/SMOVE of the last member this node sees deletes the
// key (its clear row first, then the tombstones, as HDEL does). SPOP is a local pop: two
// nodes popping at once may pop the same member (at-least-once delivery across nodes).
// Set algebra (SINTER SUNION SDIFF and their STORE forms, SINTERCARD) reads the members
// of its inputs into memory: O(total members), as Redis's own.
import type { Buffer } from 'node:buffer';
import { bytesToMapKey, equalBytes } from '../core/bytes.js';
import { parseInteger64 } from '../core/counters.js';
import type { ClientWrite } from '../core/io.js';
import { encodeHeader, headerRowKey, KeyType } from '../core/rows.js';
import { appendArrayHeader, appendBulk, appendError, appendInteger, appendNull, type RespOutput, type RespVersion } from '../wire/resp.js';
import { ALL_KEYS, CommandFlag, NOT_INTEGER_ERROR, ONE_KEY, SYNTAX_ERROR, argIs, checkKeyLength, command } from './common.js';
import type { Engine } from './engine.js';
import { COUNT_RANGE_ERROR, distinctPositions, fieldsAt, hscanVariant, insertHeader, LONG_MAX, randomBelow, randomWithCount } from './hash-reads.js';
import { checkFieldLength, fieldRowKey, hashForRead, headerLast, hashForWrite, liveFieldRow, visitFields, type HashWriteTarget } from './hash-rows.js';
import type { CommandContext } from './context.js';
import type { CommandSpec } from './table.js';
import { deleteWrite, headerOfType, WRONG_TYPE, WRONGTYPE_ERROR } from './typed-keys.js';

/** The header row value of every set: the type alone. */
export const SET_HEADER = encodeHeader({ type: KeyType.Set, base: undefined });
/** The header of a reply that is a set: `~` in RESP3 (as Redis's addReplySetLen), an array in RESP2. */
function appendSetHeader(out: RespOutput, count: number, version: RespVersion): void {
  if (version === 3) {
    out.ascii(`~${count}`);
    out.crlf();
  } else {
    appendArrayHeader(out, count);
  }
}

/** A member row's value: present. */
const PRESENT = new Uint8Array(0);
const POSITIVE_COUNT_ERROR = 'ERR value is out of range, must be positive';

export function memberWrite(key: Uint8Array, member: Uint8Array): ClientWrite {
  return { key: fieldRowKey(key, member), value: PRESENT, expiresAtMs: 0 };
}

function memberTombstone(key: Uint8Array, member: Uint8Array): ClientWrite {
  return { key: fieldRowKey(key, member), value: null, expiresAtMs: 0 };
}

/** The rows that remove these live members (distinct): the key's clear first when they are all it has. */
export function removalWrites(engine: Engine, key: Uint8Array, members: readonly Uint8Array[]): ClientWrite[] {
  const tombstones = members.map((member) => memberTombstone(key, member));
  return members.length >= engine.fieldCount(key) ? [deleteWrite(key), ...tombstones] : tombstones;
}

/** True when member is in the set or sorted set key (the caller checked its type). */
function isMember(engine: Engine, key: Uint8Array, member: Uint8Array): boolean {
  return liveFieldRow(engine, key, member) !== undefined;
}

/** The member rows SADD writes for members not yet in the set (distinct), after the target's rows. */
function addWrites(engine: Engine, key: Uint8Array, target: HashWriteTarget, members: readonly Uint8Array[]): { writes: ClientWrite[]; added: number } {
  const writes = target.writes.slice();
  const seen = new Set<string>();
  let added = 0;
  for (const member of members) {
    const mapKey = bytesToMapKey(member);
    if (seen.has(mapKey)) continue;
    seen.add(mapKey);
    if (!target.created && isMember(engine, key, member)) continue;
    writes.push(memberWrite(key, member));
    added++;
  }
  return { writes, added };
}

function saddCommand(session: CommandContext, args: Buffer[]): void {
  const key = args[1]!;
  const target = hashForWrite(session, key, KeyType.Set);
  if (target === undefined) return;
  const members = args.slice(2);
  for (const member of members) if (!checkFieldLength(session, member, 'set member')) return;
  const { writes, added } = addWrites(session.engine, key, target, members);
  const start = session.out.length;
  appendInteger(session.out, added);
  if (added > 0) session.deferWrite(session.engine.write(headerLast(writes)), start);
}

/**
 * SREM and ZREM: remove the live members named (each once), replying how many; the last
 * one this node sees deletes the key (removalWrites).
 */
export function removeMembersCommand(type: typeof KeyType.Set | typeof KeyType.ZSet) {
  return (session: CommandContext, args: Buffer[]): void => {
    const key = args[1]!;
    const engine = session.engine;
    const header = headerOfType(engine, key, type);
    if (header === WRONG_TYPE) return void appendError(session.out, WRONGTYPE_ERROR);
    if (header === undefined) return void appendInteger(session.out, 0);
    const removed: Uint8Array[] = [];
    const seen = new Set<string>();
    for (let index = 2; index < args.length; index++) {
      const member = args[index]!;
      const mapKey = bytesToMapKey(member);
      if (seen.has(mapKey) || !isMember(engine, key, member)) continue;
      seen.add(mapKey);
      removed.push(member);
    }
    const start = session.out.length;
    appendInteger(session.out, removed.length);
    if (removed.length > 0) session.deferWrite(engine.write(removalWrites(engine, key, removed)), start);
  };
}

/** SMEMBERS: streamed in row order, counted as they go. */
function smembersCommand(session: CommandContext, args: Buffer[]): void {
  const key = args[1]!;
  const header = hashForRead(session, key, KeyType.Set);
  if (header === WRONG_TYPE) return;
  const out = session.out;
  if (header === undefined) return void appendSetHeader(out, 0, session.protocol);
  const start = out.length;
  let count = 0;
  visitFields(session.engine, key, undefined, Infinity, (member) => {
    count++;
    appendBulk(out, member);
  });
  insertHeader(out, start, (target) => appendSetHeader(target, count, session.protocol));
}

function sismemberCommand(session: CommandContext, args: Buffer[]): void {
  const key = args[1]!;
  const header = hashForRead(session, key, KeyType.Set);
  if (header === WRONG_TYPE) return;
  appendInteger(session.out, header !== undefined && isMember(session.engine, key, args[2]!) ? 1 : 0);
}

function smismemberCommand(session: CommandContext, args: Buffer[]): void {
  const key = args[1]!;
  const header = hashForRead(session, key, KeyType.Set);
  if (header === WRONG_TYPE) return;
  appendArrayHeader(session.out, args.length - 2);
  for (let index = 2; index < args.length; index++) {
    appendInteger(session.out, header !== undefined && isMember(session.engine, key, args[index]!) ? 1 : 0);
  }
}

function scardCommand(session: CommandContext, args: Buffer[]): void {
  const key = args[1]!;
  const header = hashForRead(session, key, KeyType.Set);
  if (header === WRONG_TYPE) return;
  appendInteger(session.out, header === undefined ? 0 : session.engine.fieldCount(key));
}

/** Every member of the set key (in row order), copied. */
function loadMembers(engine: Engine, key: Uint8Array): Uint8Array[] {
  const members: Uint8Array[] = [];
  visitFields(engine, key, undefined, Infinity, (member) => void members.push(Uint8Array.from(member)));
  return members;
}

/** SPOP key [count]: random members removed here (a local pop; see the file comment). */
function spopCommand(session: CommandContext, args: Buffer[]): void {
  const key = args[1]!;
  const out = session.out;
  if (args.length > 3) return void appendError(out, SYNTAX_ERROR);
  let count: number | undefined;
  if (args.length === 3) {
    const parsed = parseInteger64(args[2]!);
    if (parsed === undefined || parsed < 0n || parsed > LONG_MAX) return void appendError(out, parsed === undefined ? NOT_INTEGER_ERROR : POSITIVE_COUNT_ERROR);
    count = parsed > 2n ** 52n ? 2 ** 52 : Number(parsed);
  }
  const header = hashForRead(session, key, KeyType.Set);
  if (header === WRONG_TYPE) return;
  const engine = session.engine;
  if (header === undefined) return void (count === undefined ? appendNull(out, session.protocol) : appendSetHeader(out, 0, session.protocol));
  if (count === 0) return void appendSetHeader(out, 0, session.protocol);
  const size = engine.fieldCount(key);
  let popped: Uint8Array[];
  if (count !== undefined && count >= size) {
    popped = loadMembers(engine, key);
  } else {
    const positions = count === undefined ? [randomBelow(size)] : distinctPositions(count, size);
    popped = [...fieldsAt(engine, key, positions, false).values()].map((pick) => Uint8Array.from(pick.field));
  }
  const start = out.length;
  if (count === undefined) {
    if (popped.length === 0) return void appendNull(out, session.protocol);
    appendBulk(out, popped[0]!);
  } else {
    appendSetHeader(out, popped.length, session.protocol);
    for (const member of popped) appendBulk(out, member);
  }
  if (popped.length > 0) session.deferWrite(engine.write(removalWrites(engine, key, popped)), start);
}

/** SRANDMEMBER key [count]: HRANDFIELD's walk over the set's member rows. */
function srandmemberCommand(session: CommandContext, args: Buffer[]): void {
  const key = args[1]!;
  if (args.length > 3) return void appendError(session.out, SYNTAX_ERROR);
  if (args.length === 3) {
    const count = parseInteger64(args[2]!);
    if (count === undefined) return void appendError(session.out, NOT_INTEGER_ERROR);
    if (count < -LONG_MAX || count > LONG_MAX) return void appendError(session.out, COUNT_RANGE_ERROR);
    return randomWithCount(session, key, count, false, KeyType.Set);
  }
  const header = hashForRead(session, key, KeyType.Set);
  if (header === WRONG_TYPE) return;
  const engine = session.engine;
  const pick = header === undefined ? undefined : fieldsAt(engine, key, [randomBelow(engine.fieldCount(key))], false).values().next().value;
  if (pick === undefined) appendNull(session.out, session.protocol);
  else appendBulk(session.out, pick.field);
}

/** SMOVE source destination member: one batch removing it from source (the key with its last member) and adding it to destination. */
function smoveCommand(session: CommandContext, args: Buffer[]): void {
  const source = args[1]!;
  const destination = args[2]!;
  const member = args[3]!;
  const engine = session.engine;
  const sourceHeader = headerOfType(engine, source, KeyType.Set);
  if (sourceHeader === undefined) return void appendInteger(session.out, 0);
  if (sourceHeader === WRONG_TYPE) return void appendError(session.out, WRONGTYPE_ERROR);
  if (!checkKeyLength(session, destination)) return;
  if (!checkFieldLength(session, member, 'set member')) return;
  const target = hashForWrite(session, destination, KeyType.Set);
  if (target === undefined) return;
  const present = isMember(engine, source, member);
  if (equalBytes(source, destination)) return void appendInteger(session.out, present ? 1 : 0);
  if (!present) return void appendInteger(session.out, 0);
  const writes = removalWrites(engine, source, [member]);
  writes.push(...addWrites(engine, destination, target, [member]).writes);
  const start = session.out.length;
  appendInteger(session.out, 1);
  session.deferWrite(engine.write(headerLast(writes)), start);
}

const enum Algebra {
  Inter,
  Union,
  Diff,
}

/**
 * The result of a set operation over keys (members as map keys -> bytes); undefined after
 * replying WRONGTYPE (every key is type-checked first, as Redis does). A missing key is an
 * empty set.
 */
function combine(session: CommandContext, keys: readonly Uint8Array[], operation: Algebra, limit = 0): Map<string, Uint8Array> | undefined {
  const engine = session.engine;
  const exists: boolean[] = [];
  for (const key of keys) {
    const header = headerOfType(engine, key, KeyType.Set);
    if (header === WRONG_TYPE) {
      appendError(session.out, WRONGTYPE_ERROR);
      return undefined;
    }
    exists.push(header !== undefined);
  }
  const missing = exists.includes(false);
  const result = new Map<string, Uint8Array>();
  if (operation === Algebra.Inter) {
    if (missing) return result;
    const order = keys.map((key) => ({ key, size: engine.fieldCount(key) })).sort((a, b) => a.size - b.size);
    const [smallest, ...others] = order;
    visitFields(engine, smallest!.key, undefined, Infinity, (member) => {
      for (const other of others) if (!isMember(engine, other.key, member)) return true;
      result.set(bytesToMapKey(member), Uint8Array.from(member));
      return limit === 0 || result.size < limit;
    });
    return result;
  }
  if (operation === Algebra.Union) {
    keys.forEach((key, index) => {
      if (!exists[index]) return;
      visitFields(engine, key, undefined, Infinity, (member) => {
        const mapKey = bytesToMapKey(member);
        if (!result.has(mapKey)) result.set(mapKey, Uint8Array.from(member));
      });
    });
    return result;
  }
  if (!exists[0]) return result;
  const live = keys.filter((_, index) => index > 0 && exists[index]);
  visitFields(engine, keys[0]!, undefined, Infinity, (member) => {
    for (const other of live) if (isMember(engine, other, member)) return;
    result.set(bytesToMapKey(member), Uint8Array.from(member));
  });
  return result;
}

/** SINTER / SUNION / SDIFF key [key ...]. */
function algebraVariant(operation: Algebra) {
  return (session: CommandContext, args: Buffer[]): void => {
    const result = combine(session, args.slice(1), operation);
    if (result === undefined) return;
    appendSetHeader(session.out, result.size, session.protocol);
    for (const member of result.values()) appendBulk(session.out, member);
  };
}

/** SINTERSTORE / SUNIONSTORE / SDIFFSTORE destination key [key ...]: the destination replaced (deleted when the result is empty). */
function algebraStoreVariant(operation: Algebra) {
  return (session: CommandContext, args: Buffer[]): void => {
    const destination = args[1]!;
    if (!checkKeyLength(session, destination)) return;
    const result = combine(session, args.slice(2), operation);
    if (result === undefined) return;
    storeSet(session, destination, result.values(), result.size);
  };
}

/** Replace destination by a set of these members (or delete it when there are none); replies with the count. */
export function storeSet(session: CommandContext, destination: Uint8Array, members: Iterable<Uint8Array>, size: number): void {
  const engine = session.engine;
  const start = session.out.length;
  appendInteger(session.out, size);
  const writes: ClientWrite[] = [deleteWrite(destination)];
  if (size === 0) {
    if (engine.get(headerRowKey(destination)) === undefined && engine.fieldCount(destination) === 0) return;
  } else {
    writes.push({ key: headerRowKey(destination), value: SET_HEADER, expiresAtMs: 0 });
    for (const member of members) writes.push(memberWrite(destination, member));
  }
  session.deferWrite(engine.write(headerLast(writes)), start);
}

/** SINTERCARD numkeys key [key ...] [LIMIT limit]. */
function sintercardCommand(session: CommandContext, args: Buffer[]): void {
  const out = session.out;
  const numkeys = parseInteger64(args[1]!);
  if (numkeys === undefined || numkeys < 1n || numkeys > LONG_MAX) return void appendError(out, 'ERR numkeys should be greater than 0');
  if (numkeys > BigInt(args.length - 2)) return void appendError(out, "ERR Number of keys can't be greater than number of args");
  const keyCount = Number(numkeys);
  let limit = 0;
  for (let index = 2 + keyCount; index < args.length; index++) {
    if (argIs(args[index]!, 'limit') && index + 1 < args.length) {
      const parsed = parseInteger64(args[++index]!);
      if (parsed === undefined || parsed < 0n || parsed > LONG_MAX) return void appendError(out, "ERR LIMIT can't be negative");
      limit = parsed > 2n ** 52n ? 0 : Number(parsed);
    } else {
      return void appendError(out, SYNTAX_ERROR);
    }
  }
  const result = combine(session, args.slice(2, 2 + keyCount), Algebra.Inter, limit);
  if (result === undefined) return;
  appendInteger(out, result.size);
}

const { Write, ReadOnly, Fast } = CommandFlag;
const STORE_KEYS = [1, -1, 1] as const;

export const SET_COMMANDS: readonly CommandSpec[] = [
  command('sadd', -3, Write | Fast, ONE_KEY, 'set', 'Add members to a set; replies with the number added', saddCommand),
  command('srem', -3, Write | Fast, ONE_KEY, 'set', 'Remove members of a set (the key with its last member)', removeMembersCommand(KeyType.Set)),
  command('smembers', 2, ReadOnly, ONE_KEY, 'set', 'All members of a set', smembersCommand),
  command('sismember', 3, ReadOnly | Fast, ONE_KEY, 'set', 'Whether a member is in a set', sismemberCommand),
  command('smismember', -3, ReadOnly | Fast, ONE_KEY, 'set', 'Whether each member is in a set', smismemberCommand),
  command('scard', 2, ReadOnly | Fast, ONE_KEY, 'set', 'Number of members of a set', scardCommand),
  command('spop', -2, Write | Fast, ONE_KEY, 'set', 'Remove and return random members (a local pop)', spopCommand),
  command('srandmember', -2, ReadOnly, ONE_KEY, 'set', 'Random members of a set', srandmemberCommand),
  command('smove', 4, Write | Fast, [1, 2, 1], 'set', 'Move a member from one set to another', smoveCommand),
  command('sscan', -3, ReadOnly, ONE_KEY, 'set', 'Iterate the members of a set by cursor', hscanVariant(KeyType.Set, false)),
  command('sinter', -2, ReadOnly, ALL_KEYS, 'set', 'Intersection of sets', algebraVariant(Algebra.Inter)),
  command('sintercard', -3, ReadOnly, [2, 2, 1], 'set', 'Size of the intersection of sets, up to LIMIT', sintercardCommand),
  command('sunion', -2, ReadOnly, ALL_KEYS, 'set', 'Union of sets', algebraVariant(Algebra.Union)),
  command('sdiff', -2, ReadOnly, ALL_KEYS, 'set', 'Members of the first set not in the others', algebraVariant(Algebra.Diff)),
  command('sinterstore', -3, Write, STORE_KEYS, 'set', 'Store the intersection of sets', algebraStoreVariant(Algebra.Inter)),
  command('sunionstore', -3, Write, STORE_KEYS, 'set', 'Store the union of sets', algebraStoreVariant(Algebra.Union)),
  command('sdiffstore', -3, Write, STORE_KEYS, 'set', 'Store the difference of sets', algebraStoreVariant(Algebra.Diff)),
];

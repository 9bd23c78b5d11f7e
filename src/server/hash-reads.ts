// Whole-hash reads: HGETALL HKEYS HVALS stream the Field rows page by page straight into
// the reply; HSCAN resumes after a remembered row (scan-cursors.ts), COUNT rows per call;
// HRANDFIELD picks positions at random and walks the hash once to find them. None of
// them holds more of a hash in memory than its reply needs, whatever the hash's size.
import type { Buffer } from 'node:buffer';
import { parseInteger64 } from '../core/counters.js';
import { KeyType } from '../core/rows.js';
import type { VersionedRecord } from '../core/types.js';
import { RespOutput, appendArrayHeader, appendBulk, appendBulkText, appendError, appendMapHeader, appendNull, type RespVersion } from '../wire/resp.js';
import { CommandFlag, NOT_INTEGER_ERROR, ONE_KEY, SYNTAX_ERROR, argIs, command, parseIntegerArg } from './common.js';
import type { Engine } from './engine.js';
import { globMatch, isMatchAll } from './glob.js';
import { FieldSlots, hashForRead, visitFields } from './hash-rows.js';
import { parseScanCursor, scanCursorsOf } from './scan-cursors.js';
import type { CommandContext } from './context.js';
import type { Session } from './session.js';
import type { CommandSpec } from './table.js';
import { WRONG_TYPE } from './typed-keys.js';

/** HSCAN's default COUNT (Redis). */
const HSCAN_COUNT_DEFAULT = 10;
/** HSCAN COUNT is capped so one call cannot stall the node (rows read per call). */
const HSCAN_COUNT_MAX = 100_000;
/**
 * A hash of at most this many fields is returned by one HSCAN call, as Redis does for a
 * listpack-encoded hash (hash-max-listpack-entries), reading at most
 * HSCAN_SMALL_HASH_ROWS_MAX rows (tombstones included) before it hands out a cursor.
 */
const HSCAN_SMALL_HASH_FIELDS_MAX = 128;
const HSCAN_SMALL_HASH_ROWS_MAX = 1024;
/** HRANDFIELD with a negative count returns at most this many picks (each is kept until the reply is written). */
export const HRANDFIELD_PICKS_MAX = 1_000_000;
/** Redis's LONG_MAX: HRANDFIELD's count range. */
export const LONG_MAX = 2n ** 63n - 1n;
export const COUNT_RANGE_ERROR = `ERR value is out of range, value must between -${LONG_MAX} and ${LONG_MAX}`;
export const OUT_OF_RANGE_ERROR = 'ERR value is out of range';
const INVALID_CURSOR_ERROR = 'ERR invalid cursor';

/** Put a header (written by `write`) in front of the bytes appended since `start`. */
export function insertHeader(out: RespOutput, start: number, write: (header: RespOutput) => void): void {
  const header = new RespOutput(16);
  write(header);
  out.reserve(header.length);
  out.buffer.copyWithin(start + header.length, start, out.length);
  out.buffer.set(header.buffer.subarray(0, header.length), start);
  out.length += header.length;
}

const enum Parts {
  Fields = 1,
  Values = 2,
  Both = 3,
}

/** HGETALL (a map in RESP3), HKEYS, HVALS: the fields streamed in row order, counted as they go. */
function wholeHashVariant(parts: Parts) {
  return (session: CommandContext, args: Buffer[]): void => {
    const key = args[1]!;
    const header = hashForRead(session, key);
    if (header === WRONG_TYPE) return;
    const out = session.out;
    const version = session.protocol;
    const writeHeader = (target: RespOutput, count: number) => (parts === Parts.Both ? appendMapHeader(target, count, version) : appendArrayHeader(target, count));
    if (header === undefined) return void writeHeader(out, 0);
    const slots = (parts & Parts.Values) !== 0 ? new FieldSlots(session.engine, key, true) : undefined;
    const start = out.length;
    let count = 0;
    visitFields(session.engine, key, undefined, Infinity, (field, row) => {
      count++;
      if ((parts & Parts.Fields) !== 0) appendBulk(out, field);
      if (slots !== undefined) appendBulk(out, slots.value(field, row));
    });
    insertHeader(out, start, (target) => writeHeader(target, count));
  };
}

function appendEmptyScan(session: CommandContext): void {
  appendArrayHeader(session.out, 2);
  appendBulkText(session.out, '0');
  appendArrayHeader(session.out, 0);
}

/** HSCAN key cursor [MATCH pattern] [COUNT count]: pairs of field and value (SSCAN: members alone, by `type`). */
export function hscanVariant(type: KeyType, withValues: boolean) {
  return (session: Session, args: Buffer[]): void => scanElements(session, args, type, withValues);
}

function scanElements(session: Session, args: Buffer[], type: KeyType, withValues: boolean): void {
  const key = args[1]!;
  const cursor = parseScanCursor(args[2]!);
  if (cursor === undefined) return void appendError(session.out, INVALID_CURSOR_ERROR);
  const header = hashForRead(session, key, type);
  if (header === WRONG_TYPE) return;
  if (header === undefined) return appendEmptyScan(session);
  let pattern: Buffer | undefined;
  let count = HSCAN_COUNT_DEFAULT;
  for (let index = 3; index < args.length; index += 2) {
    const option = args[index]!;
    const value = args[index + 1];
    if (value !== undefined && argIs(option, 'count')) {
      const parsed = parseIntegerArg(value);
      if (parsed === undefined) return void appendError(session.out, NOT_INTEGER_ERROR);
      if (parsed < 1) return void appendError(session.out, SYNTAX_ERROR);
      count = Math.min(parsed, HSCAN_COUNT_MAX);
    } else if (value !== undefined && argIs(option, 'match')) {
      pattern = isMatchAll(value) ? undefined : value;
    } else {
      return void appendError(session.out, SYNTAX_ERROR);
    }
  }
  const engine = session.engine;
  const cursors = scanCursorsOf(session.server);
  const after = cursor === '0' ? undefined : cursors.resume(cursor, key);
  const rowsMax = engine.fieldCount(key) <= HSCAN_SMALL_HASH_FIELDS_MAX ? Math.max(count, HSCAN_SMALL_HASH_ROWS_MAX) : count;
  const slots = withValues ? new FieldSlots(engine, key, false) : undefined;
  const items: Uint8Array[] = [];
  const walk = visitFields(engine, key, after, rowsMax, (field, row) => {
    if (pattern !== undefined && !globMatch(pattern, field)) return;
    items.push(field);
    if (slots !== undefined) items.push(slots.value(field, row));
  });
  const out = session.out;
  appendArrayHeader(out, 2);
  appendBulkText(out, walk.done || walk.last === undefined ? '0' : cursors.save(key, walk.last));
  appendArrayHeader(out, items.length);
  for (const item of items) appendBulk(out, item);
}

/** A uniform random integer in [0, bound). */
export function randomBelow(bound: number): number {
  return Math.floor(Math.random() * bound);
}

interface Pick {
  readonly field: Uint8Array;
  readonly value: Uint8Array | undefined;
}

/** The live fields at these positions (ascending, distinct) in row order, found in one walk. */
export function fieldsAt(engine: Engine, key: Uint8Array, positions: readonly number[], withValues: boolean): Map<number, Pick> {
  const found = new Map<number, Pick>();
  if (positions.length === 0) return found;
  const slots = withValues ? new FieldSlots(engine, key, positions.length > 1) : undefined;
  let position = 0;
  let next = 0;
  visitFields(engine, key, undefined, Infinity, (field, row: VersionedRecord) => {
    if (position++ !== positions[next]) return true;
    found.set(positions[next]!, { field, value: slots?.value(field, row) });
    return ++next < positions.length;
  });
  return found;
}

function appendPicks(out: RespOutput, picks: readonly Pick[], withValues: boolean, version: RespVersion): void {
  appendArrayHeader(out, withValues && version === 2 ? picks.length * 2 : picks.length);
  for (const pick of picks) {
    if (withValues && version === 3) appendArrayHeader(out, 2);
    appendBulk(out, pick.field);
    if (withValues) appendBulk(out, pick.value!);
  }
}

/** Fisher-Yates: picks found in row order come out in random order, as Redis's do. */
export function shuffle<T>(items: T[]): T[] {
  for (let index = items.length - 1; index > 0; index--) {
    const other = randomBelow(index + 1);
    [items[index], items[other]] = [items[other]!, items[index]!];
  }
  return items;
}

/** Floyd's sampling: `count` distinct positions of [0, size), ascending. */
export function distinctPositions(count: number, size: number): number[] {
  const chosen = new Set<number>();
  for (let bound = size - count; bound < size; bound++) {
    const candidate = randomBelow(bound + 1);
    chosen.add(chosen.has(candidate) ? bound : candidate);
  }
  return [...chosen].sort((a, b) => a - b);
}

/** HRANDFIELD key count [WITHVALUES]: distinct fields for a positive count, repeats allowed for a negative one (SRANDMEMBER by `type`). */
export function randomWithCount(session: CommandContext, key: Uint8Array, count: bigint, withValues: boolean, type: KeyType = KeyType.Hash): void {
  const header = hashForRead(session, key, type);
  if (header === WRONG_TYPE) return;
  const out = session.out;
  if (header === undefined || count === 0n) return void appendArrayHeader(out, 0);
  const engine = session.engine;
  const size = engine.fieldCount(key);
  if (count < 0n) {
    if (-count > BigInt(HRANDFIELD_PICKS_MAX)) return void appendError(out, OUT_OF_RANGE_ERROR);
    const draws = Array.from({ length: Number(-count) }, () => randomBelow(size));
    const found = fieldsAt(engine, key, [...new Set(draws)].sort((a, b) => a - b), withValues);
    const picks: Pick[] = [];
    for (const position of draws) {
      const pick = found.get(position);
      if (pick !== undefined) picks.push(pick);
    }
    return appendPicks(out, picks, withValues, session.protocol);
  }
  if (count >= BigInt(size)) {
    // The whole hash, streamed.
    const slots = withValues ? new FieldSlots(engine, key, true) : undefined;
    const version = session.protocol;
    const start = out.length;
    let picked = 0;
    visitFields(engine, key, undefined, Infinity, (field, row) => {
      picked++;
      if (slots !== undefined && version === 3) appendArrayHeader(out, 2);
      appendBulk(out, field);
      if (slots !== undefined) appendBulk(out, slots.value(field, row));
    });
    return insertHeader(out, start, (target) => appendArrayHeader(target, slots !== undefined && version === 2 ? picked * 2 : picked));
  }
  const found = fieldsAt(engine, key, distinctPositions(Number(count), size), withValues);
  appendPicks(out, shuffle([...found.values()]), withValues, session.protocol);
}

/** HRANDFIELD key [count [WITHVALUES]]: argument checks in Redis's order (count, then syntax, then range). */
function hrandfieldCommand(session: CommandContext, args: Buffer[]): void {
  const key = args[1]!;
  if (args.length >= 3) {
    const count = parseInteger64(args[2]!);
    if (count === undefined) return void appendError(session.out, NOT_INTEGER_ERROR);
    if (count < -LONG_MAX || count > LONG_MAX) return void appendError(session.out, COUNT_RANGE_ERROR);
    if (args.length > 4 || (args.length === 4 && !argIs(args[3]!, 'withvalues'))) return void appendError(session.out, SYNTAX_ERROR);
    const withValues = args.length === 4;
    if (withValues && (count < -LONG_MAX / 2n || count > LONG_MAX / 2n)) return void appendError(session.out, OUT_OF_RANGE_ERROR);
    return randomWithCount(session, key, count, withValues);
  }
  const header = hashForRead(session, key);
  if (header === WRONG_TYPE) return;
  const engine = session.engine;
  const pick = header === undefined ? undefined : fieldsAt(engine, key, [randomBelow(engine.fieldCount(key))], false).values().next().value;
  if (pick === undefined) appendNull(session.out, session.protocol);
  else appendBulk(session.out, pick.field);
}

const { ReadOnly } = CommandFlag;

export const HASH_READ_COMMANDS: readonly CommandSpec[] = [
  command('hgetall', 2, ReadOnly, ONE_KEY, 'hash', 'All fields and values of a hash', wholeHashVariant(Parts.Both)),
  command('hkeys', 2, ReadOnly, ONE_KEY, 'hash', 'All fields of a hash', wholeHashVariant(Parts.Fields)),
  command('hvals', 2, ReadOnly, ONE_KEY, 'hash', 'All values of a hash', wholeHashVariant(Parts.Values)),
  command('hscan', -3, ReadOnly, ONE_KEY, 'hash', 'Iterate the fields and values of a hash by cursor', hscanVariant(KeyType.Hash, true)),
  command('hrandfield', -2, ReadOnly, ONE_KEY, 'hash', 'Random fields of a hash', hrandfieldCommand),
];

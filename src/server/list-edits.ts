// List edits (Redis 7.0 replies and errors): LSET LINSERT LREM LTRIM LPOS LMOVE RPOPLPUSH
// LMPOP. LSET rewrites one Item row (last writer wins on the element); LINSERT takes a
// position between the pivot and its neighbour; LREM and LTRIM write tombstones (and the
// key's clear row when nothing would remain). All of them walk the list from its head.
import { Buffer } from 'node:buffer';
import { equalBytes } from '../core/bytes.js';
import type { ClientWrite } from '../core/io.js';
import { KeyType } from '../core/rows.js';
import { appendArrayHeader, appendBulk, appendError, appendInteger, appendNull, appendNullArray, appendOk, type RespOutput, type RespVersion } from '../wire/resp.js';
import { CommandFlag, NOT_INTEGER_ERROR, ONE_KEY, SYNTAX_ERROR, argIs, command } from './common.js';
import type { Engine } from './engine.js';
import {
  checkElementLength,
  itemTombstone,
  listForRead,
  listHeaderWrite,
  listWriteTarget,
  popItems,
  positionBetweenItems,
  pushWrites,
  removalWrites,
  visitItems,
  visitItemsReverse,
  itemSpan,
  type Item,
} from './list-rows.js';
import type { CommandContext } from './context.js';
import type { CommandSpec } from './command-spec.js';
import { deleteWrite, headerOfType, WRONG_TYPE, WRONGTYPE_ERROR } from './typed-keys.js';

const LONG_MAX = 2n ** 63n - 1n;

/** A Redis `long` in [min, max], or the error to reply with (`message` for both failures when given). */
function rangeLong(arg: Uint8Array, min: number, max: number, message?: string): number | string {
  const text = Buffer.from(arg).toString('latin1');
  const value = /^-?\d+$/.test(text) && !/^-?0\d/.test(text) && text !== '-0' ? BigInt(text) : undefined;
  if (value === undefined || value > LONG_MAX || value < -LONG_MAX - 1n) return message === undefined ? NOT_INTEGER_ERROR : `ERR ${message}`;
  if (value < BigInt(min) || value > BigInt(max)) return message === undefined ? `ERR value is out of range, value must between ${min} and ${max}` : `ERR ${message}`;
  return Number(value);
}

function longArg(arg: Uint8Array): number | undefined {
  const parsed = rangeLong(arg, Number.MIN_SAFE_INTEGER * 1024, Number.MAX_SAFE_INTEGER * 1024);
  return typeof parsed === 'number' ? parsed : undefined;
}

function lsetCommand(session: CommandContext, args: Buffer[]): void {
  const index = longArg(args[2]!);
  if (index === undefined) return void appendError(session.out, NOT_INTEGER_ERROR);
  const key = args[1]!;
  const engine = session.engine;
  const header = headerOfType(engine, key, KeyType.List);
  if (header === WRONG_TYPE) return void appendError(session.out, WRONGTYPE_ERROR);
  if (header === undefined) return void appendError(session.out, 'ERR no such key');
  if (!checkElementLength(session, args[3]!)) return;
  const length = engine.fieldCount(key);
  const at = index < 0 ? index + length : index;
  if (at < 0 || at >= length) return void appendError(session.out, 'ERR index out of range');
  const found: Item | undefined = itemSpan(engine, key, at, at, length)[0];
  if (found === undefined) return void appendError(session.out, 'ERR index out of range');
  const start = session.out.length;
  appendOk(session.out);
  session.deferWrite(engine.write([{ key: found.row, value: args[3]!, expiresAtMs: 0 }, listHeaderWrite(key, header)]), start);
}

function linsertCommand(session: CommandContext, args: Buffer[]): void {
  let before: boolean;
  if (argIs(args[2]!, 'before')) before = true;
  else if (argIs(args[2]!, 'after')) before = false;
  else return void appendError(session.out, SYNTAX_ERROR);
  const key = args[1]!;
  const engine = session.engine;
  const header = headerOfType(engine, key, KeyType.List);
  if (header === WRONG_TYPE) return void appendError(session.out, WRONGTYPE_ERROR);
  if (header === undefined) return void appendInteger(session.out, 0);
  if (!checkElementLength(session, args[4]!)) return;
  const pivot = args[3]!;
  let previous: Item | undefined;
  let found: Item | undefined;
  let next: Item | undefined;
  visitItems(engine, key, undefined, (item) => {
    if (found !== undefined) {
      next = item;
      return false;
    }
    if (equalBytes(item.value, pivot)) {
      found = item;
      return !before; // AFTER needs the next one too
    }
    previous = item;
    return true;
  });
  if (found === undefined) return void appendInteger(session.out, -1);
  const pivotItem: Item = found;
  const position = before ? positionBetweenItems(engine, previous?.position, pivotItem.position) : positionBetweenItems(engine, pivotItem.position, (next as Item | undefined)?.position);
  const start = session.out.length;
  appendInteger(session.out, engine.fieldCount(key) + 1);
  session.deferWrite(engine.write([{ key: withPosition(pivotItem, position), value: args[4]!, expiresAtMs: 0 }, listHeaderWrite(key, header)]), start);
}

/** The row key of `item`'s list with another position. */
function withPosition(item: Item, position: Uint8Array): Uint8Array {
  const prefixLength = item.row.length - item.position.length;
  const row = new Uint8Array(prefixLength + position.length);
  row.set(item.row.subarray(0, prefixLength), 0);
  row.set(position, prefixLength);
  return row;
}

function lremCommand(session: CommandContext, args: Buffer[]): void {
  const count = longArg(args[2]!);
  if (count === undefined) return void appendError(session.out, NOT_INTEGER_ERROR);
  const key = args[1]!;
  const engine = session.engine;
  const header = headerOfType(engine, key, KeyType.List);
  if (header === WRONG_TYPE) return void appendError(session.out, WRONGTYPE_ERROR);
  if (header === undefined) return void appendInteger(session.out, 0);
  const element = args[3]!;
  let removed: Item[] = [];
  if (count > 0) {
    visitItems(engine, key, undefined, (item) => {
      if (equalBytes(item.value, element)) removed.push(item);
      return removed.length < count;
    });
  } else {
    // From the tail: LREM key -1 x costs what it finds.
    const wanted = count < 0 ? -count : Infinity;
    visitItemsReverse(engine, key, undefined, (item) => {
      if (equalBytes(item.value, element)) removed.push(item);
      return removed.length < wanted;
    });
    removed.reverse();
  }
  const start = session.out.length;
  appendInteger(session.out, removed.length);
  if (removed.length > 0) session.deferWrite(engine.write(removalWrites(engine, key, removed)), start);
}

function ltrimCommand(session: CommandContext, args: Buffer[]): void {
  let start = longArg(args[2]!);
  let end = longArg(args[3]!);
  if (start === undefined || end === undefined) return void appendError(session.out, NOT_INTEGER_ERROR);
  const key = args[1]!;
  const engine = session.engine;
  const header = headerOfType(engine, key, KeyType.List);
  if (header === WRONG_TYPE) return void appendError(session.out, WRONGTYPE_ERROR);
  if (header === undefined) return void appendOk(session.out);
  const length = engine.fieldCount(key);
  if (start < 0) start += length;
  if (end < 0) end += length;
  if (start < 0) start = 0;
  const writes: ClientWrite[] = [];
  if (start > end || start >= length) {
    writes.push(deleteWrite(key));
  } else {
    if (end >= length) end = length - 1;
    // Only the trimmed ends are read: from the head up to start, from the tail down to end.
    let index = 0;
    if (start > 0) {
      visitItems(engine, key, undefined, (item) => {
        writes.push(itemTombstone(item));
        return ++index < start!;
      });
    }
    index = length - 1;
    if (end < length - 1) {
      visitItemsReverse(engine, key, undefined, (item) => {
        writes.push(itemTombstone(item));
        return --index > end!;
      });
    }
  }
  const replyStart = session.out.length;
  appendOk(session.out);
  if (writes.length > 0) session.deferWrite(engine.write(writes), replyStart);
}

function lposCommand(session: CommandContext, args: Buffer[]): void {
  let rank = 1;
  let count = -1;
  let maxlen = 0;
  for (let index = 3; index < args.length; index++) {
    const option = args[index]!;
    const more = index + 1 < args.length;
    if (more && argIs(option, 'rank')) {
      const parsed = rangeLong(args[++index]!, -Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
      if (typeof parsed === 'string') return void appendError(session.out, parsed);
      if (parsed === 0) return void appendError(session.out, "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list");
      rank = parsed;
    } else if (more && argIs(option, 'count')) {
      const parsed = rangeLong(args[++index]!, 0, Number.MAX_SAFE_INTEGER, "COUNT can't be negative");
      if (typeof parsed === 'string') return void appendError(session.out, parsed);
      count = parsed;
    } else if (more && argIs(option, 'maxlen')) {
      const parsed = rangeLong(args[++index]!, 0, Number.MAX_SAFE_INTEGER, "MAXLEN can't be negative");
      if (typeof parsed === 'string') return void appendError(session.out, parsed);
      maxlen = parsed;
    } else {
      return void appendError(session.out, SYNTAX_ERROR);
    }
  }
  const key = args[1]!;
  const header = listForRead(session, key);
  if (header === WRONG_TYPE) return;
  const out = session.out;
  if (header === undefined) return void (count !== -1 ? appendArrayHeader(out, 0) : appendNull(out, session.protocol));
  const element = args[2]!;
  const wanted = count === -1 ? 1 : count === 0 ? Infinity : count;
  let skip = Math.abs(rank) - 1;
  const matches: number[] = [];
  const engine = session.engine;
  if (rank > 0) {
    let index = 0;
    visitItems(engine, key, undefined, (item) => {
      if (maxlen !== 0 && index >= maxlen) return false;
      if (equalBytes(item.value, element)) {
        if (skip > 0) skip--;
        else matches.push(index);
      }
      index++;
      return matches.length < wanted;
    });
  } else {
    let index = engine.fieldCount(key);
    let compared = 0;
    visitItemsReverse(engine, key, undefined, (item) => {
      index--;
      if (maxlen !== 0 && compared++ >= maxlen) return false;
      if (equalBytes(item.value, element)) {
        if (skip > 0) skip--;
        else matches.push(index);
      }
      return matches.length < wanted;
    });
  }
  if (count === -1) {
    if (matches.length === 0) appendNull(out, session.protocol);
    else appendInteger(out, matches[0]!);
    return;
  }
  appendArrayHeader(out, matches.length);
  for (const match of matches) appendInteger(out, match);
}

// ---- Moves and multi-key pops (also what the blocking forms run when they are served) ----

/** LMOVE's rows: the element moved from one end of src to one end of dst; undefined when src is absent. */
export function moveElement(engine: Engine, source: Uint8Array, destination: Uint8Array, fromLeft: boolean, toLeft: boolean): { value: Uint8Array; writes: ClientWrite[] } | undefined | typeof WRONG_TYPE {
  const header = headerOfType(engine, source, KeyType.List);
  if (header === WRONG_TYPE) return WRONG_TYPE;
  if (header === undefined) return undefined;
  const target = listWriteTarget(engine, destination);
  if (target === WRONG_TYPE) return WRONG_TYPE;
  if (equalBytes(source, destination)) {
    const item = popItems(engine, source, fromLeft, 1).items[0]!;
    return { value: item.value, writes: [itemTombstone(item), ...pushWrites(engine, destination, target, [item.value], toLeft)] };
  }
  const popped = popItems(engine, source, fromLeft, 1);
  const value = popped.items[0]!.value;
  return { value, writes: [...popped.writes, ...pushWrites(engine, destination, target, [value], toLeft)] };
}

/** LEFT / RIGHT, or undefined. */
export function parseSide(arg: Uint8Array): boolean | undefined {
  if (argIs(arg, 'left')) return true;
  if (argIs(arg, 'right')) return false;
  return undefined;
}

/** Reply with LMOVE's result and commit its rows. */
export function replyMove(session: CommandContext, moved: { value: Uint8Array; writes: ClientWrite[] } | undefined | typeof WRONG_TYPE): void {
  if (moved === WRONG_TYPE) return void appendError(session.out, WRONGTYPE_ERROR);
  if (moved === undefined) return void appendNull(session.out, session.protocol);
  const start = session.out.length;
  appendBulk(session.out, moved.value);
  session.deferWrite(session.engine.write(moved.writes), start);
}

function lmoveCommand(session: CommandContext, args: Buffer[]): void {
  const fromLeft = parseSide(args[3]!);
  const toLeft = parseSide(args[4]!);
  if (fromLeft === undefined || toLeft === undefined) return void appendError(session.out, SYNTAX_ERROR);
  replyMove(session, moveElement(session.engine, args[1]!, args[2]!, fromLeft, toLeft));
}

function rpoplpushCommand(session: CommandContext, args: Buffer[]): void {
  replyMove(session, moveElement(session.engine, args[1]!, args[2]!, false, true));
}

/** LMPOP / BLMPOP arguments from numkeys on. */
export interface MultiPop {
  readonly keys: Buffer[];
  readonly left: boolean;
  readonly count: number;
}

/** Parse [numkeys key ... LEFT|RIGHT [COUNT n]] starting at args[from]; an error text on failure. */
export function parseMultiPop(args: Buffer[], from: number): MultiPop | string {
  const numkeys = rangeLong(args[from]!, 1, Number.MAX_SAFE_INTEGER, 'numkeys should be greater than 0');
  if (typeof numkeys === 'string') return numkeys;
  const whereIndex = from + numkeys + 1;
  if (whereIndex >= args.length) return SYNTAX_ERROR;
  const left = parseSide(args[whereIndex]!);
  if (left === undefined) return SYNTAX_ERROR;
  let count = -1;
  for (let index = whereIndex + 1; index < args.length; index++) {
    if (count === -1 && argIs(args[index]!, 'count') && index + 1 < args.length) {
      const parsed = rangeLong(args[++index]!, 1, Number.MAX_SAFE_INTEGER, 'count should be greater than 0');
      if (typeof parsed === 'string') return parsed;
      count = parsed;
    } else {
      return SYNTAX_ERROR;
    }
  }
  return { keys: args.slice(from + 1, whereIndex), left, count: count === -1 ? 1 : count };
}

/** The first key of `keys` holding a list, popped: its rows and reply parts; undefined when none; WRONG_TYPE. */
export function popFirstNonEmpty(engine: Engine, keys: readonly Uint8Array[], left: boolean, count: number): { key: Uint8Array; items: Item[]; writes: ClientWrite[] } | undefined | typeof WRONG_TYPE {
  for (const key of keys) {
    const header = headerOfType(engine, key, KeyType.List);
    if (header === WRONG_TYPE) return WRONG_TYPE;
    if (header === undefined) continue;
    const popped = popItems(engine, key, left, count);
    if (popped.items.length > 0) return { key, ...popped };
  }
  return undefined;
}

/** LMPOP's reply: [key, [elements]]. */
export function appendKeyAndItems(out: RespOutput, key: Uint8Array, items: readonly Item[]): void {
  appendArrayHeader(out, 2);
  appendBulk(out, key);
  appendArrayHeader(out, items.length);
  for (const item of items) appendBulk(out, item.value);
}

export function appendNoPop(out: RespOutput, version: RespVersion): void {
  appendNullArray(out, version);
}

function lmpopCommand(session: CommandContext, args: Buffer[]): void {
  const parsed = parseMultiPop(args, 1);
  if (typeof parsed === 'string') return void appendError(session.out, parsed);
  const popped = popFirstNonEmpty(session.engine, parsed.keys, parsed.left, parsed.count);
  if (popped === WRONG_TYPE) return void appendError(session.out, WRONGTYPE_ERROR);
  if (popped === undefined) return void appendNullArray(session.out, session.protocol);
  const start = session.out.length;
  appendKeyAndItems(session.out, popped.key, popped.items);
  session.deferWrite(session.engine.write(popped.writes), start);
}

const { Write, ReadOnly } = CommandFlag;
const TWO_KEYS = [1, 2, 1] as const;

export const LIST_EDIT_COMMANDS: readonly CommandSpec[] = [
  command('lset', 4, Write, ONE_KEY, 'list', 'Set the element at an index (last writer wins on the element)', lsetCommand),
  command('linsert', 5, Write, ONE_KEY, 'list', 'Insert an element before or after a pivot', linsertCommand),
  command('lrem', 4, Write, ONE_KEY, 'list', 'Remove occurrences of an element', lremCommand),
  command('ltrim', 4, Write, ONE_KEY, 'list', 'Keep only an index range of a list', ltrimCommand),
  command('lpos', -3, ReadOnly, ONE_KEY, 'list', 'Indexes of matching elements', lposCommand),
  command('lmove', 5, Write, TWO_KEYS, 'list', 'Pop an element from one list and push it to another', lmoveCommand),
  command('rpoplpush', 3, Write, TWO_KEYS, 'list', 'Pop the last element of a list and prepend it to another', rpoplpushCommand),
  command('lmpop', -4, Write, [0, 0, 0], 'list', 'Pop elements from the first non-empty list of several', lmpopCommand),
];

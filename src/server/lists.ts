// List commands (Redis 7.0 replies and errors) on rows (list-rows.ts): LPUSH RPUSH LPUSHX
// RPUSHX LPOP RPOP LLEN LRANGE LINDEX here; LSET LINSERT LREM LTRIM LPOS LMOVE RPOPLPUSH
// LMPOP in list-edits.ts; the blocking forms in list-blocking.ts. Every element is its own
// row, so a push writes one row per element and LLEN reads the keyspace's element count.
// Multi-master (DESIGN.md 6): pushes on two nodes both land, ordered the same everywhere
// by position id; pops are at-least-once across nodes (two nodes may pop the same element
// at once); popping the last element this node sees deletes the key (its clear row, as
// DEL), and a push made concurrently elsewhere and stamped after that clear survives it.
import type { Buffer } from 'node:buffer';
import { appendArrayHeader, appendBulk, appendError, appendInteger, appendNull, appendNullArray } from '../wire/resp.js';
import { CommandFlag, NOT_INTEGER_ERROR, ONE_KEY, command } from './common.js';
import { checkElementLength, headItems, itemSpan, listForRead, listForWrite, parseLongArg, popItems, pushWrites, type Item } from './list-rows.js';
import type { CommandContext } from './context.js';
import type { CommandSpec } from './table.js';
import { headerOfType, WRONG_TYPE, WRONGTYPE_ERROR } from './typed-keys.js';
import { KeyType } from '../core/rows.js';
import { LIST_EDIT_COMMANDS } from './list-edits.js';
import { LIST_BLOCKING_COMMANDS } from './list-blocking.js';
import { SORT_COMMANDS } from './list-sort.js';

export const POSITIVE_ERROR = 'ERR value is out of range, must be positive';

/** LPUSH RPUSH LPUSHX RPUSHX key element [element ...]: the new length. */
function pushVariant(left: boolean, onlyExisting: boolean) {
  return (session: CommandContext, args: Buffer[]): void => {
    const key = args[1]!;
    const target = listForWrite(session, key);
    if (target === undefined) return;
    if (onlyExisting && target.created) return void appendInteger(session.out, 0);
    const values = args.slice(2);
    for (const value of values) if (!checkElementLength(session, value)) return;
    const engine = session.engine;
    const length = (target.created ? 0 : engine.fieldCount(key)) + values.length;
    const writes = pushWrites(engine, key, target, values, left);
    const start = session.out.length;
    appendInteger(session.out, length);
    session.deferWrite(engine.write(writes), start);
  };
}

/** LPOP RPOP key [count]. */
function popVariant(name: 'lpop' | 'rpop') {
  return (session: CommandContext, args: Buffer[]): void => {
    if (args.length > 3) return void appendError(session.out, `ERR wrong number of arguments for '${name}' command`);
    let count = 1;
    const hasCount = args.length === 3;
    if (hasCount) {
      const parsed = parseLongArg(args[2]!);
      if (parsed === undefined || parsed < 0) return void appendError(session.out, POSITIVE_ERROR);
      count = parsed;
    }
    const key = args[1]!;
    const engine = session.engine;
    const header = headerOfType(engine, key, KeyType.List);
    if (header === WRONG_TYPE) return void appendError(session.out, WRONGTYPE_ERROR);
    if (header === undefined) return void (hasCount ? appendNullArray(session.out, session.protocol) : appendNull(session.out, session.protocol));
    if (hasCount && count === 0) return void appendArrayHeader(session.out, 0);
    const { items, writes } = popItems(engine, key, name === 'lpop', count);
    const start = session.out.length;
    if (hasCount) appendArrayHeader(session.out, items.length);
    for (const item of items) appendBulk(session.out, item.value);
    if (writes.length > 0) session.deferWrite(engine.write(writes), start);
  };
}

function llenCommand(session: CommandContext, args: Buffer[]): void {
  const key = args[1]!;
  const header = listForRead(session, key);
  if (header === WRONG_TYPE) return;
  appendInteger(session.out, header === undefined ? 0 : session.engine.fieldCount(key));
}

/** Redis's index range of LRANGE over a list of `length`: [start, end] or undefined when empty. */
export function normalizeRange(start: number, end: number, length: number): [number, number] | undefined {
  if (start < 0) start += length;
  if (end < 0) end += length;
  if (start < 0) start = 0;
  if (start > end || start >= length) return undefined;
  if (end >= length) end = length - 1;
  return [start, end];
}

/** Live items at indexes [start, end] (inclusive, within the list), walking from the nearer end. */
export function itemRange(session: CommandContext, key: Uint8Array, start: number, end: number): Item[] {
  return itemSpan(session.engine, key, start, end, session.engine.fieldCount(key));
}

function lrangeCommand(session: CommandContext, args: Buffer[]): void {
  const start = parseLongArg(args[2]!);
  const end = parseLongArg(args[3]!);
  if (start === undefined || end === undefined) return void appendError(session.out, NOT_INTEGER_ERROR);
  const key = args[1]!;
  const header = listForRead(session, key);
  if (header === WRONG_TYPE) return;
  const range = header === undefined ? undefined : normalizeRange(start, end, session.engine.fieldCount(key));
  if (range === undefined) return void appendArrayHeader(session.out, 0);
  const items = itemRange(session, key, range[0], range[1]);
  appendArrayHeader(session.out, items.length);
  for (const item of items) appendBulk(session.out, item.value);
}

/** The live item at a Redis index (negative from the tail), or undefined. */
export function itemAt(session: CommandContext, key: Uint8Array, index: number): Item | undefined {
  const length = session.engine.fieldCount(key);
  if (index < 0) index += length;
  if (index < 0 || index >= length) return undefined;
  if (index === 0) return headItems(session.engine, key, 1)[0];
  return itemRange(session, key, index, index)[0];
}

function lindexCommand(session: CommandContext, args: Buffer[]): void {
  const index = parseLongArg(args[2]!);
  if (index === undefined) return void appendError(session.out, NOT_INTEGER_ERROR);
  const key = args[1]!;
  const header = listForRead(session, key);
  if (header === WRONG_TYPE) return;
  const item = header === undefined ? undefined : itemAt(session, key, index);
  if (item === undefined) appendNull(session.out, session.protocol);
  else appendBulk(session.out, item.value);
}

const { Write, ReadOnly, Fast } = CommandFlag;

export const LIST_COMMANDS: readonly CommandSpec[] = [
  command('lpush', -3, Write | Fast, ONE_KEY, 'list', 'Prepend elements to a list', pushVariant(true, false)),
  command('rpush', -3, Write | Fast, ONE_KEY, 'list', 'Append elements to a list', pushVariant(false, false)),
  command('lpushx', -3, Write | Fast, ONE_KEY, 'list', 'Prepend elements to a list only if it exists', pushVariant(true, true)),
  command('rpushx', -3, Write | Fast, ONE_KEY, 'list', 'Append elements to a list only if it exists', pushVariant(false, true)),
  command('lpop', -2, Write | Fast, ONE_KEY, 'list', 'Remove and return the first elements of a list', popVariant('lpop')),
  command('rpop', -2, Write | Fast, ONE_KEY, 'list', 'Remove and return the last elements of a list', popVariant('rpop')),
  command('llen', 2, ReadOnly | Fast, ONE_KEY, 'list', 'Length of a list', llenCommand),
  command('lrange', 4, ReadOnly, ONE_KEY, 'list', 'Elements of a list in an index range', lrangeCommand),
  command('lindex', 3, ReadOnly, ONE_KEY, 'list', 'Element of a list at an index', lindexCommand),
  ...LIST_EDIT_COMMANDS,
  ...LIST_BLOCKING_COMMANDS,
  ...SORT_COMMANDS,
];

// The rows of a list (DESIGN.md section 6) as the list commands read and write them: a
// header (type and expiry) and one Item row per element, keyed by its position id
// (src/core/list-positions.ts), whose value is the element. Rows sort by position, so a
// forward scan reads the list in order. Pushes take positions from this process's
// position clock: RPUSH a growing positive integer, LPUSH a shrinking negative one (both
// from the wall clock and a sequence), so a push never reads the list. LINSERT takes a
// position between its two neighbours. Reads from the tail (RPOP, negative indexes) scan
// the rows backwards (Engine.scanRowsReverse), so they cost what they return.
import { parseInteger64 } from '../core/counters.js';
import type { ClientWrite } from '../core/io.js';
import { encodeSortableInt, positionBetween, POSITION_SUFFIX_BYTES } from '../core/list-positions.js';
import { writeNodeId } from '../core/node-id-bytes.js';
import { encodeHeader, headerRowKey, kindPrefix, KeyType, RowKind, rowKey } from '../core/rows.js';
import type { VersionedRecord } from '../core/types.js';
import { VALUE_BYTES_MAX } from '../core/validate.js';
import { appendError } from '../wire/resp.js';
import { checkKeyLength } from './common.js';
import type { Engine } from './engine.js';
import type { CommandContext } from './context.js';
import { deleteWrite, headerOfType, liveHeader, typeOf, WRONG_TYPE, WRONGTYPE_ERROR } from './typed-keys.js';

/** The header row value of every list: the type alone. */
export const LIST_HEADER = encodeHeader({ type: KeyType.List, base: undefined });
/** Item rows read per storage page while a list is walked. */
export const ITEM_PAGE_ROWS = 1024;

const SEQUENCE_PER_MS = 1024;
let lastSequence = 0;

/** This process's next position number: above every earlier one, and above wall-clock ms x 1024. */
function nextSequence(): number {
  lastSequence = Math.max(lastSequence + 1, Date.now() * SEQUENCE_PER_MS);
  return lastSequence;
}

/** The writer's unique suffix of a new position: node id and a sequence number. */
function positionSuffix(engine: Engine, sequence: number): Uint8Array {
  const suffix = new Uint8Array(POSITION_SUFFIX_BYTES);
  writeNodeId(suffix, 0, engine.nodeId());
  new DataView(suffix.buffer).setBigUint64(16, BigInt(sequence));
  return suffix;
}

/** A position at the head (left) or tail (right) of every list this process has seen. */
export function endPosition(engine: Engine, left: boolean): Uint8Array {
  const sequence = nextSequence();
  const integer = encodeSortableInt(left ? -sequence : sequence);
  const suffix = positionSuffix(engine, sequence);
  const position = new Uint8Array(integer.length + 1 + suffix.length);
  position.set(integer, 0);
  position.set(suffix, integer.length + 1);
  return position;
}

/** A position between two neighbours (undefined: an end). */
export function positionBetweenItems(engine: Engine, before: Uint8Array | undefined, after: Uint8Array | undefined): Uint8Array {
  if (before === undefined || after === undefined) {
    // At an end: the position clock's, unless a neighbour (from a node whose clock runs ahead) is beyond it.
    const position = endPosition(engine, before === undefined);
    if (before === undefined && (after === undefined || compare(position, after) < 0)) return position;
    if (after === undefined && compare(position, before!) > 0) return position;
  }
  return positionBetween(before, after, positionSuffix(engine, nextSequence()));
}

function compare(a: Uint8Array, b: Uint8Array): number {
  const length = Math.min(a.length, b.length);
  for (let index = 0; index < length; index++) if (a[index] !== b[index]) return a[index]! - b[index]!;
  return a.length - b.length;
}

export function itemRowKey(key: Uint8Array, position: Uint8Array): Uint8Array {
  return rowKey(key, RowKind.Item, position);
}

/** An element: its row key, position and value. */
export interface Item {
  readonly row: Uint8Array;
  readonly position: Uint8Array;
  readonly value: Uint8Array;
}

/** The first page of a walk that needs `wanted` items: no more rows than that (later pages are full). */
function firstPageRows(wanted: number): number {
  return Math.max(1, Math.min(ITEM_PAGE_ROWS, wanted));
}

/**
 * Visit the live items of key in list order, after row key `after`; a visit that returns
 * false stops the walk. Pages start at `wanted` rows and double up to ITEM_PAGE_ROWS when the
 * caller knows it needs only that many (LRANGE 0 99 reads 100 rows, not 1024). `ahead`:
 * the walk is a pop, which reads a few more rows from the end and has the keyspace keep
 * them, so the next pops read their items by row key instead of a range.
 */
export function visitItems(engine: Engine, key: Uint8Array, after: Uint8Array | undefined, visit: (item: Item) => boolean | void, wanted = ITEM_PAGE_ROWS, ahead = false): void {
  walkItems(engine, key, after, visit, wanted, false, ahead);
}

/** As visitItems, from the tail: the live items in reverse list order, before row key `before`. */
export function visitItemsReverse(engine: Engine, key: Uint8Array, before: Uint8Array | undefined, visit: (item: Item) => boolean | void, wanted = ITEM_PAGE_ROWS, ahead = false): void {
  walkItems(engine, key, before, visit, wanted, true, ahead);
}

/** Rows a pop reads from a list's end beyond the items it takes, for the pops after it (visitItems `ahead`). */
const POP_AHEAD_ROWS = 16;

/** The row keys of the live rows of a page from index `first` on. */
function liveRowKeys(rows: readonly VersionedRecord[], first: number): Uint8Array[] {
  const keys: Uint8Array[] = [];
  for (let index = first; index < rows.length; index++) if (rows[index]!.value !== null) keys.push(rows[index]!.key);
  return keys;
}

/**
 * The walk of visitItems / visitItemsReverse. A walk from an end starts past the
 * tombstones the keyspace knows lie there (LPOP/RPOP leave them for the tombstone grace)
 * and tells it how far the tombstones it met reach, so a queue drained by LPOP does not
 * walk every earlier pop's tombstone again. Where the keyspace also knows the rows that
 * follow that end (ListEnds), it reads those by row key first.
 */
function walkItems(engine: Engine, key: Uint8Array, from: Uint8Array | undefined, visit: (item: Item) => boolean | void, wanted: number, reverse: boolean, ahead: boolean): void {
  const prefix = kindPrefix(key, RowKind.Item);
  let atEnd = from === undefined && engine.listEnds !== undefined;
  const known = atEnd ? engine.listEnds!(key) : undefined;
  let last = from ?? (reverse ? known?.tail : known?.head);
  let lastTombstone: Uint8Array | undefined;
  /** At the first live item from the end: the tombstones before it, and the rows from it on (when known). */
  const noteEnd = (next: readonly Uint8Array[] | undefined) => {
    atEnd = false;
    if (lastTombstone === undefined && next === undefined) return;
    engine.setListEnds!(key, reverse ? { tail: lastTombstone, tailNext: next } : { head: lastTombstone, headNext: next });
  };
  const knownNext = reverse ? known?.tailNext : known?.headNext;
  if (knownNext !== undefined) {
    for (let index = 0; index < knownNext.length; index++) {
      const row = knownNext[index]!;
      const record = engine.get(row);
      last = row;
      if (record === undefined || record.value === null) {
        if (atEnd) lastTombstone = row;
        continue;
      }
      if (atEnd) noteEnd(lastTombstone === undefined ? undefined : knownNext.slice(index));
      if (visit({ row, position: row.subarray(prefix.length), value: record.value }) === false) return;
    }
  }
  // From a known end, a pop usually meets the tombstone of the pop before it first (the
  // end is noted one pop behind): one more row spares a second page.
  const fromEnd = last !== undefined && from === undefined;
  let pageRows = firstPageRows(ahead && from === undefined ? Math.max(wanted + 1, POP_AHEAD_ROWS) : fromEnd ? wanted + 1 : wanted);
  for (;;) {
    const page = reverse ? engine.scanRowsReverse(prefix, last, pageRows) : engine.scanRows(prefix, last, pageRows);
    pageRows = Math.min(ITEM_PAGE_ROWS, pageRows * 2); // a walk past the rows it expected grows its pages
    const rows = page.records;
    for (let index = 0; index < rows.length; index++) {
      const row = rows[index]!;
      if (row.value === null) {
        if (atEnd) lastTombstone = row.key;
        continue;
      }
      if (atEnd) noteEnd(ahead ? liveRowKeys(rows, index) : undefined);
      if (visit({ row: row.key, position: row.key.subarray(prefix.length), value: row.value }) === false) return;
    }
    if (page.done || rows.length === 0) {
      if (atEnd) noteEnd(undefined);
      return;
    }
    last = rows[rows.length - 1]!.key;
  }
}

/**
 * The live items at indexes [start, end] (0 <= start <= end < length, the list's length),
 * in list order, walked from whichever end is nearer: LRANGE -100 -1 of a long list
 * reads 100 rows.
 */
export function itemSpan(engine: Engine, key: Uint8Array, start: number, end: number, length: number): Item[] {
  const items: Item[] = [];
  if (length - 1 - end < start) {
    let index = length;
    visitItemsReverse(engine, key, undefined, (item) => {
      index--;
      if (index <= end) items.push(item);
      return index > start;
    }, length - start);
    return items.reverse();
  }
  let index = 0;
  visitItems(engine, key, undefined, (item) => {
    if (index++ >= start) items.push(item);
    return index <= end;
  }, end + 1);
  return items;
}

/** The first `count` live items (`ahead`: for a pop, visitItems). */
export function headItems(engine: Engine, key: Uint8Array, count: number, ahead = false): Item[] {
  const items: Item[] = [];
  if (count <= 0) return items;
  visitItems(engine, key, undefined, (item) => {
    items.push(item);
    return items.length < count;
  }, count, ahead);
  return items;
}

/** Every live item (reads the whole list). */
export function allItems(engine: Engine, key: Uint8Array): Item[] {
  const items: Item[] = [];
  visitItems(engine, key, undefined, (item) => void items.push(item));
  return items;
}

/** The last `count` live items, last first (`ahead`: for a pop, visitItems). */
export function tailItems(engine: Engine, key: Uint8Array, count: number, ahead = false): Item[] {
  const items: Item[] = [];
  if (count <= 0) return items;
  visitItemsReverse(engine, key, undefined, (item) => {
    items.push(item);
    return items.length < count;
  }, count, ahead);
  return items;
}

/** The tombstone of an item row. */
export function itemTombstone(item: Item): ClientWrite {
  return { key: item.row, value: null, expiresAtMs: 0 };
}

/**
 * The writes that remove `items` (live items of key): their tombstones, after the key's
 * clear row when they are every element this node sees (a list is never empty).
 */
export function removalWrites(engine: Engine, key: Uint8Array, items: readonly Item[]): ClientWrite[] {
  const tombstones = items.map(itemTombstone);
  return items.length >= engine.fieldCount(key) ? [deleteWrite(key), ...tombstones] : tombstones;
}

/**
 * What a push to a list starts from: the rows written before the elements (the clear of
 * an expired key) and the header written after them. Every write of a live element
 * rewrites the header (same type and expiry) after it, so an element written concurrently
 * with another node's clear and stamped after it keeps a header stamped after it too: a
 * list's elements never outlive its header (which would read as a headerless hash).
 */
export interface ListWriteTarget {
  readonly writes: ClientWrite[];
  readonly header: ClientWrite;
  readonly created: boolean;
}

/** The header row rewritten after an element write: type and expiry kept. */
export function listHeaderWrite(key: Uint8Array, header: VersionedRecord | undefined): ClientWrite {
  return { key: headerRowKey(key), value: LIST_HEADER, expiresAtMs: header?.expiresAtMs ?? 0 };
}

/** The write target of key; WRONG_TYPE when it holds another type. */
export function listWriteTarget(engine: Engine, key: Uint8Array): ListWriteTarget | typeof WRONG_TYPE {
  const header = liveHeader(engine, key);
  if (header !== undefined) return typeOf(header) === KeyType.List ? { writes: [], header: listHeaderWrite(key, header), created: false } : WRONG_TYPE;
  const stored = engine.get(headerRowKey(key));
  const expired = stored !== undefined && stored.value !== null && stored.expiresAtMs !== 0 && stored.expiresAtMs <= engine.nowMs();
  return { writes: expired ? [deleteWrite(key)] : [], header: listHeaderWrite(key, undefined), created: true };
}

/** Rows of pushing `values` in order at the head (left) or tail of key: target's writes, the elements, the header. */
export function pushWrites(engine: Engine, key: Uint8Array, target: ListWriteTarget, values: readonly Uint8Array[], left: boolean): ClientWrite[] {
  const writes = target.writes.slice();
  for (const value of values) writes.push({ key: itemRowKey(key, endPosition(engine, left)), value, expiresAtMs: 0 });
  writes.push(target.header);
  return writes;
}

/** The live header of a list for a read, counting a hit or miss; WRONG_TYPE after replying with the error. */
export function listForRead(session: CommandContext, key: Uint8Array): VersionedRecord | undefined | typeof WRONG_TYPE {
  const header = headerOfType(session.engine, key, KeyType.List);
  if (header === WRONG_TYPE) {
    appendError(session.out, WRONGTYPE_ERROR);
    return WRONG_TYPE;
  }
  if (header === undefined) session.stats.keyspaceMisses++;
  else session.stats.keyspaceHits++;
  return header;
}

/** The write target of a list for a push; undefined after replying with an error. */
export function listForWrite(session: CommandContext, key: Uint8Array): ListWriteTarget | undefined {
  if (!checkKeyLength(session, key)) return undefined;
  const target = listWriteTarget(session.engine, key);
  if (target !== WRONG_TYPE) return target;
  appendError(session.out, WRONGTYPE_ERROR);
  return undefined;
}

/** A Redis `long` argument (64-bit), as a number; undefined when not an integer. */
export function parseLongArg(arg: Uint8Array): number | undefined {
  const value = parseInteger64(arg);
  return value === undefined ? undefined : Number(value);
}

/** Elements within the record limit; false after replying. */
export function checkElementLength(session: CommandContext, value: Uint8Array): boolean {
  if (value.length <= VALUE_BYTES_MAX) return true;
  appendError(session.out, `ERR list element is ${value.length} bytes, the limit is ${VALUE_BYTES_MAX}`);
  return false;
}

/** Pop up to `count` elements from one end of an existing list: the items (in pop order) and the rows. */
export function popItems(engine: Engine, key: Uint8Array, left: boolean, count: number): { items: Item[]; writes: ClientWrite[] } {
  const items = left ? headItems(engine, key, count, true) : tailItems(engine, key, count, true);
  return { items, writes: items.length === 0 ? [] : removalWrites(engine, key, items) };
}

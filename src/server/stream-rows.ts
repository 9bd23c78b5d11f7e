// The rows of a stream (DESIGN.md section 6): a header of KeyType.Stream and Field rows
// whose element starts with a sub-kind byte, so each part sorts together and is read by
// prefix:
//   0x00 meta      the stream's last id, entries-added count and max deleted id, and which
//                  stream commands the batch that wrote it made (keyspace event names)
//   0x01 entry     [id 16 bytes]: the entry's field/value pairs
//   0x02 group     [name]: a consumer group, with the last id XGROUP CREATE/SETID gave it
//   0x03 cursor    [name]: the group's last delivered id as XREADGROUP advances it
//   0x04 consumer  [group length u32][group][name]: a consumer and when it was last seen
//   0x05 pending   [group length u32][group][id]: a delivered, unacknowledged entry
// The meta row always exists, so an empty stream lives on (as in Redis) and counts as a
// key. Every row is last-writer-wins: entries added on two nodes at once are all kept
// (distinct ids; the same explicit id on two nodes: the later write wins). A group's last
// delivered id is whichever of its group and cursor rows was written last. Every write
// rewrites the header last, so a stream's rows never outlive its header.
import type { ClientWrite } from '../core/io.js';
import { compareVersions } from '../core/record.js';
import { encodeHeader, headerRowKey, kindPrefix, KeyType, RowKind, rowKey } from '../core/rows.js';
import type { VersionedRecord } from '../core/types.js';
import type { Engine } from './engine.js';
import { compareIds, decodeId, encodeId, MAX_ID, STREAM_ID_BYTES, ZERO_ID, type StreamId } from './stream-ids.js';
import { deleteWrite, liveHeader, typeOf, WRONG_TYPE } from './typed-keys.js';

export const STREAM_HEADER = encodeHeader({ type: KeyType.Stream, base: undefined });

export const StreamPart = { Meta: 0, Entry: 1, Group: 2, Cursor: 3, Consumer: 4, Pending: 5 } as const;

/** Which stream commands a batch made, recorded in its meta row (keyspace event names). */
export const StreamOp = { Add: 1, Trim: 2, Delete: 4, SetId: 8 } as const;

const PAGE_ROWS = 1024;
const META_BYTES = 1 + STREAM_ID_BYTES + 8 + STREAM_ID_BYTES;

export interface StreamMeta {
  readonly ops: number;
  readonly lastId: StreamId;
  readonly entriesAdded: bigint;
  readonly maxDeletedId: StreamId;
}

export const EMPTY_META: StreamMeta = { ops: 0, lastId: ZERO_ID, entriesAdded: 0n, maxDeletedId: ZERO_ID };

function element(part: number, ...pieces: Uint8Array[]): Uint8Array {
  const size = 1 + pieces.reduce((sum, piece) => sum + piece.length, 0);
  const bytes = new Uint8Array(size);
  bytes[0] = part;
  let at = 1;
  for (const piece of pieces) {
    bytes.set(piece, at);
    at += piece.length;
  }
  return bytes;
}

function lengthPrefixed(name: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(4 + name.length);
  new DataView(bytes.buffer).setUint32(0, name.length);
  bytes.set(name, 4);
  return bytes;
}

export const metaRow = (key: Uint8Array): Uint8Array => rowKey(key, RowKind.Field, element(StreamPart.Meta));
export const entryRow = (key: Uint8Array, id: StreamId): Uint8Array => rowKey(key, RowKind.Field, element(StreamPart.Entry, encodeId(id)));
export const groupRow = (key: Uint8Array, group: Uint8Array): Uint8Array => rowKey(key, RowKind.Field, element(StreamPart.Group, group));
export const cursorRow = (key: Uint8Array, group: Uint8Array): Uint8Array => rowKey(key, RowKind.Field, element(StreamPart.Cursor, group));
export const consumerRow = (key: Uint8Array, group: Uint8Array, consumer: Uint8Array): Uint8Array =>
  rowKey(key, RowKind.Field, element(StreamPart.Consumer, lengthPrefixed(group), consumer));
export const pendingRow = (key: Uint8Array, group: Uint8Array, id: StreamId): Uint8Array =>
  rowKey(key, RowKind.Field, element(StreamPart.Pending, lengthPrefixed(group), encodeId(id)));

/** Row-key prefixes: every row of one part, of one group's consumers, of one group's pending entries. */
export const partPrefix = (key: Uint8Array, part: number): Uint8Array => rowKey(key, RowKind.Field, Uint8Array.of(part));
export const consumersPrefix = (key: Uint8Array, group: Uint8Array): Uint8Array => rowKey(key, RowKind.Field, element(StreamPart.Consumer, lengthPrefixed(group)));
export const pendingPrefix = (key: Uint8Array, group: Uint8Array): Uint8Array => rowKey(key, RowKind.Field, element(StreamPart.Pending, lengthPrefixed(group)));

// ---- Values ----

export function encodeMeta(meta: StreamMeta): Uint8Array {
  const bytes = new Uint8Array(META_BYTES);
  bytes[0] = meta.ops;
  bytes.set(encodeId(meta.lastId), 1);
  new DataView(bytes.buffer).setBigUint64(1 + STREAM_ID_BYTES, meta.entriesAdded);
  bytes.set(encodeId(meta.maxDeletedId), 1 + STREAM_ID_BYTES + 8);
  return bytes;
}

export function decodeMeta(bytes: Uint8Array): StreamMeta {
  if (bytes.length !== META_BYTES) return EMPTY_META;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  return { ops: bytes[0]!, lastId: decodeId(bytes, 1), entriesAdded: view.getBigUint64(1 + STREAM_ID_BYTES), maxDeletedId: decodeId(bytes, 1 + STREAM_ID_BYTES + 8) };
}

/**
 * An entry's value: [ordinal u64][count u32] then [length u32][bytes] per field and value.
 * The ordinal (the stream's entries-added count when it was added) places it in the node
 * Redis would have put it in, which approximate trimming removes whole.
 */
export function encodeEntry(pairs: readonly Uint8Array[], ordinal: bigint): Uint8Array {
  const size = ENTRY_HEADER_BYTES + pairs.reduce((sum, item) => sum + 4 + item.length, 0);
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  view.setBigUint64(0, ordinal);
  view.setUint32(8, pairs.length);
  let at = ENTRY_HEADER_BYTES;
  for (const item of pairs) {
    view.setUint32(at, item.length);
    bytes.set(item, at + 4);
    at += 4 + item.length;
  }
  return bytes;
}

const ENTRY_HEADER_BYTES = 12;

export function entryOrdinal(bytes: Uint8Array): bigint {
  return bytes.length < ENTRY_HEADER_BYTES ? 0n : new DataView(bytes.buffer, bytes.byteOffset, bytes.length).getBigUint64(0);
}

export function decodeEntry(bytes: Uint8Array): Uint8Array[] {
  if (bytes.length < ENTRY_HEADER_BYTES) return [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const count = view.getUint32(8);
  const pairs: Uint8Array[] = [];
  let at = ENTRY_HEADER_BYTES;
  for (let index = 0; index < count && at + 4 <= bytes.length; index++) {
    const length = view.getUint32(at);
    pairs.push(bytes.subarray(at + 4, at + 4 + length));
    at += 4 + length;
  }
  return pairs;
}

/** A group's position: last delivered id and how many entries it has read (-1: unknown). */
export interface GroupPosition {
  readonly lastId: StreamId;
  readonly entriesRead: bigint;
}

export function encodePosition(position: GroupPosition): Uint8Array {
  const bytes = new Uint8Array(STREAM_ID_BYTES + 8);
  bytes.set(encodeId(position.lastId), 0);
  new DataView(bytes.buffer).setBigInt64(STREAM_ID_BYTES, position.entriesRead);
  return bytes;
}

export function decodePosition(bytes: Uint8Array): GroupPosition {
  if (bytes.length !== STREAM_ID_BYTES + 8) return { lastId: ZERO_ID, entriesRead: -1n };
  return { lastId: decodeId(bytes, 0), entriesRead: new DataView(bytes.buffer, bytes.byteOffset, bytes.length).getBigInt64(STREAM_ID_BYTES) };
}

/** A pending entry: its consumer, last delivery time and delivery count. */
export interface Pending {
  readonly id: StreamId;
  readonly consumer: Uint8Array;
  readonly deliveredAtMs: number;
  readonly deliveries: bigint;
}

export function encodePending(pending: Omit<Pending, 'id'>): Uint8Array {
  const bytes = new Uint8Array(16 + pending.consumer.length);
  const view = new DataView(bytes.buffer);
  view.setBigUint64(0, BigInt(pending.deliveredAtMs));
  view.setBigUint64(8, pending.deliveries);
  bytes.set(pending.consumer, 16);
  return bytes;
}

export function decodePending(id: StreamId, bytes: Uint8Array): Pending {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  return { id, deliveredAtMs: Number(view.getBigUint64(0)), deliveries: view.getBigUint64(8), consumer: bytes.subarray(16) };
}

export function encodeSeen(ms: number): Uint8Array {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(ms));
  return bytes;
}

export function decodeSeen(bytes: Uint8Array): number {
  return bytes.length === 8 ? Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0)) : 0;
}

// ---- Reading ----

/** Visit live rows under prefix in order after row key `after`; a visit returning false stops. */
export function visitRows(engine: Engine, prefix: Uint8Array, after: Uint8Array | undefined, visit: (row: VersionedRecord, element: Uint8Array) => boolean | void): void {
  let last = after;
  for (;;) {
    const page = engine.scanRows(prefix, last, PAGE_ROWS);
    for (const row of page.records) {
      if (row.value === null) continue;
      if (visit(row, row.key.subarray(prefix.length)) === false) return;
    }
    if (page.done || page.records.length === 0) return;
    last = page.records[page.records.length - 1]!.key;
  }
}

function countRows(engine: Engine, prefix: Uint8Array): number {
  let count = 0;
  visitRows(engine, prefix, undefined, () => void count++);
  return count;
}

/** A stream as commands see it: its header, meta and derived facts. */
export interface StreamState {
  readonly header: VersionedRecord;
  readonly meta: StreamMeta;
  /** The highest id ever added here: the meta's, or a later entry that arrived from a peer. */
  readonly lastId: StreamId;
  /** Live entries (counted on first read). */
  readonly length: number;
}

/**
 * The live stream at key, undefined when absent, WRONG_TYPE for another type. A stream's
 * header and meta row decide it without counting its rows (typed-keys liveHeader counts
 * them, which inside MULTI is a scan of the key: 10,000 XADDs in one EXEC would be
 * quadratic); any other case takes liveHeader's path. `length` is counted when first read.
 */
export function readStream(engine: Engine, key: Uint8Array): StreamState | undefined | typeof WRONG_TYPE {
  const stored = engine.get(headerRowKey(key));
  const metaRecord = engine.get(metaRow(key));
  const fast =
    stored !== undefined &&
    stored.value !== null &&
    (stored.expiresAtMs === 0 || stored.expiresAtMs > engine.nowMs()) &&
    typeOf(stored) === KeyType.Stream &&
    metaRecord !== undefined &&
    metaRecord.value !== null;
  const header = fast ? stored : liveHeader(engine, key);
  if (header === undefined) return undefined;
  if (typeOf(header) !== KeyType.Stream) return WRONG_TYPE;
  const meta = metaRecord === undefined || metaRecord.value === null ? EMPTY_META : decodeMeta(metaRecord.value);
  // Entries above the meta's last id were added concurrently elsewhere: few, read them.
  let lastId = meta.lastId;
  visitRows(engine, partPrefix(key, StreamPart.Entry), entryRow(key, meta.lastId), (_row, element) => {
    const id = decodeId(element);
    if (compareIds(id, lastId) > 0) lastId = id;
  });
  let length: number | undefined;
  const countLength = (): number => {
    let others = metaRecord === undefined || metaRecord.value === null ? 0 : 1;
    for (const part of [StreamPart.Group, StreamPart.Cursor, StreamPart.Consumer, StreamPart.Pending]) others += countRows(engine, partPrefix(key, part));
    return Math.max(0, engine.fieldCount(key) - others);
  };
  return {
    header,
    meta,
    lastId,
    get length(): number {
      return (length ??= countLength());
    },
  };
}

/** One entry: id and field/value pairs. */
export interface StreamEntry {
  readonly id: StreamId;
  readonly pairs: Uint8Array[];
}

/** Entries with start <= id <= end in id order, at most `count` (0: all). */
export function entriesInRange(engine: Engine, key: Uint8Array, start: StreamId, end: StreamId, count: number): StreamEntry[] {
  const entries: StreamEntry[] = [];
  if (compareIds(start, end) > 0) return entries;
  const from = start.ms === 0n && start.seq === 0n ? undefined : entryRow(key, start);
  const visit = (row: VersionedRecord, element: Uint8Array): boolean => {
    const id = decodeId(element);
    if (compareIds(id, end) > 0) return false;
    if (compareIds(id, start) < 0) return true;
    entries.push({ id, pairs: decodeEntry(row.value!) });
    return count === 0 || entries.length < count;
  };
  // scanRows starts after a row key: the start id's own row is read on its own.
  if (from !== undefined) {
    const own = engine.get(from);
    if (own !== undefined && own.value !== null && !visit(own, from.subarray(from.length - STREAM_ID_BYTES))) return entries;
  }
  visitRows(engine, partPrefix(key, StreamPart.Entry), from, visit);
  return entries;
}

/** The entry with this id, undefined when absent. */
export function entryAt(engine: Engine, key: Uint8Array, id: StreamId): StreamEntry | undefined {
  const row = engine.get(entryRow(key, id));
  return row === undefined || row.value === null ? undefined : { id, pairs: decodeEntry(row.value) };
}

/**
 * The last `count` entries with start <= id <= upTo, newest first (lastId: the stream's). The storage has no
 * reverse scan: windows of ids ending at `end` are read forward, doubling in ms until they
 * hold `count` entries or reach `start` (ids are mostly times, so this reads about count).
 */
export function entriesInRangeReversed(engine: Engine, key: Uint8Array, start: StreamId, upTo: StreamId, count: number, lastId: StreamId): StreamEntry[] {
  // No entry lies above the stream's last id: windows start there, not at "+".
  const end = compareIds(upTo, lastId) > 0 ? lastId : upTo;
  if (compareIds(start, end) > 0) return [];
  if (count === 0) return entriesInRange(engine, key, start, end, 0).reverse();
  for (let spanMs = 1n; ; spanMs *= 2n) {
    const low = end.ms - start.ms <= spanMs ? start : { ms: end.ms - spanMs, seq: 0n };
    const entries = entriesInRange(engine, key, low, end, 0);
    if (entries.length >= count || low === start) return entries.slice(Math.max(0, entries.length - count)).reverse();
  }
}

/** First and last live entry (undefined when empty). */
export function edgeEntries(engine: Engine, key: Uint8Array, lastId: StreamId): { first: StreamEntry | undefined; last: StreamEntry | undefined } {
  const first = entriesInRange(engine, key, ZERO_ID, MAX_ID, 1)[0];
  return { first, last: first === undefined ? undefined : entriesInRangeReversed(engine, key, ZERO_ID, MAX_ID, 1, lastId)[0] };
}

/** A group's effective position: its group row or its cursor row, whichever was written last; undefined when no such group. */
export function groupPosition(engine: Engine, key: Uint8Array, group: Uint8Array): GroupPosition | undefined {
  const created = engine.get(groupRow(key, group));
  if (created === undefined || created.value === null) return undefined;
  const cursor = engine.get(cursorRow(key, group));
  const newer = cursor !== undefined && cursor.value !== null && compareVersions(cursor, created) > 0 ? cursor : created;
  return decodePosition(newer.value!);
}

// ---- Writing ----

/** The rows a write to a stream starts with: a clear when it creates the key over an expired one. */
export function creationWrites(engine: Engine, key: Uint8Array): ClientWrite[] {
  const stored = engine.get(headerRowKey(key));
  const stale = (stored !== undefined && stored.value !== null) || engine.fieldCount(key) > 0;
  return stale ? [deleteWrite(key)] : [];
}

export function metaWrite(key: Uint8Array, meta: StreamMeta): ClientWrite {
  return { key: metaRow(key), value: encodeMeta(meta), expiresAtMs: 0 };
}

/** The header, written last in every stream batch (same expiry). */
export function streamHeaderWrite(key: Uint8Array, header: VersionedRecord | undefined): ClientWrite {
  return { key: headerRowKey(key), value: STREAM_HEADER, expiresAtMs: header?.expiresAtMs ?? 0 };
}

export function tombstone(row: Uint8Array): ClientWrite {
  return { key: row, value: null, expiresAtMs: 0 };
}

export { kindPrefix };

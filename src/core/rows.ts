// Typed rows (DESIGN.md section 6). Every piece of a value is a row: a versioned record
// whose key is a row key naming the user key, the row's kind and the element it holds.
// Rows merge by last-writer-wins like any record, so replication, anti-entropy, tombstone
// purge and resync carry every type without knowing it. All rows of a key hash to the
// key's bucket and share a prefix, so they lie together in storage.
//
// Row key:  [user key length: 1 byte if < 255, else 0xff + u24 BE][user key][kind u8][element]
//   Clear   element empty. A tombstone whose version is the key's clear stamp: rows of the
//           key stamped at or below it are dead (DEL, overwrite by SET, RENAME's source).
//   Header  element empty. Type, expiry (the record's expiresAtMs) and, for strings, the value.
//   Field   element = hash field.
//   Slot    element = [length-prefixed counted element][origin 16 bytes]: one origin's
//           running total of increments of a string (element empty) or a hash field.
// The flush row (FLUSHALL) has a key of its own that no user key can produce.
import { keyBucketOf } from './bytes.js';
import { NODE_ID_BYTES, readNodeId, writeNodeId } from './node-id-bytes.js';
import type { NodeId } from './types.js';

export const RowKind = {
  Clear: 0,
  Header: 1,
  Field: 2,
  Slot: 3,
  /** A list element: element = its position id (sortable bytes, then stamp and origin). */
  Item: 4,
} as const;
export type RowKind = (typeof RowKind)[keyof typeof RowKind];
const ROW_KIND_MAX = RowKind.Item;

/** The type a header names; numbers are stored, so append-only. */
export const KeyType = {
  String: 1,
  Hash: 2,
  Set: 3,
  ZSet: 4,
  List: 5,
  /** A stream: its entries, metadata and consumer groups are Field rows (src/server/stream-rows.ts). */
  Stream: 6,
} as const;
export type KeyType = (typeof KeyType)[keyof typeof KeyType];

export const KEY_TYPE_NAMES: Readonly<Record<number, string>> = {
  [KeyType.String]: 'string',
  [KeyType.Hash]: 'hash',
  [KeyType.Set]: 'set',
  [KeyType.ZSet]: 'zset',
  [KeyType.List]: 'list',
  [KeyType.Stream]: 'stream',
};

/** Lengths below this take one byte in a row key; longer ones 0xff and 3 bytes. */
const SHORT_LENGTH_LIMIT = 0xff;
const LONG_LENGTH_BYTES = 4;

/**
 * The row of FLUSHALL/FLUSHDB: a tombstone whose version is the cluster-wide clear stamp.
 * A zero length in the long form is never written for a user key, so it cannot collide.
 */
export const FLUSH_ROW_KEY: Uint8Array = Uint8Array.of(0xff, 0, 0, 0);

/**
 * The row of every function library (FUNCTION LOAD; server/functions-library.ts): like the
 * flush row, a key no user key produces, so no command reaches it and KEYS/SCAN/DBSIZE do
 * not see it. The flush row does not clear it (Redis keeps functions across FLUSHALL).
 */
export const FUNCTIONS_ROW_KEY: Uint8Array = Uint8Array.of(0xff, 0, 0, 1);

/**
 * The row of the ACL user table (server/acl-store.ts): cluster configuration like the
 * functions row, outside the user keyspace, not cleared by FLUSHALL (Redis keeps users too).
 */
export const ACL_USERS_ROW_KEY: Uint8Array = Uint8Array.of(0xff, 0, 0, 2);

function lengthBytes(length: number): number {
  return length < SHORT_LENGTH_LIMIT ? 1 : LONG_LENGTH_BYTES;
}

function writeLength(target: Uint8Array, offset: number, length: number): number {
  if (length < SHORT_LENGTH_LIMIT) {
    target[offset] = length;
    return offset + 1;
  }
  target[offset] = 0xff;
  target[offset + 1] = (length >>> 16) & 0xff;
  target[offset + 2] = (length >>> 8) & 0xff;
  target[offset + 3] = length & 0xff;
  return offset + LONG_LENGTH_BYTES;
}

/** [start, end) of a length-prefixed byte string at offset, or end -1 when malformed. */
let parsedStart = 0;
function readLength(bytes: Uint8Array, offset: number): number {
  if (offset >= bytes.length) return -1;
  const first = bytes[offset]!;
  if (first < SHORT_LENGTH_LIMIT) {
    parsedStart = offset + 1;
    return parsedStart + first;
  }
  if (offset + LONG_LENGTH_BYTES > bytes.length) return -1;
  const length = (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!;
  if (length < SHORT_LENGTH_LIMIT) return -1; // non-canonical: only the flush row looks like this
  parsedStart = offset + LONG_LENGTH_BYTES;
  return parsedStart + length;
}

/** The prefix every row of `key` starts with (length and key). */
export function keyPrefix(key: Uint8Array): Uint8Array {
  const prefix = new Uint8Array(lengthBytes(key.length) + key.length);
  prefix.set(key, writeLength(prefix, 0, key.length));
  return prefix;
}

/** The row key of a key's row of `kind` holding `element` (empty for clear and header rows). */
export function rowKey(key: Uint8Array, kind: RowKind, element?: Uint8Array): Uint8Array {
  const elementLength = element === undefined ? 0 : element.length;
  const row = new Uint8Array(lengthBytes(key.length) + key.length + 1 + elementLength);
  let offset = writeLength(row, 0, key.length);
  row.set(key, offset);
  offset += key.length;
  row[offset] = kind;
  if (element !== undefined) row.set(element, offset + 1);
  return row;
}

export function headerRowKey(key: Uint8Array): Uint8Array {
  return rowKey(key, RowKind.Header);
}

export function clearRowKey(key: Uint8Array): Uint8Array {
  return rowKey(key, RowKind.Clear);
}

/** Prefix of every row of `kind` of `key` (the row key with an empty element). */
export function kindPrefix(key: Uint8Array, kind: RowKind): Uint8Array {
  return rowKey(key, kind);
}

/** The slot element of `counted` (a field, or empty for a string) for `origin`. */
export function slotElement(counted: Uint8Array, origin: NodeId): Uint8Array {
  const element = new Uint8Array(lengthBytes(counted.length) + counted.length + NODE_ID_BYTES);
  const offset = writeLength(element, 0, counted.length);
  element.set(counted, offset);
  writeNodeId(element, offset + counted.length, origin);
  return element;
}

/** Prefix of the slot rows of `counted` in `key`. */
export function slotPrefix(key: Uint8Array, counted: Uint8Array): Uint8Array {
  const element = new Uint8Array(lengthBytes(counted.length) + counted.length);
  element.set(counted, writeLength(element, 0, counted.length));
  return rowKey(key, RowKind.Slot, element);
}

/** A row key taken apart (views into it). */
export interface ParsedRow {
  readonly key: Uint8Array;
  readonly kind: RowKind;
  readonly element: Uint8Array;
}

/** Offset of the kind byte of a row key (= end of its user key), or -1 when it is not a row key. */
export function rowKindOffset(row: Uint8Array): number {
  const end = readLength(row, 0);
  if (end < 0 || end >= row.length || row[end]! > ROW_KIND_MAX) return -1;
  return end;
}

export function parseRow(row: Uint8Array): ParsedRow | undefined {
  const kindOffset = rowKindOffset(row);
  if (kindOffset < 0) return undefined;
  return { key: row.subarray(parsedStart, kindOffset), kind: row[kindOffset] as RowKind, element: row.subarray(kindOffset + 1) };
}

/** The kind of a row key, or -1 (flush row, or not a row key). */
export function rowKindOf(row: Uint8Array): number {
  const kindOffset = rowKindOffset(row);
  return kindOffset < 0 ? -1 : row[kindOffset]!;
}

/** The user key of a row key (a view), or undefined when it is not a row key. */
export function rowUserKey(row: Uint8Array): Uint8Array | undefined {
  const kindOffset = rowKindOffset(row);
  return kindOffset < 0 ? undefined : row.subarray(parsedStart, kindOffset);
}

/** Length of the prefix shared by every row of the row's key ([length][key]); 0 when not a row key. */
export function rowPrefixLength(row: Uint8Array): number {
  const kindOffset = rowKindOffset(row);
  return kindOffset < 0 ? 0 : kindOffset;
}

/**
 * The bucket of a row: that of its user key, so all rows of a key share Merkle leaf,
 * anti-entropy batch and storage range. Anything else (the flush row) hashes whole.
 */
export function rowBucket(row: Uint8Array): number {
  const kindOffset = rowKindOffset(row);
  return kindOffset < 0 ? keyBucketOf(row, 0, row.length) : keyBucketOf(row, parsedStart, kindOffset);
}

/** The bucket of the rows a row-key prefix (keyPrefix, kindPrefix, slotPrefix) selects. */
export function rowPrefixBucket(prefix: Uint8Array): number {
  const end = readLength(prefix, 0);
  if (end < 0 || end > prefix.length) throw new Error('not a row-key prefix');
  return keyBucketOf(prefix, parsedStart, end);
}

/** A slot element taken apart: the counted element (a view) and the origin. */
export function parseSlotElement(element: Uint8Array): { counted: Uint8Array; origin: NodeId } | undefined {
  const end = readLength(element, 0);
  if (end < 0 || end + NODE_ID_BYTES !== element.length) return undefined;
  return { counted: element.subarray(parsedStart, end), origin: readNodeId(element, end) };
}

// ---- Values ----

/** One origin's slot as observed by a reset, or stored in its slot row. */
export interface SlotTotal {
  /** Sum of integer increments (64-bit signed range, kept exact). */
  readonly integer: bigint;
  /** Sum of float increments (INCRBYFLOAT). */
  readonly float: number;
}

export const ZERO_SLOT: SlotTotal = { integer: 0n, float: 0 };

/** A string value or hash field value, with the slot totals the write that set it observed. */
export interface BaseValue {
  readonly bytes: Uint8Array;
  /** Origin -> its slot total when the value was written; empty when no counter was seen. */
  readonly observed: ReadonlyMap<NodeId, SlotTotal>;
}

const SLOT_VALUE_BYTES = 16;
const OBSERVED_ENTRY_BYTES = NODE_ID_BYTES + SLOT_VALUE_BYTES;
const BASE_FLAG_OBSERVED = 1;
/**
 * Set in a sorted-set member's value (encodeScoreValue): the row names its type, so a
 * member that outlives its key's header (a concurrent clear) still reads as a sorted set's
 * (Keyspace headerlessHeader) and ZADD need not rewrite the header beside every member.
 * Peer protocol 4 and later; rows written before it have no flag and read as before.
 */
const BASE_FLAG_SCORE = 2;
const EMPTY_OBSERVED: ReadonlyMap<NodeId, SlotTotal> = new Map();

export function encodeSlotTotal(total: SlotTotal): Uint8Array {
  const bytes = new Uint8Array(SLOT_VALUE_BYTES);
  writeSlot(bytes, 0, total);
  return bytes;
}

// One scratch DataView for slot values: a DataView per read or write showed in GC time.
const slotScratch = new Uint8Array(SLOT_VALUE_BYTES);
const slotScratchView = new DataView(slotScratch.buffer);

function writeSlot(target: Uint8Array, offset: number, total: SlotTotal): void {
  slotScratchView.setBigInt64(0, BigInt.asIntN(64, total.integer));
  slotScratchView.setFloat64(8, total.float);
  target.set(slotScratch, offset);
}

function readSlot(source: Uint8Array, offset: number): SlotTotal {
  slotScratch.set(source.subarray(offset, offset + SLOT_VALUE_BYTES));
  return { integer: slotScratchView.getBigInt64(0), float: slotScratchView.getFloat64(8) };
}

/** A slot row's value, or undefined when malformed. */
export function decodeSlotTotal(bytes: Uint8Array): SlotTotal | undefined {
  return bytes.length === SLOT_VALUE_BYTES ? readSlot(bytes, 0) : undefined;
}

function baseValueBytes(base: BaseValue): number {
  return base.observed.size === 0 ? 1 + base.bytes.length : 2 + base.observed.size * OBSERVED_ENTRY_BYTES + base.bytes.length;
}

function writeBaseValue(target: Uint8Array, offset: number, base: BaseValue): void {
  if (base.observed.size === 0) {
    target[offset] = 0;
    target.set(base.bytes, offset + 1);
    return;
  }
  target[offset] = BASE_FLAG_OBSERVED;
  target[offset + 1] = base.observed.size;
  let at = offset + 2;
  // Sorted by origin: the same observation encodes to the same bytes everywhere.
  for (const origin of [...base.observed.keys()].sort()) {
    writeNodeId(target, at, origin);
    writeSlot(target, at + NODE_ID_BYTES, base.observed.get(origin)!);
    at += OBSERVED_ENTRY_BYTES;
  }
  target.set(base.bytes, at);
}

function readBaseValue(source: Uint8Array, offset: number): BaseValue | undefined {
  if (offset >= source.length) return undefined;
  const flags = source[offset]! & ~BASE_FLAG_SCORE;
  if (flags === 0) return { bytes: source.subarray(offset + 1), observed: EMPTY_OBSERVED };
  if (flags !== BASE_FLAG_OBSERVED || offset + 2 > source.length) return undefined;
  const count = source[offset + 1]!;
  let at = offset + 2;
  if (at + count * OBSERVED_ENTRY_BYTES > source.length) return undefined;
  const observed = new Map<NodeId, SlotTotal>();
  for (let index = 0; index < count; index++) {
    observed.set(readNodeId(source, at), readSlot(source, at + NODE_ID_BYTES));
    at += OBSERVED_ENTRY_BYTES;
  }
  return { bytes: source.subarray(at), observed };
}

/** Most origins one base value records; beyond it a reset observes the largest slots only. */
export const OBSERVED_ORIGINS_MAX = 255;

/** A hash field row's value. */
export function encodeFieldValue(base: BaseValue): Uint8Array {
  const bytes = new Uint8Array(baseValueBytes(base));
  writeBaseValue(bytes, 0, base);
  return bytes;
}

export function decodeFieldValue(bytes: Uint8Array): BaseValue | undefined {
  return readBaseValue(bytes, 0);
}

/** A sorted-set member row's value: a field value (its score's text) flagged as a score (BASE_FLAG_SCORE). */
export function encodeScoreValue(base: BaseValue): Uint8Array {
  const bytes = encodeFieldValue(base);
  bytes[0] = bytes[0]! | BASE_FLAG_SCORE;
  return bytes;
}

/** True for a value encodeScoreValue made (a sorted-set member's, wherever it is read). */
export function isScoreValue(value: Uint8Array): boolean {
  return value.length > 0 && (value[0]! & BASE_FLAG_SCORE) !== 0;
}

/**
 * The collection type a live Field row's value implies without its header: empty, a set's
 * member; flagged a score, a sorted set's member; otherwise a hash field (so is a sorted-set
 * member written before the flag existed).
 */
export function fieldValueType(value: Uint8Array): KeyType {
  if (value.length === 0) return KeyType.Set;
  return isScoreValue(value) ? KeyType.ZSet : KeyType.Hash;
}

/** A decoded header row value. `base` is set for strings only. */
export interface Header {
  readonly type: KeyType;
  readonly base: BaseValue | undefined;
}

/** The header of a plain string (no counter seen): [type][0][value], the write hot path. */
export function encodeStringHeader(value: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(2 + value.length);
  bytes[0] = KeyType.String;
  bytes.set(value, 2);
  return bytes;
}

export function encodeHeader(header: Header): Uint8Array {
  if (header.type !== KeyType.String) return Uint8Array.of(header.type);
  const base = header.base ?? { bytes: new Uint8Array(0), observed: EMPTY_OBSERVED };
  const bytes = new Uint8Array(1 + baseValueBytes(base));
  bytes[0] = header.type;
  writeBaseValue(bytes, 1, base);
  return bytes;
}

/** The type named by a header row value, or 0 when malformed. */
export function headerType(bytes: Uint8Array): number {
  if (bytes.length === 0) return 0;
  const type = bytes[0]!;
  return type >= KeyType.String && type <= KeyType.Stream ? type : 0;
}

/** A plain string header's value as a view (no counter observation), or undefined. */
export function plainStringValue(bytes: Uint8Array): Uint8Array | undefined {
  return bytes.length >= 2 && bytes[0] === KeyType.String && bytes[1] === 0 ? bytes.subarray(2) : undefined;
}

export function decodeHeader(bytes: Uint8Array): Header | undefined {
  const type = headerType(bytes);
  if (type === 0) return undefined;
  if (type !== KeyType.String) return bytes.length === 1 ? { type: type as KeyType, base: undefined } : undefined;
  const base = readBaseValue(bytes, 1);
  return base === undefined ? undefined : { type: KeyType.String, base };
}

// What commands read and write of a key's rows (DESIGN.md section 6, src/core/rows.ts):
// its live header (type and expiry), a string's value with its counter slots applied, and
// the rows that replace a key's value. Every command family builds on these.
import { Buffer } from 'node:buffer';
import { countedBytes, observedSlots, readSlotTotals } from '../core/counters.js';
import type { ClientWrite } from '../core/io.js';
import { headerlessHeader } from '../core/keyspace.js';
import {
  clearRowKey,
  RowKind,
  keyPrefix,
  rowKindOf,
  decodeHeader,
  encodeHeader,
  encodeStringHeader,
  headerRowKey,
  headerType,
  KEY_TYPE_NAMES,
  KeyType,
  plainStringValue,
  type BaseValue,
  type SlotTotal,
} from '../core/rows.js';
import type { NodeId, VersionedRecord } from '../core/types.js';
import type { Engine } from './engine.js';

/**
 * The header row key of `key`, as rows.ts headerRowKey, built in a pooled Buffer: GET and
 * SET make one per command, and a fresh Uint8Array costs more than the rest of the key work.
 */
export function headerRow(key: Uint8Array): Buffer {
  const short = key.length < 0xff;
  const row = Buffer.allocUnsafe((short ? 1 : 4) + key.length + 1);
  let offset = 0;
  if (short) {
    row[offset++] = key.length;
  } else {
    row[offset++] = 0xff;
    row[offset++] = (key.length >>> 16) & 0xff;
    row[offset++] = (key.length >>> 8) & 0xff;
    row[offset++] = key.length & 0xff;
  }
  row.set(key, offset);
  row[offset + key.length] = RowKind.Header;
  return row;
}

/** A plain string header (rows.ts encodeStringHeader) in a pooled Buffer: one per SET. */
function stringHeaderBytes(value: Uint8Array): Buffer {
  const bytes = Buffer.allocUnsafe(2 + value.length);
  bytes[0] = KeyType.String;
  bytes[1] = 0;
  bytes.set(value, 2);
  return bytes;
}

/** Rows read per page while looking for a headerless key's first element. */
const HEADERLESS_SCAN_ROWS = 64;

export const WRONGTYPE_ERROR = 'WRONGTYPE Operation against a key holding the wrong kind of value';

/** Returned by reads of a key that holds another type. */
export const WRONG_TYPE = Symbol('wrong type');

const EMPTY = new Uint8Array(0);

/**
 * The key's header if the key exists now, else undefined: not expired, and for a
 * collection with at least one live element (Redis deletes an empty one). A collection
 * whose elements outlived its header row (a concurrent SADD/HSET stamped after a clear)
 * reads with headerlessHeader.
 */
export function liveHeader(engine: Engine, key: Uint8Array): VersionedRecord | undefined {
  const header = engine.get(headerRow(key));
  if (header === undefined || header.value === null) return engine.fieldCount(key) > 0 ? headerlessOf(engine, key) : undefined;
  if (header.expiresAtMs !== 0 && header.expiresAtMs <= engine.nowMs()) return undefined;
  if (header.value[0] !== KeyType.String && engine.fieldCount(key) === 0) return undefined; // a collection lives by its elements
  return header;
}

/** The header a key without one reads with, from its first live element. */
function headerlessOf(engine: Engine, key: Uint8Array): VersionedRecord | undefined {
  const prefix = keyPrefix(key);
  let after: Uint8Array | undefined;
  for (;;) {
    const page = engine.scanRows(prefix, after, HEADERLESS_SCAN_ROWS);
    for (const row of page.records) {
      const kind = rowKindOf(row.key);
      if ((kind === RowKind.Field || kind === RowKind.Item) && row.value !== null) return headerlessHeader(key, row);
    }
    if (page.done || page.records.length === 0) return undefined;
    after = page.records[page.records.length - 1]!.key;
  }
}

/** The type number of a live header (KeyType), 0 if malformed. */
export function typeOf(header: VersionedRecord): number {
  return headerType(header.value!);
}

/** Redis's TYPE name of a live header. */
export function typeName(header: VersionedRecord): string {
  return KEY_TYPE_NAMES[typeOf(header)] ?? 'none';
}

/** The live header of key if it has `type`; undefined if absent; WRONG_TYPE otherwise. */
export function headerOfType(engine: Engine, key: Uint8Array, type: KeyType): VersionedRecord | undefined | typeof WRONG_TYPE {
  const header = liveHeader(engine, key);
  if (header === undefined) return undefined;
  return typeOf(header) === type ? header : WRONG_TYPE;
}

/** Every origin's slot total of a counted element (a hash field, or empty for a string). */
export function readSlots(engine: Engine, key: Uint8Array, counted: Uint8Array): Map<NodeId, SlotTotal> {
  return engine.mayHaveSlots(key) ? readSlotTotals(engine, key, counted) : new Map();
}

/** A base value with its counter slots applied: the bytes a reader sees. */
export function countedValue(base: BaseValue, slots: ReadonlyMap<NodeId, SlotTotal>): Uint8Array {
  return countedBytes(base, slots);
}

/** The value of a live string header, counters applied. */
export function stringValue(engine: Engine, key: Uint8Array, header: VersionedRecord): Uint8Array {
  const plain = plainStringValue(header.value!);
  if (plain !== undefined && !engine.mayHaveSlots(key)) return plain;
  const base = decodeHeader(header.value!)?.base;
  if (base === undefined) return EMPTY;
  return countedValue(base, readSlots(engine, key, EMPTY));
}

/** GET's read: the string value, null when absent, WRONG_TYPE for another type. */
export function readString(engine: Engine, key: Uint8Array): Uint8Array | null | typeof WRONG_TYPE {
  const header = liveHeader(engine, key);
  if (header === undefined) return null;
  if (typeOf(header) !== KeyType.String) return WRONG_TYPE;
  return stringValue(engine, key, header);
}

/**
 * SET's row: `value` replaces whatever the key held. The core does the rest
 * (ClientWrite.replacesKey): a key of another type is cleared first, and a counter's new
 * base records the slots it observed (leftover ones of an absent key too), so increments
 * made concurrently elsewhere still count and the ones seen here are reset.
 */
export function replaceWrite(key: Uint8Array, value: Uint8Array, expiresAtMs: number): ClientWrite {
  return { key: headerRow(key), value: stringHeaderBytes(value), expiresAtMs, replacesKey: true };
}

/** A string header whose base observed these slots (the plain form when there are none). */
export function stringHeader(value: Uint8Array, slots: ReadonlyMap<NodeId, SlotTotal>): Uint8Array {
  if (slots.size === 0) return encodeStringHeader(value);
  return encodeHeader({ type: KeyType.String, base: { bytes: value, observed: observedSlots(slots) } });
}

/** The row that deletes key (with every row written before it, on every node). */
export function deleteWrite(key: Uint8Array): ClientWrite {
  return { key: clearRowKey(key), value: null, expiresAtMs: 0 };
}

/** The header rewritten with another expiry (EXPIRE, PERSIST): same type and value. */
export function expiryWrite(key: Uint8Array, header: VersionedRecord, expiresAtMs: number): ClientWrite {
  return { key: headerRow(key), value: header.value, expiresAtMs };
}

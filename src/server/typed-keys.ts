// What commands read and write of a key's rows (DESIGN.md section 6, src/core/rows.ts):
// its live header (type and expiry), a string's value with its counter slots applied, and
// the rows that replace a key's value. Every command family builds on these.
import { utf8 } from '../core/bytes.js';
import { counterValue, formatCounter } from '../core/counters.js';
import type { ClientWrite } from '../core/io.js';
import { headerlessHashHeader } from '../core/keyspace.js';
import {
  clearRowKey,
  decodeHeader,
  decodeSlotTotal,
  encodeHeader,
  encodeStringHeader,
  headerRowKey,
  headerType,
  KEY_TYPE_NAMES,
  KeyType,
  parseRow,
  parseSlotElement,
  plainStringValue,
  slotPrefix,
  type BaseValue,
  type SlotTotal,
} from '../core/rows.js';
import type { NodeId, VersionedRecord } from '../core/types.js';
import type { Engine } from './engine.js';

export const WRONGTYPE_ERROR = 'WRONGTYPE Operation against a key holding the wrong kind of value';

/** Returned by reads of a key that holds another type. */
export const WRONG_TYPE = Symbol('wrong type');

/** Slot rows read per page. */
const SLOT_PAGE_ROWS = 256;
const EMPTY = new Uint8Array(0);

/**
 * The key's header if the key exists now, else undefined: not expired, and for a hash
 * with at least one live field (Redis deletes an empty hash). A hash whose fields
 * outlived its header row (a concurrent HSET stamped after a clear) reads with
 * headerlessHashHeader.
 */
export function liveHeader(engine: Engine, key: Uint8Array): VersionedRecord | undefined {
  const header = engine.get(headerRowKey(key));
  if (header === undefined || header.value === null) return engine.fieldCount(key) > 0 ? headerlessHashHeader(key) : undefined;
  if (header.expiresAtMs !== 0 && header.expiresAtMs <= engine.nowMs()) return undefined;
  if (header.value[0] === KeyType.Hash && engine.fieldCount(key) === 0) return undefined;
  return header;
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
  const slots = new Map<NodeId, SlotTotal>();
  if (!engine.mayHaveSlots(key)) return slots;
  const prefix = slotPrefix(key, counted);
  let after: Uint8Array | undefined;
  for (;;) {
    const page = engine.scanRows(prefix, after, SLOT_PAGE_ROWS);
    for (const row of page.records) {
      if (row.value === null) continue;
      const slot = parseSlotElement(parseRow(row.key)!.element);
      const total = decodeSlotTotal(row.value);
      if (slot !== undefined && total !== undefined && slot.counted.length === counted.length) slots.set(slot.origin, total);
    }
    if (page.done || page.records.length === 0) return slots;
    after = page.records[page.records.length - 1]!.key;
  }
}

/** A base value with its counter slots applied: the bytes a reader sees. */
export function countedValue(base: BaseValue, slots: ReadonlyMap<NodeId, SlotTotal>): Uint8Array {
  if (slots.size === 0) return base.bytes;
  const counter = counterValue(base, slots);
  return counter === undefined ? base.bytes : utf8(formatCounter(counter));
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
 * The rows that make key the string `value` whatever it held (SET): a key of another type
 * is cleared first; a counter's base records the slots it observed, so increments made
 * concurrently elsewhere still count and the ones seen here are reset.
 */
export function stringWrites(engine: Engine, key: Uint8Array, value: Uint8Array, expiresAtMs: number, current: VersionedRecord | undefined): ClientWrite[] {
  const row = headerRowKey(key);
  if (current === undefined) return [{ key: row, value: encodeStringHeader(value), expiresAtMs }];
  if (typeOf(current) !== KeyType.String) {
    return [
      { key: clearRowKey(key), value: null, expiresAtMs: 0 },
      { key: row, value: encodeStringHeader(value), expiresAtMs },
    ];
  }
  const slots = readSlots(engine, key, EMPTY);
  const header = slots.size === 0 ? encodeStringHeader(value) : encodeHeader({ type: KeyType.String, base: { bytes: value, observed: slots } });
  return [{ key: row, value: header, expiresAtMs }];
}

/** The row that deletes key (with every row written before it, on every node). */
export function deleteWrite(key: Uint8Array): ClientWrite {
  return { key: clearRowKey(key), value: null, expiresAtMs: 0 };
}

/** The header rewritten with another expiry (EXPIRE, PERSIST): same type and value. */
export function expiryWrite(key: Uint8Array, header: VersionedRecord, expiresAtMs: number): ClientWrite {
  return { key: headerRowKey(key), value: header.value, expiresAtMs };
}

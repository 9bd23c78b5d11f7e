// The rows of a hash (DESIGN.md section 6) as the hash commands read and write them: a
// header (type and expiry), one Field row per field (its base value and the counter
// slot totals it observed) and, for fields that were incremented, one Slot row per
// origin. A field's value is its base with the slots applied (counters.ts). Whole-hash
// reads stream the Field rows page by page in row order; nothing here loads a hash.
import type { ClientWrite } from '../core/io.js';
import { bytesToMapKey } from '../core/bytes.js';
import { isHeaderless } from '../core/keyspace.js';
import {
  decodeFieldValue,
  decodeSlotTotal,
  encodeFieldValue,
  encodeHeader,
  headerRowKey,
  kindPrefix,
  KeyType,
  parseRow,
  parseSlotElement,
  rowKindOf,
  RowKind,
  rowKey,
  type BaseValue,
  type SlotTotal,
} from '../core/rows.js';
import type { NodeId, VersionedRecord } from '../core/types.js';
import { ELEMENT_BYTES_MAX, VALUE_BYTES_MAX } from '../core/validate.js';
import { appendError } from '../wire/resp.js';
import { checkKeyLength } from './common.js';
import type { Engine } from './engine.js';
import type { CommandContext } from './context.js';
import { countedValue, deleteWrite, headerOfType, liveHeader, readSlots, typeOf, WRONG_TYPE, WRONGTYPE_ERROR } from './typed-keys.js';

/** The header row value of every hash: the type alone. */
export const HASH_HEADER = encodeHeader({ type: KeyType.Hash, base: undefined });
/** Field rows read per storage page while a hash is streamed. */
export const FIELD_PAGE_ROWS = 1024;
/**
 * A whole-hash read (HGETALL, HVALS) loads the key's slot rows into one map when there
 * are at most this many; beyond that each field looks its own slots up.
 */
const SLOT_PRELOAD_ROWS_MAX = 65_536;

export const NO_SLOTS: ReadonlyMap<NodeId, SlotTotal> = new Map();
const EMPTY_BASE: BaseValue = { bytes: new Uint8Array(0), observed: NO_SLOTS };

export function fieldRowKey(key: Uint8Array, field: Uint8Array): Uint8Array {
  return rowKey(key, RowKind.Field, field);
}

/** A live field row's base value (a malformed one reads as empty, as it still counts in HLEN). */
export function fieldBase(row: VersionedRecord): BaseValue {
  return decodeFieldValue(row.value!) ?? EMPTY_BASE;
}

/** The live Field row of `field`, or undefined. */
export function liveFieldRow(engine: Engine, key: Uint8Array, field: Uint8Array): VersionedRecord | undefined {
  const row = engine.get(fieldRowKey(key, field));
  return row === undefined || row.value === null ? undefined : row;
}

/** The value of a field of an existing hash, counters applied; undefined when the field does not exist. */
export function fieldValue(engine: Engine, key: Uint8Array, field: Uint8Array): Uint8Array | undefined {
  const row = liveFieldRow(engine, key, field);
  return row === undefined ? undefined : countedValue(fieldBase(row), readSlots(engine, key, field));
}

/** The Field row write of `field` = `bytes`, recording the slot totals it resets. */
export function fieldWrite(key: Uint8Array, field: Uint8Array, bytes: Uint8Array, observed: ReadonlyMap<NodeId, SlotTotal>): ClientWrite {
  return { key: fieldRowKey(key, field), value: encodeFieldValue({ bytes, observed }), expiresAtMs: 0 };
}

/** What a write to a hash starts from: the rows that create the key if it does not exist. */
export interface HashWriteTarget {
  /** Written before the fields: the header when the key is created (after a clear of an expired one). */
  readonly writes: ClientWrite[];
  /** True when the key does not exist: every field is new, whatever rows of an old key remain. */
  readonly created: boolean;
  /** False when a clear goes first: the slots it removes must not be recorded as observed. */
  readonly observeSlots: boolean;
}

/**
 * The write target of key for HSET and friends (and of a set or sorted set by `type`:
 * they keep their members as Field rows too); WRONG_TYPE when it holds another type.
 * A key that exists is a hash with a live field. Creating it over an expired one clears
 * that first (the clear its expiry implies would remove the old slots, so a new field's
 * base records none).
 */
export function hashWriteTarget(engine: Engine, key: Uint8Array, type: KeyType = KeyType.Hash): HashWriteTarget | typeof WRONG_TYPE {
  const header = liveHeader(engine, key);
  if (header !== undefined) {
    if (typeOf(header) !== type) return WRONG_TYPE;
    return existingTarget(key, header, type);
  }
  const headerValue = type === KeyType.Hash ? HASH_HEADER : encodeHeader({ type, base: undefined });
  const headerWrite: ClientWrite = { key: headerRowKey(key), value: headerValue, expiresAtMs: 0 };
  const stored = engine.get(headerRowKey(key));
  const expired = stored !== undefined && stored.value !== null && stored.expiresAtMs !== 0 && stored.expiresAtMs <= engine.nowMs();
  if (expired) return { writes: [deleteWrite(key), headerWrite], created: true, observeSlots: false };
  return { writes: [headerWrite], created: true, observeSlots: true };
}

/**
 * The write target of an existing key of `type` whose live header is `header`. A set
 * rewrites its header (same type and expiry) beside new members, so members written
 * concurrently with a clear and stamped after it keep a header. A hash and a sorted set do
 * not: their elements name their type without one (a field's value; a member's value
 * flagged a score, rows.ts encodeScoreValue), so a key whose header a clear removed reads
 * as its type anyway (Keyspace headerlessHeader), and a concurrent EXPIRE or PERSIST is not
 * undone by a later member. Such a headerless key gets its header back with the next write.
 */
export function existingTarget(key: Uint8Array, header: VersionedRecord, type: KeyType): HashWriteTarget {
  if ((type === KeyType.Hash || type === KeyType.ZSet) && !isHeaderless(header)) return { writes: [], created: false, observeSlots: true };
  return { writes: [{ key: headerRowKey(key), value: header.value, expiresAtMs: header.expiresAtMs }], created: false, observeSlots: true };
}

/**
 * A set's or sorted set's rows with their header rows moved last (stable otherwise): a
 * batch is stamped in array order, so its header outranks every member it writes, and a
 * concurrent clear that outranks the header outranks those members too. A member that
 * survives a clear therefore always has a header that survives it (never a headerless
 * key, which would read as a hash).
 */
export function headerLast(writes: readonly ClientWrite[]): ClientWrite[] {
  const headers = writes.filter((write) => rowKindOf(write.key) === RowKind.Header);
  if (headers.length === 0) return writes.slice();
  return [...writes.filter((write) => rowKindOf(write.key) !== RowKind.Header), ...headers];
}

/** The slot totals a new base of `field` resets (none when the target clears first). */
export function observedSlots(engine: Engine, key: Uint8Array, field: Uint8Array, target: HashWriteTarget): ReadonlyMap<NodeId, SlotTotal> {
  return target.observeSlots ? readSlots(engine, key, field) : NO_SLOTS;
}

// ---- What commands check before they read or write ----

/**
 * The live header of a hash (or a collection of `type`) for a read command, counting a keyspace hit or miss as
 * Redis's lookupKeyRead does; WRONG_TYPE after replying with the error.
 */
export function hashForRead(session: CommandContext, key: Uint8Array, type: KeyType = KeyType.Hash): VersionedRecord | undefined | typeof WRONG_TYPE {
  const header = headerOfType(session.engine, key, type);
  if (header === WRONG_TYPE) {
    appendError(session.out, WRONGTYPE_ERROR);
    return WRONG_TYPE;
  }
  if (header === undefined) session.stats.keyspaceMisses++;
  else session.stats.keyspaceHits++;
  return header;
}

/** The write target of a hash for a write command; undefined after replying with an error. */
export function hashForWrite(session: CommandContext, key: Uint8Array, type: KeyType = KeyType.Hash): HashWriteTarget | undefined {
  if (!checkKeyLength(session, key)) return undefined;
  const target = hashWriteTarget(session.engine, key, type);
  if (target !== WRONG_TYPE) return target;
  appendError(session.out, WRONGTYPE_ERROR);
  return undefined;
}

/** A field too long for a row key is refused (ELEMENT_BYTES_MAX); false after replying. */
export function checkFieldLength(session: CommandContext, field: Uint8Array, what = 'hash field'): boolean {
  if (field.length <= ELEMENT_BYTES_MAX) return true;
  appendError(session.out, `ERR ${what} is ${field.length} bytes, the limit is ${ELEMENT_BYTES_MAX}`);
  return false;
}

/** Field values within the record limit with room for the observed slot totals; false after replying. */
export function checkValueLength(session: CommandContext, write: ClientWrite): boolean {
  if (write.value!.length <= VALUE_BYTES_MAX) return true;
  appendError(session.out, `ERR hash value is ${write.value!.length} bytes stored, the limit is ${VALUE_BYTES_MAX}`);
  return false;
}

/**
 * Slot totals of many fields of one key during one command. With `preload`, a key with
 * few slot rows has them read in one pass (whole-hash reads); otherwise each field
 * looks its own up, and a key without slot rows costs nothing per field.
 */
export class FieldSlots {
  private readonly byField: Map<string, Map<NodeId, SlotTotal>> | undefined;
  private readonly perField: boolean;

  constructor(
    private readonly engine: Engine,
    private readonly key: Uint8Array,
    preload: boolean,
  ) {
    if (!engine.mayHaveSlots(key)) {
      this.perField = false;
      return;
    }
    if (!preload) {
      this.perField = true;
      return;
    }
    const page = engine.scanRows(kindPrefix(key, RowKind.Slot), undefined, SLOT_PRELOAD_ROWS_MAX);
    this.perField = !page.done;
    if (this.perField) return;
    const byField = new Map<string, Map<NodeId, SlotTotal>>();
    for (const row of page.records) {
      if (row.value === null) continue;
      const slot = parseSlotElement(parseRow(row.key)!.element);
      const total = decodeSlotTotal(row.value);
      if (slot === undefined || total === undefined) continue;
      const mapKey = bytesToMapKey(slot.counted);
      let totals = byField.get(mapKey);
      if (totals === undefined) byField.set(mapKey, (totals = new Map()));
      totals.set(slot.origin, total);
    }
    if (byField.size > 0) this.byField = byField;
  }

  of(field: Uint8Array): ReadonlyMap<NodeId, SlotTotal> {
    if (this.perField) return readSlots(this.engine, this.key, field);
    if (this.byField === undefined) return NO_SLOTS;
    return this.byField.get(bytesToMapKey(field)) ?? NO_SLOTS;
  }

  /** The value of a live field row, counters applied. */
  value(field: Uint8Array, row: VersionedRecord): Uint8Array {
    return countedValue(fieldBase(row), this.of(field));
  }
}

/** Where a walk over a hash's Field rows stopped. */
export interface FieldWalk {
  /** The last row key read (resume after it), undefined when none was read. */
  readonly last: Uint8Array | undefined;
  /** True when no Field row follows `last`. */
  readonly done: boolean;
}

/**
 * Visit the live fields of key in row order, after row key `after` (undefined: from the
 * first), reading at most rowsMax rows (tombstones count: they cost the same work); a
 * visit that returns false stops the walk there. Pages of FIELD_PAGE_ROWS: memory stays
 * bounded however big the hash is.
 */
export function visitFields(
  engine: Engine,
  key: Uint8Array,
  after: Uint8Array | undefined,
  rowsMax: number,
  visit: (field: Uint8Array, row: VersionedRecord) => boolean | void,
): FieldWalk {
  const prefix = kindPrefix(key, RowKind.Field);
  let last = after;
  let read = 0;
  for (;;) {
    const page = engine.scanRows(prefix, last, Math.min(FIELD_PAGE_ROWS, rowsMax - read));
    const rows = page.records;
    for (const row of rows) {
      if (row.value !== null && visit(row.key.subarray(prefix.length), row) === false) return { last: row.key, done: false };
    }
    read += rows.length;
    if (rows.length > 0) last = rows[rows.length - 1]!.key;
    if (page.done || rows.length === 0) return { last, done: true };
    if (read >= rowsMax) return { last, done: false };
  }
}

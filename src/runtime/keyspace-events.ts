// Keyspace notifications: names the Redis event of each applied change and hands it to every subscriber.
import { bytesToMapKey, equalBytes } from '../core/bytes.js';
import { decodeHeader, decodeSlotTotal, fieldValueType, headerRowKey, headerType, KeyType, parseRow, parseSlotElement, rowKey, rowKindOf, RowKind, rowUserKey, type ParsedRow } from '../core/rows.js';
import type { VersionedRecord } from '../core/types.js';
import { isAbsent } from '../core/record.js';
import type { KeyspaceEvent, KeyspaceEventName } from '../server/engine.js';

export class KeyspaceEvents {
  private readonly listeners = new Set<(event: KeyspaceEvent) => void>();

  /**
   * headerOf reads a stored row (the header of a key whose element rows changed tells
   * whether they are hash fields, set members or sorted-set members); without it, and
   * when the header is gone, members read as their value says (rows.ts fieldValueType).
   */
  constructor(private readonly headerOf?: (row: Uint8Array) => VersionedRecord | undefined) {}

  /** Whether anyone listens: with no subscriber, applied changes need no naming at all. */
  get hasListeners(): boolean {
    return this.listeners.size > 0;
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  /** Returns the function that unsubscribes. */
  subscribe(listener: (event: KeyspaceEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * The events of one applied batch, once per key and event (an HSET of three fields is
   * one `hset`); previous[index] is the version records[index] replaced. Two row patterns
   * read as Redis names them: a key's clear followed by tombstones of its fields is HDEL
   * of the last fields (`hdel`, then `del`), and a field written beside a slot row of the
   * same field is the base "0" HINCRBY creates it with (only the increment is named).
   */
  publish(records: readonly VersionedRecord[], previous: readonly (VersionedRecord | undefined)[], expired: boolean, nowMs: number): void {
    const seen = records.length > 1 ? new Set<string>() : undefined;
    const emitOnce = (key: Uint8Array, name: KeyspaceEventName): void => {
      if (seen !== undefined) {
        const id = `${name}:${bytesToMapKey(key)}`;
        if (seen.has(id)) return;
        seen.add(id);
      }
      this.emit({ key, event: name });
    };
    const countedFields = records.length > 1 ? fieldsWithSlotRows(records) : undefined;
    const counted = records.length > 1 ? keysWithSlots(records) : undefined;
    let pendingDel: Uint8Array | undefined;
    const overMarkers = records.length > 1 && !expired ? keysOverMarkers(records, previous) : undefined;
    const created = createdKeys(records, previous, nowMs, overMarkers);
    for (let index = 0; index < records.length; index++) {
      const record = records[index]!;
      const row = parseRow(record.key);
      if (row === undefined) continue; // the flush row: FLUSHALL names no key
      // Redis names a key's creation `new` (class n, not in A) before the command's own event.
      if (created !== undefined && created.delete(bytesToMapKey(row.key))) this.emit({ key: row.key, event: 'new' });
      if (pendingDel !== undefined && !isFieldTombstoneOf(row, record, pendingDel)) {
        emitOnce(pendingDel, 'del');
        pendingDel = undefined;
      }
      if (row.kind === RowKind.Field && this.familyOf(row.key, record, previous[index], records) === KeyType.Stream) {
        // A stream's rows name its commands themselves (stream-rows.ts): the meta row the batch's stream commands.
        for (const streamName of streamEventsOf(row, record, previous[index], records, nowMs)) emitOnce(row.key, streamName);
        continue;
      }
      let name = keyspaceEventOf(row.kind, record, previous[index], expired, nowMs);
      if (name !== undefined && (row.kind === RowKind.Field || row.kind === RowKind.Slot)) name = this.familyName(name, row, record, previous[index], records);
      if (name === undefined) continue;
      if (name === 'del' && row.kind === RowKind.Clear && overMarkers?.has(bytesToMapKey(row.key)) === true) continue;
      if (name === 'del' && row.kind === RowKind.Clear && index + 1 < records.length) {
        const next = records[index + 1]!;
        const nextRow = parseRow(next.key);
        if (nextRow !== undefined && isFieldTombstoneOf(nextRow, next, row.key)) {
          pendingDel = row.key;
          continue;
        }
      }
      if ((name === 'hset' || name === 'zadd') && countedFields?.has(bytesToMapKey(record.key)) === true) continue;
      // INCR of an absent key writes the header of base "0" beside its slot: Redis names only the increment.
      if (name === 'set' && counted?.has(bytesToMapKey(row.key)) === true && isCounterCreation(record, previous[index], nowMs)) continue;
      emitOnce(row.key, name);
      // As Redis does for SET .. EX/PX/EXAT/PXAT: `set`, then `expire`; not for an expiry
      // kept from before (SET KEEPTTL, APPEND, SETRANGE).
      if (name === 'set' && record.expiresAtMs !== 0 && !keptExpiry(record, previous[index], nowMs)) this.emit({ key: row.key, event: 'expire' });
    }
    if (pendingDel !== undefined) emitOnce(pendingDel, 'del');
  }

  /** A hash event name renamed for the key's family: sadd/srem of a set, zadd/zrem/zincr of a sorted set. */
  private familyName(name: KeyspaceEventName, row: ParsedRow, record: VersionedRecord, before: VersionedRecord | undefined, records: readonly VersionedRecord[]): KeyspaceEventName {
    const type = this.familyOf(row.key, record, before, records);
    if (type === KeyType.Set) return name === 'hdel' ? 'srem' : name === 'hset' ? 'sadd' : name;
    if (type === KeyType.ZSet) return name === 'hdel' ? 'zrem' : name === 'hset' ? 'zadd' : name === 'hincrbyfloat' || name === 'hincrby' ? 'zincr' : name;
    return name;
  }

  private familyOf(key: Uint8Array, record: VersionedRecord, before: VersionedRecord | undefined, records: readonly VersionedRecord[]): number {
    const headerKey = headerRowKey(key);
    for (const other of records) {
      if (other.value !== null && equalBytes(other.key, headerKey)) return headerType(other.value);
    }
    const stored = this.headerOf?.(headerKey);
    if (stored !== undefined && stored.value !== null) return headerType(stored.value);
    const value = record.value ?? before?.value;
    return rowKindOf(record.key) === RowKind.Field && value !== null && value !== undefined ? fieldValueType(value) : KeyType.Hash;
  }

  private emit(event: KeyspaceEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}

/**
 * User keys (bytesToMapKey) whose header this batch writes where none lived before: keys it
 * creates. A batch that also clears the key replaces one that existed (SET over a hash).
 */
function createdKeys(records: readonly VersionedRecord[], previous: readonly (VersionedRecord | undefined)[], nowMs: number, overMarkers: Set<string> | undefined): Set<string> | undefined {
  let created: Set<string> | undefined;
  let cleared: Set<string> | undefined;
  for (let index = 0; index < records.length; index++) {
    const record = records[index]!;
    const kind = rowKindOf(record.key);
    if (kind === RowKind.Clear) (cleared ??= new Set()).add(bytesToMapKey(rowUserKey(record.key)!));
    if (kind !== RowKind.Header || record.value === null) continue;
    const before = previous[index];
    if (before === undefined || before.value === null || isAbsent(before, nowMs)) (created ??= new Set()).add(bytesToMapKey(rowUserKey(record.key)!));
  }
  if (created !== undefined && cleared !== undefined) for (const key of cleared) if (overMarkers === undefined || !overMarkers.has(key)) created.delete(key);
  return created;
}

/**
 * Keys whose header the batch writes over an expiry marker (core/expiry.ts): the clear of
 * the key in the batch is the one that expiry implies (the key was gone, its `expired` told
 * when it was swept), so it names no `del` and the key is created (`new`), as in Redis.
 */
function keysOverMarkers(records: readonly VersionedRecord[], previous: readonly (VersionedRecord | undefined)[]): Set<string> | undefined {
  let keys: Set<string> | undefined;
  for (let index = 0; index < records.length; index++) {
    const before = previous[index];
    if (before === undefined || before.value !== null || before.expiresAtMs === 0 || rowKindOf(before.key) !== RowKind.Header) continue;
    (keys ??= new Set()).add(bytesToMapKey(rowUserKey(before.key)!));
  }
  return keys;
}

/**
 * The Redis event name of one row change, undefined when the change names none (the
 * header a new hash writes beside its first field). Rows do not say which command made
 * them: the same live string with another expiry is what EXPIRE and PERSIST write.
 */
function keyspaceEventOf(kind: RowKind, record: VersionedRecord, before: VersionedRecord | undefined, expired: boolean, nowMs: number): KeyspaceEventName | undefined {
  switch (kind) {
    case RowKind.Clear:
      return expired ? 'expired' : 'del';
    case RowKind.Field:
      return record.value === null ? 'hdel' : 'hset';
    case RowKind.Item:
      return listEventOf(record, before, nowMs);
    case RowKind.Slot: {
      const slot = parseSlotElement(parseRow(record.key)!.element);
      const floatChanged = floatPart(record) !== floatPart(before);
      if (slot !== undefined && slot.counted.length > 0) return floatChanged ? 'hincrbyfloat' : 'hincrby';
      return floatChanged ? 'incrbyfloat' : 'incrby';
    }
    case RowKind.Header: {
      if (record.value === null) return expired || record.expiresAtMs !== 0 ? 'expired' : 'del'; // expiresAtMs: an expiry marker (core/expiry.ts)
      const type = headerType(record.value);
      const wasLive = before !== undefined && !isAbsent(before, nowMs) && before.value !== null;
      const sameContent = wasLive && equalBytes(before.value!, record.value);
      if (sameContent && before.expiresAtMs !== record.expiresAtMs) return record.expiresAtMs === 0 ? 'persist' : 'expire';
      return type === KeyType.String ? 'set' : undefined;
    }
  }
  return undefined;
}

/**
 * A list row names its command by where it sits (rows do not say which command made them):
 * an element over a live one is LSET; a new one at a pushed (integer) position is LPUSH
 * left of zero, RPUSH right of it, LINSERT elsewhere; a tombstone is LPOP or RPOP by side.
 */
function listEventOf(record: VersionedRecord, before: VersionedRecord | undefined, nowMs: number): KeyspaceEventName {
  const position = parseRow(record.key)!.element;
  const left = position.length > 0 && position[0]! < 0x80;
  if (record.value === null) return left ? 'lpop' : 'rpop';
  if (before !== undefined && before.value !== null && !isAbsent(before, nowMs)) return 'lset';
  const integerEnd = position.length > 0 ? 1 + (left ? 0x7f - position[0]! : position[0]! - 0x80) : 0;
  if (position[integerEnd] !== 0) return 'linsert';
  return left ? 'lpush' : 'rpush';
}

/** Stream row sub-kinds and meta op bits (src/server/stream-rows.ts StreamPart, StreamOp). */
const STREAM_META = 0;
const STREAM_GROUP = 2;
const STREAM_CONSUMER = 4;
const STREAM_OPS: readonly [number, KeyspaceEventName][] = [
  [1, 'xadd'],
  [2, 'xtrim'],
  [4, 'xdel'],
  [8, 'xsetid'],
];

/**
 * The events of one stream row: the meta row names the batch's stream commands (its op
 * bits); a group row's creation, rewrite and removal are XGROUP CREATE, SETID and DESTROY;
 * a consumer row's creation and removal CREATECONSUMER and DELCONSUMER. Entries, group
 * cursors and pending entries name nothing (XREADGROUP, XACK and XCLAIM have no event).
 */
function streamEventsOf(row: ParsedRow, record: VersionedRecord, before: VersionedRecord | undefined, records: readonly VersionedRecord[], nowMs: number): KeyspaceEventName[] {
  const element = row.element;
  const wasLive = before !== undefined && before.value !== null && !isAbsent(before, nowMs);
  const isLive = record.value !== null;
  switch (element[0]) {
    case STREAM_META:
      if (!isLive || record.value!.length === 0) return [];
      return STREAM_OPS.filter(([bit]) => (record.value![0]! & bit) !== 0).map(([, name]) => name);
    case STREAM_GROUP:
      if (!isLive) return wasLive ? ['xgroup-destroy'] : [];
      return [wasLive ? 'xgroup-setid' : 'xgroup-create'];
    case STREAM_CONSUMER:
      if (!isLive) return wasLive && !groupDestroyedIn(row, records) ? ['xgroup-delconsumer'] : [];
      return wasLive ? [] : ['xgroup-createconsumer'];
    default:
      return [];
  }
}

/** True when the batch removes the group of this consumer row (XGROUP DESTROY names only the group). */
function groupDestroyedIn(consumer: ParsedRow, records: readonly VersionedRecord[]): boolean {
  const element = consumer.element;
  if (element.length < 5) return false;
  const length = ((element[1]! << 24) | (element[2]! << 16) | (element[3]! << 8) | element[4]!) >>> 0;
  const group = new Uint8Array(1 + length);
  group[0] = STREAM_GROUP;
  group.set(element.subarray(5, 5 + length), 1);
  const groupKey = rowKey(consumer.key, RowKind.Field, group);
  return records.some((other) => other.value === null && equalBytes(other.key, groupKey));
}

function keptExpiry(record: VersionedRecord, before: VersionedRecord | undefined, nowMs: number): boolean {
  return before !== undefined && before.value !== null && !isAbsent(before, nowMs) && before.expiresAtMs === record.expiresAtMs;
}

/** Map keys of the user keys that have a string slot row in the batch. */
function keysWithSlots(records: readonly VersionedRecord[]): Set<string> | undefined {
  let keys: Set<string> | undefined;
  for (const record of records) {
    const row = parseRow(record.key);
    if (row?.kind !== RowKind.Slot || parseSlotElement(row.element)?.counted.length !== 0) continue;
    (keys ??= new Set()).add(bytesToMapKey(row.key));
  }
  return keys;
}

/** A string header of base "0" over no live version: the header an increment creates its key with. */
function isCounterCreation(record: VersionedRecord, before: VersionedRecord | undefined, nowMs: number): boolean {
  if (before !== undefined && !isAbsent(before, nowMs) && before.value !== null) return false;
  const bytes = decodeHeader(record.value!)?.base?.bytes;
  return bytes !== undefined && bytes.length === 1 && bytes[0] === 0x30;
}

function isFieldTombstoneOf(row: ParsedRow, record: VersionedRecord, key: Uint8Array): boolean {
  return (row.kind === RowKind.Field || row.kind === RowKind.Item) && record.value === null && equalBytes(row.key, key);
}

/** Row keys (bytesToMapKey) of the Field rows whose slot rows are in the batch; undefined when it has none. */
function fieldsWithSlotRows(records: readonly VersionedRecord[]): Set<string> | undefined {
  let fields: Set<string> | undefined;
  for (const record of records) {
    if (rowKindOf(record.key) !== RowKind.Slot) continue;
    const row = parseRow(record.key)!;
    const slot = parseSlotElement(row.element);
    if (slot === undefined || slot.counted.length === 0) continue;
    (fields ??= new Set()).add(bytesToMapKey(rowKey(row.key, RowKind.Field, slot.counted)));
  }
  return fields;
}

function floatPart(record: VersionedRecord | undefined): number {
  if (record === undefined || record.value === null) return 0;
  return decodeSlotTotal(record.value)?.float ?? 0;
}

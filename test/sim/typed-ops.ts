// The rows the server's commands write (src/server/typed-keys.ts and the command families),
// decided from what a simulated node reads, without importing src/server: SET, DEL,
// INCRBY, HSET, HINCRBY, HDEL, EXPIRE/PERSIST and FLUSHALL here, the set, sorted-set and
// list commands in collection-ops.ts. Several commands make one
// client write (MULTI): each reads the rows of the ones before it (batch-view.ts).
// What the ledger needs to know (increments, the slots a new base observed) comes back
// beside the rows.
import { bytesToMapKey, utf8 } from '../../src/core/bytes.js';
import type { ClientWrite } from '../../src/core/io.js';
import {
  clearRowKey,
  decodeHeader,
  decodeSlotTotal,
  encodeFieldValue,
  encodeHeader,
  encodeSlotTotal,
  encodeStringHeader,
  FLUSH_ROW_KEY,
  headerRowKey,
  headerType,
  KeyType,
  rowKey,
  RowKind,
  slotElement,
  ZERO_SLOT,
} from '../../src/core/rows.js';
import type { StoreView } from '../../src/core/store-view.js';
import type { NodeId, VersionedRecord } from '../../src/core/types.js';
import { BatchView } from './batch-view.js';
import { linsert, lpop, push, sadd, srem, zadd, zincrby, type BatchContext } from './collection-ops.js';
import { integerValue, liveField, liveHeader, readSlots, type SlotRead } from './row-reads.js';

export type TypedOp =
  | { readonly cmd: 'set'; readonly key: Uint8Array; readonly value: Uint8Array; readonly ttlMs: number }
  | { readonly cmd: 'del'; readonly key: Uint8Array }
  | { readonly cmd: 'incrby'; readonly key: Uint8Array; readonly delta: bigint }
  | { readonly cmd: 'hset'; readonly key: Uint8Array; readonly field: Uint8Array; readonly value: Uint8Array }
  | { readonly cmd: 'hincrby'; readonly key: Uint8Array; readonly field: Uint8Array; readonly delta: bigint }
  | { readonly cmd: 'hdel'; readonly key: Uint8Array; readonly field: Uint8Array }
  /** ttlMs 0: PERSIST. */
  | { readonly cmd: 'expire'; readonly key: Uint8Array; readonly ttlMs: number }
  | { readonly cmd: 'flushall' }
  | { readonly cmd: 'sadd' | 'srem'; readonly key: Uint8Array; readonly member: Uint8Array }
  | { readonly cmd: 'zadd'; readonly key: Uint8Array; readonly member: Uint8Array; readonly score: number }
  | { readonly cmd: 'zincrby'; readonly key: Uint8Array; readonly member: Uint8Array; readonly delta: bigint }
  | { readonly cmd: 'rpush' | 'lpush'; readonly key: Uint8Array; readonly value: Uint8Array }
  | { readonly cmd: 'lpop'; readonly key: Uint8Array }
  /** The pivot is the live element at pivotPick modulo the list's length on the node. */
  | { readonly cmd: 'linsert'; readonly key: Uint8Array; readonly before: boolean; readonly pivotPick: number; readonly value: Uint8Array };

/** The sequence number of a slot version the ledger does not know (a simulator bug if it shows). */
export const UNKNOWN_SEQ = -1;

/** One increment as the ledger keeps it: which counter, by how much, in which slot row. */
export interface IncrementIntent {
  /** counterId(user key, counted element). */
  readonly counter: string;
  /** bytesToMapKey of the slot row written. */
  readonly slotRow: string;
  readonly delta: bigint;
  /** The counter's key type: String, Hash (a field) or ZSet (a member's score, float slots). */
  readonly type: KeyType;
  /** Per-origin sequence number of increments (the ledger's numbering, from 1). */
  readonly seq: number;
  /**
   * The increment whose running total this one adds to (the one the slot row it read
   * held); 0 when the origin had no slot row (a new running total, after a clear).
   */
  readonly prev: number;
}

/** A base row (string header or hash field) written with what it observed of each origin's slot. */
export interface BaseIntent {
  readonly row: string;
  /**
   * Origin -> sequence number of the newest increment the observed slot of that origin
   * held; undefined when not known (a header copied from a version the ledger never saw).
   */
  readonly observed: ReadonlyMap<NodeId, number> | undefined;
}

/** The rows of a batch of typed operations and what the ledger must know of them. */
export interface TypedBatch {
  readonly writes: ClientWrite[];
  readonly increments: IncrementIntent[];
  /** The last base intent of each row written (a row written twice keeps its last). */
  readonly bases: Map<string, BaseIntent>;
  /** Commands that wrote nothing (WRONGTYPE, not a number, absent key). */
  readonly skipped: number;
  /** Field rows (map keys) that set and sorted-set commands wrote: members, not hash fields. */
  readonly memberRows: Set<string>;
  /** Item rows (map keys) whose order a command fixed (LINSERT between its neighbours). */
  readonly orders: OrderIntent[];
  /** Elements pushed at one end, in the order the batch pushed them. */
  readonly pushes: PushIntent[];
}

export interface OrderIntent {
  readonly earlier: string;
  readonly later: string;
  readonly what: string;
}

export interface PushIntent {
  /** bytesToMapKey of the user key. */
  readonly key: string;
  readonly row: string;
  readonly left: boolean;
}

/** The node's list position clock (list-rows.ts nextSequence): process memory, lost on a crash. */
export interface PositionClock {
  next(nowMs: number): number;
}

/** What the builder asks the ledger: sequence numbers for new increments and of stored slot versions. */
export interface SlotSequences {
  nextSeq(origin: NodeId): number;
  /** Sequence number of the newest increment a stored slot row version holds (UNKNOWN_SEQ if unknown). */
  seqOfSlot(record: VersionedRecord): number;
  /** The observation of a stored base row version (EXPIRE copies a header's observation). */
  observationOf(record: VersionedRecord): ReadonlyMap<NodeId, number> | undefined;
}

export function counterId(key: Uint8Array, counted: Uint8Array): string {
  return `${bytesToMapKey(key)}\u0000${bytesToMapKey(counted)}`;
}

const EMPTY = new Uint8Array(0);
const ZERO_TEXT = utf8('0');

/** Builds the rows of a batch of typed operations on one node. */
export class TypedBatchBuilder implements BatchContext {
  readonly view: BatchView;
  private readonly writes: ClientWrite[] = [];
  private readonly increments: IncrementIntent[] = [];
  private readonly bases = new Map<string, BaseIntent>();
  /** This batch's newest increment per slot row (for observations and running totals inside the batch). */
  private readonly pendingSlots = new Map<string, number>();
  private skipped = 0;
  private readonly memberRows = new Set<string>();
  private readonly orders: OrderIntent[] = [];
  private readonly pushes: PushIntent[] = [];

  constructor(
    store: StoreView,
    nowMs: number,
    readonly self: NodeId,
    private readonly sequences: SlotSequences,
    private readonly positions: PositionClock,
  ) {
    this.view = new BatchView(store, nowMs, self);
  }

  add(op: TypedOp): void {
    switch (op.cmd) {
      case 'set':
        return this.set(op.key, op.value, op.ttlMs);
      case 'del':
        if (liveHeader(this.view, op.key) === undefined) return this.skip();
        return this.push({ key: clearRowKey(op.key), value: null, expiresAtMs: 0 });
      case 'incrby':
        return this.incrby(op.key, op.delta);
      case 'hset':
        return this.hset(op.key, op.field, op.value);
      case 'hincrby':
        return this.hincrby(op.key, op.field, op.delta);
      case 'hdel': {
        const header = liveHeader(this.view, op.key);
        if (header === undefined || headerType(header.value!) !== KeyType.Hash || liveField(this.view, op.key, op.field) === undefined) return this.skip();
        return this.push({ key: rowKey(op.key, RowKind.Field, op.field), value: null, expiresAtMs: 0 });
      }
      case 'expire':
        return this.expire(op.key, op.ttlMs);
      case 'flushall':
        return this.push({ key: FLUSH_ROW_KEY, value: null, expiresAtMs: 0 });
      case 'sadd':
        return sadd(this, op.key, op.member);
      case 'srem':
        return srem(this, op.key, op.member);
      case 'zadd':
        return zadd(this, op.key, op.member, op.score);
      case 'zincrby':
        return zincrby(this, op.key, op.member, op.delta);
      case 'rpush':
      case 'lpush':
        return push(this, op.key, op.value, op.cmd === 'lpush');
      case 'lpop':
        return lpop(this, op.key);
      case 'linsert':
        return linsert(this, op.key, op.before, op.pivotPick, op.value);
    }
  }

  finish(): TypedBatch {
    return { writes: this.writes, increments: this.increments, bases: this.bases, skipped: this.skipped, memberRows: this.memberRows, orders: this.orders, pushes: this.pushes };
  }

  skip(): void {
    this.skipped++;
  }

  nextPositionSequence(): number {
    return this.positions.next(this.view.nowMs);
  }

  noteMember(row: Uint8Array): void {
    this.memberRows.add(bytesToMapKey(row));
  }

  noteOrder(earlier: Uint8Array, later: Uint8Array, what: string): void {
    this.orders.push({ earlier: bytesToMapKey(earlier), later: bytesToMapKey(later), what });
  }

  notePush(key: Uint8Array, row: Uint8Array, left: boolean): void {
    this.pushes.push({ key: bytesToMapKey(key), row: bytesToMapKey(row), left });
  }

  push(write: ClientWrite): void {
    this.view.write(write);
    this.writes.push(write);
  }

  /** The sequence numbers of the slots read: what a base written over them observes. */
  observe(slots: SlotRead): Map<NodeId, number> {
    const observed = new Map<NodeId, number>();
    for (const [origin, record] of slots.records) observed.set(origin, this.seqOf(record));
    return observed;
  }

  private seqOf(record: VersionedRecord): number {
    return this.view.isPending(record) ? (this.pendingSlots.get(bytesToMapKey(record.key)) ?? UNKNOWN_SEQ) : this.sequences.seqOfSlot(record);
  }

  pushBase(write: ClientWrite, observed: ReadonlyMap<NodeId, number> | undefined): void {
    this.push(write);
    const row = bytesToMapKey(write.key);
    this.bases.set(row, { row, observed });
  }

  /** stringWrites: a key of another type is cleared first; a counter's new base observes its slots. */
  private set(key: Uint8Array, value: Uint8Array, ttlMs: number): void {
    const expiresAtMs = ttlMs === 0 ? 0 : this.view.nowMs + ttlMs;
    const header = headerRowKey(key);
    const current = liveHeader(this.view, key);
    if (current === undefined) return this.pushBase({ key: header, value: encodeStringHeader(value), expiresAtMs }, new Map());
    if (headerType(current.value!) !== KeyType.String) {
      this.push({ key: clearRowKey(key), value: null, expiresAtMs: 0 });
      return this.pushBase({ key: header, value: encodeStringHeader(value), expiresAtMs }, new Map());
    }
    const slots = readSlots(this.view, key, EMPTY);
    const encoded = slots.totals.size === 0 ? encodeStringHeader(value) : encodeHeader({ type: KeyType.String, base: { bytes: value, observed: slots.totals } });
    this.pushBase({ key: header, value: encoded, expiresAtMs }, this.observe(slots));
  }

  /** INCRBY: this node's slot gets its running total plus delta; an absent key gets a "0" header first. */
  private incrby(key: Uint8Array, delta: bigint): void {
    const current = liveHeader(this.view, key);
    if (current === undefined) {
      this.pushBase({ key: headerRowKey(key), value: encodeStringHeader(ZERO_TEXT), expiresAtMs: 0 }, new Map());
    } else {
      if (headerType(current.value!) !== KeyType.String) return this.skip();
      const base = decodeHeader(current.value!)?.base;
      if (base === undefined || integerValue(base, readSlots(this.view, key, EMPTY).totals) === undefined) return this.skip();
    }
    this.incrementSlot(key, EMPTY, delta, KeyType.String);
  }

  /** HSET of one field: header if the key is absent; the field's new base observes its slots. */
  private hset(key: Uint8Array, field: Uint8Array, value: Uint8Array): void {
    if (!this.ensureHash(key)) return this.skip();
    const slots = readSlots(this.view, key, field);
    this.pushBase({ key: rowKey(key, RowKind.Field, field), value: encodeFieldValue({ bytes: value, observed: slots.totals }), expiresAtMs: 0 }, this.observe(slots));
  }

  /** HINCRBY: header and a "0" field (observing the field's slots) when absent, then this node's slot. */
  private hincrby(key: Uint8Array, field: Uint8Array, delta: bigint): void {
    const header = liveHeader(this.view, key);
    if (header !== undefined && headerType(header.value!) !== KeyType.Hash) return this.skip();
    const base = header === undefined ? undefined : liveField(this.view, key, field);
    if (base !== undefined && integerValue(base, readSlots(this.view, key, field).totals) === undefined) return this.skip();
    if (!this.ensureHash(key)) return this.skip();
    if (base === undefined) {
      const slots = readSlots(this.view, key, field);
      this.pushBase({ key: rowKey(key, RowKind.Field, field), value: encodeFieldValue({ bytes: ZERO_TEXT, observed: slots.totals }), expiresAtMs: 0 }, this.observe(slots));
    }
    this.incrementSlot(key, field, delta, KeyType.Hash);
  }

  /** EXPIRE/PERSIST: the live header rewritten with another expiry (same value, same observation). */
  private expire(key: Uint8Array, ttlMs: number): void {
    const header = liveHeader(this.view, key);
    if (header === undefined || (ttlMs === 0 && header.expiresAtMs === 0)) return this.skip();
    const row = bytesToMapKey(headerRowKey(key));
    const observed = this.view.isPending(header) ? this.bases.get(row)?.observed : this.sequences.observationOf(header);
    const write = { key: headerRowKey(key), value: header.value, expiresAtMs: ttlMs === 0 ? 0 : this.view.nowMs + ttlMs };
    if (headerType(header.value!) === KeyType.String) this.pushBase(write, observed);
    else this.push(write);
  }

  /** True when the key is a live hash or was absent and now has a hash header. */
  private ensureHash(key: Uint8Array): boolean {
    const header = liveHeader(this.view, key);
    if (header !== undefined) return headerType(header.value!) === KeyType.Hash;
    this.push({ key: headerRowKey(key), value: encodeHeader({ type: KeyType.Hash, base: undefined }), expiresAtMs: 0 });
    return true;
  }

  /** This node's slot gets its running total plus delta: integer slots, float ones for a sorted set's score. */
  incrementSlot(key: Uint8Array, counted: Uint8Array, delta: bigint, type: KeyType): void {
    const slotRow = rowKey(key, RowKind.Slot, slotElement(counted, this.self));
    const stored = this.view.get(slotRow);
    const present = stored !== undefined && stored.value !== null;
    const before = (present ? decodeSlotTotal(stored.value!) : undefined) ?? ZERO_SLOT;
    const seq = this.sequences.nextSeq(this.self);
    const prev = present ? this.seqOf(stored!) : 0;
    const mapKey = bytesToMapKey(slotRow);
    this.pendingSlots.set(mapKey, seq);
    this.increments.push({ counter: counterId(key, counted), slotRow: mapKey, delta, type, seq, prev });
    const next = type === KeyType.ZSet ? { integer: before.integer, float: before.float + Number(delta) } : { integer: before.integer + delta, float: 0 };
    this.push({ key: slotRow, value: encodeSlotTotal(next), expiresAtMs: 0 });
  }
}

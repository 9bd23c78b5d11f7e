// What the simulated clients were told, for the typed-row invariants: every increment a
// node stamped (counter, origin, sequence number, the increment whose running total it
// adds to, delta, the slot row version that holds it, whether the client got its reply),
// what each written base observed of every origin's slot, and the acknowledged clears,
// flushes, hash field and set/sorted-set member writes, and the list element orders that
// acknowledged LINSERTs and pushes fixed. Built from the batches the clients issued and the
// versions the nodes stamped them with, never from the rows replicas end up with.
//
// A write a node stamped but lost in a crash before its commit was never acknowledged,
// yet it may live on: anti-entropy serves rows before they commit. So unacknowledged
// increments are kept too; the checks count them only where they made it into the rows.
import { bytesToMapKey, equalBytes } from '../../src/core/bytes.js';
import { FLUSH_ROW_KEY, KeyType, parseRow, rowKindOf, RowKind } from '../../src/core/rows.js';
import type { NodeId, VersionedRecord } from '../../src/core/types.js';
import { UNKNOWN_SEQ, type OrderIntent, type SlotSequences, type TypedBatch } from './typed-ops.js';

export interface IncrementEntry {
  readonly counter: string;
  readonly origin: NodeId;
  readonly seq: number;
  /** The increment this one's running total adds to; 0 when it starts a new running total. */
  readonly prev: number;
  readonly delta: bigint;
  /** The key type it was made on (String, Hash, ZSet). */
  readonly type: KeyType;
  /** The stamped slot row that holds it; undefined when the same batch cleared it again. */
  readonly slot: VersionedRecord | undefined;
  /** The node committed it and the client got its reply. */
  acked: boolean;
}

/** An acknowledged write of a hash field row: a value (HSET, HINCRBY creating it) or HDEL. */
export interface FieldWrite {
  readonly version: VersionedRecord;
  readonly deleted: boolean;
}

interface IssuedBatch {
  readonly batch: TypedBatch;
  /** Final stamped record of each row the batch wrote (absent: removed within the batch). */
  stamped: Map<string, VersionedRecord> | undefined;
  increments: IncrementEntry[];
}

export function versionId(record: VersionedRecord): string {
  return `${bytesToMapKey(record.key)}\u0000${record.hlc.wallMs}.${record.hlc.logical}\u0000${record.origin}`;
}

export class Ledger implements SlotSequences {
  /** Every increment stamped, by counter. */
  readonly incrementsByCounter = new Map<string, IncrementEntry[]>();
  /** Slot row versions committed anywhere, by counter and origin. */
  readonly committedSlots = new Map<string, Map<NodeId, VersionedRecord[]>>();
  /** User key -> acknowledged client clear rows (DEL, and the clear of SET over another type). */
  readonly clears = new Map<string, VersionedRecord[]>();
  readonly flushes: VersionedRecord[] = [];
  /** Field row key -> acknowledged writes of it. */
  readonly fieldWrites = new Map<string, FieldWrite[]>();
  /** Version ids of every client clear stamped (to tell them from clears the core derives). */
  readonly clientClearIds = new Set<string>();
  /** Counter -> its key type (String, Hash, ZSet). */
  readonly counterTypes = new Map<string, KeyType>();
  /** Field rows that set and sorted-set commands wrote (members, not hash fields). */
  readonly memberRows = new Set<string>();
  /**
   * Item row pairs whose order acknowledged commands fixed: LINSERT between its neighbours,
   * and on one node successive RPUSHes (each after the last) and LPUSHes (each before it).
   */
  readonly orders: OrderIntent[] = [];
  /** node -> user key -> last acknowledged push row at the right and at the left end. */
  private readonly lastPush = new Map<string, Map<string, { right?: string; left?: string }>>();
  ackedIncrements = 0;
  skippedCommands = 0;
  private readonly seqByOrigin = new Map<NodeId, number>();
  private readonly increments = new Map<NodeId, Map<number, IncrementEntry>>();
  private readonly slotSeqs = new Map<string, { counter: string; origin: NodeId; seq: number }>();
  private readonly committedSlotIds = new Set<string>();
  private readonly observations = new Map<string, ReadonlyMap<NodeId, number> | undefined>();
  private readonly issued = new Map<string, IssuedBatch>();

  nextSeq(origin: NodeId): number {
    const seq = (this.seqByOrigin.get(origin) ?? 0) + 1;
    this.seqByOrigin.set(origin, seq);
    return seq;
  }

  seqOfSlot(record: VersionedRecord): number {
    return this.slotSeqs.get(versionId(record))?.seq ?? UNKNOWN_SEQ;
  }

  observationOf(record: VersionedRecord): ReadonlyMap<NodeId, number> | undefined {
    return this.observations.get(versionId(record));
  }

  /** Whether a base row version was written by a client the ledger saw. */
  knowsBase(record: VersionedRecord): boolean {
    return this.observations.has(versionId(record));
  }

  /** Sum of the deltas of the running total that origin's increment seq ends (0 for seq 0). */
  runningTotal(origin: NodeId, seq: number): bigint {
    let total = 0n;
    for (let at = this.increments.get(origin)?.get(seq); at !== undefined; at = this.increments.get(origin)!.get(at.prev)) total += at.delta;
    return total;
  }

  /** The increments in the running total that origin's increment seq ends (seq and the ones it adds to). */
  lineage(origin: NodeId, seq: number): Set<number> {
    const seqs = new Set<number>();
    for (let at = this.increments.get(origin)?.get(seq); at !== undefined; at = this.increments.get(origin)!.get(at.prev)) seqs.add(at.seq);
    return seqs;
  }

  issue(node: string, requestId: number, batch: TypedBatch): void {
    this.skippedCommands += batch.skipped;
    this.issued.set(`${node}#${requestId}`, { batch, stamped: undefined, increments: [] });
  }

  /**
   * Whether the batch's client commands wrote this clear row (a DEL, a SET over another
   * type...); a clear the core added to it is derived from an expiry, stamped by that expiry,
   * and may even share its version with a client clear its origin stamped at that very
   * millisecond (logical 0): the same record, not a stamp of this node's clock.
   */
  batchWritesClear(node: string, requestId: number, row: Uint8Array): boolean {
    const issued = this.issued.get(`${node}#${requestId}`);
    return issued === undefined || issued.batch.writes.some((write) => write.value === null && isClearRow(write.key) && equalBytes(write.key, row));
  }

  /** The node stamped the batch: these are the records it persists (derived clears included). */
  stamped(node: string, requestId: number, origin: NodeId, records: readonly VersionedRecord[]): void {
    const issued = this.issued.get(`${node}#${requestId}`);
    if (issued === undefined) return;
    const stamped = new Map<string, VersionedRecord>();
    for (const record of records) stamped.set(bytesToMapKey(record.key), record);
    issued.stamped = stamped;
    // The stamped slot row holds the last increment of the batch to it and those it adds to;
    // an earlier one that a clear later in the batch removed (INCR k, DEL k, INCR k) it does not.
    const held = new Set<number>();
    const bySeq = new Map(issued.batch.increments.map((intent) => [intent.seq, intent]));
    const lastBySlot = new Map(issued.batch.increments.map((intent) => [intent.slotRow, intent]));
    for (const last of lastBySlot.values()) for (let at = last as typeof last | undefined; at !== undefined; at = bySeq.get(at.prev)) held.add(at.seq);
    for (const intent of issued.batch.increments) {
      const slot = held.has(intent.seq) ? stamped.get(intent.slotRow) : undefined;
      const entry: IncrementEntry = { counter: intent.counter, origin, seq: intent.seq, prev: intent.prev, delta: intent.delta, type: intent.type, slot, acked: false };
      this.counterTypes.set(intent.counter, intent.type);
      issued.increments.push(entry);
      let byOrigin = this.increments.get(origin);
      if (byOrigin === undefined) this.increments.set(origin, (byOrigin = new Map()));
      byOrigin.set(entry.seq, entry);
      let list = this.incrementsByCounter.get(entry.counter);
      if (list === undefined) this.incrementsByCounter.set(entry.counter, (list = []));
      list.push(entry);
      if (slot !== undefined && lastBySlot.get(intent.slotRow) === intent) this.slotSeqs.set(versionId(slot), { counter: entry.counter, origin, seq: entry.seq });
    }
    for (const [row, base] of issued.batch.bases) {
      const record = stamped.get(row);
      if (record !== undefined) this.observations.set(versionId(record), base.observed);
    }
    for (const write of issued.batch.writes) {
      if (write.value !== null || !isClearRow(write.key)) continue;
      const record = stamped.get(bytesToMapKey(write.key));
      if (record !== undefined) this.clientClearIds.add(versionId(record));
    }
  }

  /** A node committed a record (its own write or a merge): slot versions count as applied from now on. */
  noteCommitted(record: VersionedRecord): void {
    if (rowKindOf(record.key) !== RowKind.Slot) return;
    const id = versionId(record);
    const slot = this.slotSeqs.get(id);
    if (slot === undefined || this.committedSlotIds.has(id)) return;
    this.committedSlotIds.add(id);
    let byOrigin = this.committedSlots.get(slot.counter);
    if (byOrigin === undefined) this.committedSlots.set(slot.counter, (byOrigin = new Map()));
    let versions = byOrigin.get(slot.origin);
    if (versions === undefined) byOrigin.set(slot.origin, (versions = []));
    versions.push(record);
  }

  /** The batch committed on its node: the client got its replies. */
  acked(node: string, requestId: number): void {
    const key = `${node}#${requestId}`;
    const issued = this.issued.get(key);
    if (issued === undefined || issued.stamped === undefined) return;
    this.issued.delete(key);
    const stamped = issued.stamped;
    for (const increment of issued.increments) increment.acked = true;
    this.ackedIncrements += issued.increments.length;
    for (const row of issued.batch.memberRows) this.memberRows.add(row);
    this.orders.push(...issued.batch.orders);
    this.notePushes(node, issued.batch);
    const seen = new Set<string>();
    for (const write of issued.batch.writes) {
      const mapKey = bytesToMapKey(write.key);
      if (seen.has(mapKey)) continue;
      seen.add(mapKey);
      const record = stamped.get(mapKey);
      if (record === undefined) continue;
      if (equalBytes(write.key, FLUSH_ROW_KEY)) {
        this.flushes.push(record);
        continue;
      }
      const parsed = parseRow(write.key)!;
      if (parsed.kind === RowKind.Clear) {
        const userKey = bytesToMapKey(parsed.key);
        let list = this.clears.get(userKey);
        if (list === undefined) this.clears.set(userKey, (list = []));
        list.push(record);
      } else if (parsed.kind === RowKind.Field) {
        let list = this.fieldWrites.get(mapKey);
        if (list === undefined) this.fieldWrites.set(mapKey, (list = []));
        list.push({ version: record, deleted: record.value === null });
      }
    }
  }

  /** Each acknowledged push sorts beyond the node's previous acknowledged push at that end of that list. */
  private notePushes(node: string, batch: TypedBatch): void {
    let byKey = this.lastPush.get(node);
    if (byKey === undefined) this.lastPush.set(node, (byKey = new Map()));
    for (const pushed of batch.pushes) {
      let ends = byKey.get(pushed.key);
      if (ends === undefined) byKey.set(pushed.key, (ends = {}));
      const previous = pushed.left ? ends.left : ends.right;
      if (previous !== undefined) this.orders.push(pushed.left ? { earlier: pushed.row, later: previous, what: `LPUSH on ${node}` } : { earlier: previous, later: pushed.row, what: `RPUSH on ${node}` });
      if (pushed.left) ends.left = pushed.row;
      else ends.right = pushed.row;
    }
  }

  /** The node crashed: what it had not committed never reached a client (though it may live on). */
  forgetPending(node: string): void {
    for (const key of [...this.issued.keys()]) if (key.startsWith(`${node}#`)) this.issued.delete(key);
  }
}

export function isClearRow(key: Uint8Array): boolean {
  if (equalBytes(key, FLUSH_ROW_KEY)) return true;
  return parseRow(key)?.kind === RowKind.Clear;
}

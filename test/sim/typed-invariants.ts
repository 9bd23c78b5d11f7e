// The typed-row invariants (DESIGN.md section 6), checked on the converged replicas against
// the ledger of what clients were told:
//   counter              every acknowledged increment counts (INCRBY, HINCRBY, and ZINCRBY: a
//                        sorted-set member's score = base + unobserved increments), unless the winning base observed
//                        it or a later clear removed it; a value that differs only the way the
//                        design's running totals make it differ when a clear races increments
//                        is reported as counter-clear-race (a known gap, regressions.ts);
//   deleted-field        a hash field whose latest acknowledged write is HDEL, or that a later
//                        acknowledged DEL/FLUSHALL cleared, is absent everywhere;
//   removed-member       the same for a set or sorted-set member (SREM, the removal of the
//                        last member, DEL, FLUSHALL): no member an observed remove took comes back;
//   cleared-row-remains  no replica keeps a row at or below a clear row of its key (or the flush).
// A counter that reads wrong because a surviving slot holds increments made while the key
// was another type (a sorted set's ZINCRBY under a hash that won a concurrent creation, or
// the reverse) is reported as type-conflict-rows (a known gap, regressions.ts).
// ClearIndex tells which clears may remove a row: client clears and flushes always; a clear
// the core derived from an expiry only if no newer header was written before that expiry.
import { bytesToMapKey, equalBytes } from '../../src/core/bytes.js';
import { counterValue, parseCounterBase, parseLongDouble, unobservedIncrements } from '../../src/core/counters.js';
import { compareHlc } from '../../src/core/hlc.js';
import { expiryClear } from '../../src/core/keyspace.js';
import {
  decodeFieldValue,
  decodeHeader,
  decodeSlotTotal,
  FLUSH_ROW_KEY,
  headerRowKey,
  headerType,
  KEY_TYPE_NAMES,
  KeyType,
  parseRow,
  parseSlotElement,
  rowKey,
  rowKindOf,
  RowKind,
  type BaseValue,
  type SlotTotal,
} from '../../src/core/rows.js';
import type { Hlc, NodeId, VersionedRecord } from '../../src/core/types.js';
import { versionId, type Ledger } from './ledger.js';
import { describeRecord } from './trace.js';
import { counterId } from './typed-ops.js';

type Fail = (invariant: string, detail: string) => void;

function compareIds(a: { hlc: Hlc; origin: NodeId }, b: { hlc: Hlc; origin: NodeId }): number {
  const byClock = compareHlc(a.hlc, b.hlc);
  if (byClock !== 0) return byClock;
  return a.origin < b.origin ? -1 : a.origin > b.origin ? 1 : 0;
}

/** True if row is at or below clear in (hlc, origin) order: the clear removes it. */
export function clearedBy(row: VersionedRecord, clear: VersionedRecord | undefined): boolean {
  return clear !== undefined && compareIds(row, clear) <= 0;
}

function maxVersion(records: Iterable<VersionedRecord>): VersionedRecord | undefined {
  let best: VersionedRecord | undefined;
  for (const record of records) if (best === undefined || compareIds(record, best) > 0) best = record;
  return best;
}

/**
 * Which clears may explain a row's absence: 'legitimate' (client clears, flushes, expiries
 * nothing superseded), 'expiry' (those and expiries of superseded headers: the known gap),
 * 'any' (any committed clear row, even one nothing explains: for reads during the run).
 */
export type ClearScope = 'legitimate' | 'expiry' | 'any';

interface KeyClears {
  readonly clears: VersionedRecord[];
  readonly headers: VersionedRecord[];
  /** Cached newest clear per scope (null: recompute). */
  readonly newest: Map<ClearScope, VersionedRecord | undefined>;
}

/** Every committed clear, flush and header version, by user key. */
export class ClearIndex {
  private readonly keys = new Map<string, KeyClears>();
  private readonly seen = new Set<string>();
  private flushMax: VersionedRecord | undefined;

  constructor(private readonly clientClearIds: ReadonlySet<string>) {}

  note(record: VersionedRecord): void {
    const kind = rowKindOf(record.key);
    if (kind === RowKind.Field || kind === RowKind.Slot) return;
    const isFlush = kind < 0 && equalBytes(record.key, FLUSH_ROW_KEY);
    const parsed = isFlush ? undefined : parseRow(record.key);
    if (!isFlush && parsed === undefined) return;
    const id = versionId(record);
    if (this.seen.has(id)) return;
    this.seen.add(id);
    if (isFlush) {
      if (record.value === null && (this.flushMax === undefined || compareIds(record, this.flushMax) > 0)) this.flushMax = record;
      return;
    }
    const entry = this.entry(bytesToMapKey(parsed!.key));
    if (parsed!.kind === RowKind.Clear) entry.clears.push(record);
    else if (record.value !== null) entry.headers.push(record);
    entry.newest.clear();
  }

  /** True if a committed clear of the row's key in `scope` (or the flush) at or above it explains its absence. */
  removes(row: VersionedRecord, scope: ClearScope): boolean {
    if (clearedBy(row, this.flushMax)) return true;
    const kind = parseRow(row.key);
    if (kind === undefined) return false;
    const entry = this.keys.get(bytesToMapKey(kind.key));
    if (entry === undefined) return false;
    if (!entry.newest.has(scope)) entry.newest.set(scope, maxVersion(entry.clears.filter((clear) => scope === 'any' || this.explains(entry, clear, scope === 'expiry'))));
    return clearedBy(row, entry.newest.get(scope));
  }

  /** Pairs of consecutive headers of one key of different types with no clear between: concurrent creations. */
  typeConflicts(): number {
    let conflicts = 0;
    for (const entry of this.keys.values()) {
      const headers = [...entry.headers].sort(compareIds);
      for (let index = 1; index < headers.length; index++) {
        const before = headers[index - 1]!;
        const after = headers[index]!;
        if (headerType(before.value!) === headerType(after.value!) || before.origin === after.origin) continue;
        if (!entry.clears.some((clear) => compareIds(clear, before) > 0 && compareIds(clear, after) < 0)) conflicts++;
      }
    }
    return conflicts;
  }

  private entry(userKey: string): KeyClears {
    let entry = this.keys.get(userKey);
    if (entry === undefined) this.keys.set(userKey, (entry = { clears: [], headers: [], newest: new Map() }));
    return entry;
  }

  /**
   * A client clear, or the clear the expiry of a committed header implies, and that header
   * was not superseded (a newer header written before it expired) unless `superseded` is allowed.
   */
  private explains(entry: KeyClears, clear: VersionedRecord, superseded: boolean): boolean {
    if (this.clientClearIds.has(versionId(clear))) return true;
    for (const header of entry.headers) {
      if (header.expiresAtMs === 0 || compareIds(expiryClear(header), clear) !== 0) continue;
      if (superseded || !entry.headers.some((other) => compareIds(other, header) > 0 && compareIds(other, clear) <= 0)) return true;
    }
    return false;
  }
}

/** One replica's final rows, indexed the way the typed checks read them. */
interface RowIndex {
  readonly byKey: Map<string, VersionedRecord>;
  /** counterId -> origin -> slot row (value decodes to a slot total). */
  readonly slots: Map<string, Map<NodeId, VersionedRecord>>;
}

function indexRows(records: readonly VersionedRecord[]): RowIndex {
  const byKey = new Map<string, VersionedRecord>();
  const slots = new Map<string, Map<NodeId, VersionedRecord>>();
  for (const record of records) {
    byKey.set(bytesToMapKey(record.key), record);
    const parsed = parseRow(record.key);
    if (parsed?.kind !== RowKind.Slot || record.value === null) continue;
    const slot = parseSlotElement(parsed.element);
    if (slot === undefined || decodeSlotTotal(record.value) === undefined) continue;
    const id = counterId(parsed.key, slot.counted);
    let rows = slots.get(id);
    if (rows === undefined) slots.set(id, (rows = new Map()));
    rows.set(slot.origin, record);
  }
  return { byKey, slots };
}

export interface TypedNode {
  readonly name: string;
  readonly records: readonly VersionedRecord[];
  readonly nowMs: number;
}

export interface TypedCheckStats {
  counterChecks: number;
  /** Of counterChecks, sorted-set scores (ZINCRBY). */
  scoreChecks: number;
  fieldChecks: number;
}

/** A bytesToMapKey string back to its bytes. */
function mapKeyBytes(mapKey: string): Uint8Array {
  return Uint8Array.from(mapKey, (char) => char.charCodeAt(0));
}

/** Row keys (as map keys) of a counter's header and base row: the header itself for a string, the field row for a hash field or sorted-set member. */
function counterRows(counter: string): { header: string; base: string; field: boolean } {
  const [userKey, counted] = counter.split('\u0000').map(mapKeyBytes) as [Uint8Array, Uint8Array];
  const header = bytesToMapKey(headerRowKey(userKey));
  if (counted.length === 0) return { header, base: header, field: false };
  return { header, base: bytesToMapKey(rowKey(userKey, RowKind.Field, counted)), field: true };
}

/** A slot total as one integer: integer slots, or a sorted set's float slots (integral increments here). */
function slotAmount(total: SlotTotal | undefined): bigint {
  return total === undefined ? 0n : total.integer + (Number.isInteger(total.float) ? BigInt(total.float) : 0n);
}

/** A base's number (a score for a sorted set), undefined when not an integer. */
function baseNumber(type: KeyType, base: BaseValue): bigint | undefined {
  if (type !== KeyType.ZSet) {
    const parsed = parseCounterBase(base.bytes);
    return parsed?.kind === 'integer' ? parsed.value : undefined;
  }
  const score = parseLongDouble(base.bytes);
  return score !== undefined && Number.isInteger(score) ? BigInt(score) : undefined;
}

/** What the rows read as (counters.ts counterValue, zset-rows.ts scoreOf), undefined when not an integer. */
function countedNumber(type: KeyType, base: BaseValue, slots: ReadonlyMap<NodeId, SlotTotal>): bigint | undefined {
  if (type !== KeyType.ZSet) {
    const value = slots.size === 0 ? parseCounterBase(base.bytes) : counterValue(base, slots);
    return value?.kind === 'integer' ? value.value : undefined;
  }
  const increments = unobservedIncrements(base, slots);
  const score = (parseLongDouble(base.bytes) ?? 0) + Number(increments.integer) + increments.float;
  return Number.isInteger(score) ? BigInt(score) : undefined;
}

function isLive(record: VersionedRecord | undefined, nowMs: number): record is VersionedRecord {
  return record !== undefined && record.value !== null && (record.expiresAtMs === 0 || record.expiresAtMs > nowMs);
}

/** The newest version of each origin's slot row for a counter committed anywhere that no clear removed. */
function survivingSlots(counter: string, ledger: Ledger, clears: ClearIndex): Map<NodeId, VersionedRecord> {
  const surviving = new Map<NodeId, VersionedRecord>();
  for (const [origin, versions] of ledger.committedSlots.get(counter) ?? []) {
    const newest = maxVersion(versions);
    if (newest !== undefined && !clears.removes(newest, 'expiry')) surviving.set(origin, newest);
  }
  return surviving;
}

interface CounterExpectation {
  /** base + every increment acknowledged (or that made it into a surviving slot) that no clear removed and the base did not observe. */
  readonly strict: bigint;
  readonly strictByOrigin: Map<NodeId, bigint>;
  /**
   * What the rows should count by the design as it stands (DESIGN.md 6 counters): each
   * origin's surviving slot with its whole running total (even the part stamped before a
   * clear the origin had not seen), minus what the base recorded having observed of that
   * origin (even of an earlier running total that a clear has since removed).
   */
  readonly design: bigint;
  /** Which of the two made design differ from strict, per origin. */
  readonly why: string[];
}

function expectCounter(counter: string, base: bigint, observed: ReadonlyMap<NodeId, number>, recorded: BaseValue, ledger: Ledger, clears: ClearIndex): CounterExpectation {
  const surviving = survivingSlots(counter, ledger, clears);
  const increments = ledger.incrementsByCounter.get(counter) ?? [];
  const origins = new Set([...surviving.keys(), ...increments.map((increment) => increment.origin)]);
  let strict = base;
  let design = base;
  const strictByOrigin = new Map<NodeId, bigint>();
  const why: string[] = [];
  for (const origin of [...origins].sort()) {
    const slot = surviving.get(origin);
    const finalSeq = slot === undefined ? 0 : ledger.seqOfSlot(slot);
    const kept = ledger.lineage(origin, finalSeq);
    const seenSeq = observed.get(origin) ?? 0;
    const seen = ledger.lineage(origin, seenSeq);
    let strictPart = 0n;
    let clearedInKept = false;
    for (const increment of increments) {
      if (increment.origin !== origin) continue;
      const removed = increment.slot === undefined || clears.removes(increment.slot, 'expiry');
      if (removed && kept.has(increment.seq)) clearedInKept = true;
      // An unacknowledged increment counts only where it made it into the surviving running total.
      if (removed || seen.has(increment.seq) || !(increment.acked || kept.has(increment.seq))) continue;
      strictPart += increment.delta;
    }
    strict += strictPart;
    strictByOrigin.set(origin, strictPart);
    if (slot === undefined) continue; // no slot row: the rows count nothing of this origin
    const sameTotal = seenSeq === 0 || kept.has(seenSeq);
    design += ledger.runningTotal(origin, finalSeq) - (sameTotal ? ledger.runningTotal(origin, seenSeq) : slotAmount(recorded.observed.get(origin)));
    if (!sameTotal) why.push(`${origin.slice(0, 6)}: the base observed a running total that a clear removed`);
    if (clearedInKept) why.push(`${origin.slice(0, 6)}: its running total carries increments from before a clear it had not seen`);
  }
  return { strict, strictByOrigin, design, why };
}

/** Every acknowledged increment counted (invariant a) on one replica. */
function checkCounters(node: TypedNode, rows: RowIndex, ledger: Ledger, clears: ClearIndex, stats: TypedCheckStats, fail: Fail): void {
  for (const counter of ledger.incrementsByCounter.keys()) {
    const names = counterRows(counter);
    const type = ledger.counterTypes.get(counter) ?? (names.field ? KeyType.Hash : KeyType.String);
    const header = rows.byKey.get(names.header);
    if (!isLive(header, node.nowMs) || headerType(header.value!) !== type) continue;
    const baseRow = names.field ? rows.byKey.get(names.base) : header;
    if (baseRow === undefined || baseRow.value === null) continue;
    const base: BaseValue | undefined = names.field ? decodeFieldValue(baseRow.value) : decodeHeader(baseRow.value)?.base;
    const parsed = base === undefined ? undefined : baseNumber(type, base);
    if (base === undefined || parsed === undefined) continue;
    const observed = ledger.observationOf(baseRow);
    if (!ledger.knowsBase(baseRow) || observed === undefined || [...observed.values()].some((seq) => seq < 0)) {
      fail('counter', `${node.name}: base ${describeRecord(baseRow)} is not in the ledger with a known observation`);
      continue;
    }
    stats.counterChecks++;
    if (type === KeyType.ZSet) stats.scoreChecks++;
    const expected = expectCounter(counter, parsed, observed, base, ledger, clears);
    const slotRows = rows.slots.get(counter) ?? new Map<NodeId, VersionedRecord>();
    const slots = new Map([...slotRows].map(([origin, row]) => [origin, decodeSlotTotal(row.value!)!] as const));
    const actual = countedNumber(type, base, slots);
    if (actual === expected.strict) continue;
    // Per origin: what the ledger counts, and what the rows count (slot - observed).
    const perOrigin = [...new Set([...expected.strictByOrigin.keys(), ...slots.keys()])]
      .sort()
      .map((origin) => `${origin.slice(0, 6)}: ledger +${expected.strictByOrigin.get(origin) ?? 0n}, rows ${slotAmount(slots.get(origin))}-${slotAmount(base.observed.get(origin))}`)
      .join('; ');
    const detail = `${node.name}: ${describeRecord(baseRow)} reads ${actual ?? 'not a number'} but the ledger expects ${expected.strict} (base ${parsed}; ${perOrigin})`;
    const foreign = (ledger.incrementsByCounter.get(counter) ?? []).filter((increment) => increment.type !== type && increment.slot !== undefined && slots.has(increment.origin) && !clears.removes(increment.slot, 'expiry'));
    if (foreign.length > 0) {
      const origins = [...new Set(foreign.map((increment) => `${increment.origin.slice(0, 6)} (${KEY_TYPE_NAMES[increment.type]})`))].join(', ');
      fail('type-conflict-rows', `${detail}: slots of ${origins} hold increments made while the key was another type, and count under its ${KEY_TYPE_NAMES[type]} header`);
    } else if (actual !== undefined && expected.design === actual && expected.why.length > 0) fail('counter-clear-race', `${detail}: ${expected.why.join('; ')}`);
    else fail('counter', detail);
  }
}

/** No deleted field returns (invariant b) on one replica. */
function checkDeletedFields(node: TypedNode, rows: RowIndex, ledger: Ledger, stats: TypedCheckStats, fail: Fail): void {
  for (const [fieldRow, writes] of ledger.fieldWrites) {
    const latest = writes.reduce((best, write) => (compareIds(write.version, best.version) > 0 ? write : best));
    const userKey = parseRow(latest.version.key)!.key;
    const clear = maxVersion([...(ledger.clears.get(bytesToMapKey(userKey)) ?? []), ...ledger.flushes]);
    const deletedBy = clear !== undefined && compareIds(clear, latest.version) > 0 ? clear : latest.deleted ? latest.version : undefined;
    if (deletedBy === undefined) continue;
    stats.fieldChecks++;
    // A later write that was never acknowledged (its node crashed before the reply) may
    // still have reached the rows: only a value at or below the deletion is a return.
    const stored = rows.byKey.get(fieldRow);
    if (stored !== undefined && stored.value !== null && compareIds(stored, deletedBy) <= 0) {
      fail(ledger.memberRows.has(fieldRow) ? 'removed-member' : 'deleted-field', `${node.name} ends with ${describeRecord(stored)} although ${describeRecord(deletedBy)} deleted it (acknowledged)`);
    }
  }
}

/** No row at or below a stored clear of its key, or below the flush (invariant c), on one replica. */
function checkClearedRowsGone(node: TypedNode, rows: RowIndex, fail: Fail): void {
  const flush = rows.byKey.get(bytesToMapKey(FLUSH_ROW_KEY));
  const clearOf = new Map<string, VersionedRecord>();
  for (const record of node.records) {
    const parsed = parseRow(record.key);
    if (parsed?.kind === RowKind.Clear) clearOf.set(bytesToMapKey(parsed.key), record);
  }
  for (const record of node.records) {
    if (record === flush) continue;
    if (clearedBy(record, flush)) {
      fail('cleared-row-remains', `${node.name} keeps ${describeRecord(record)} below the flush ${describeRecord(flush!)}`);
      continue;
    }
    const parsed = parseRow(record.key);
    if (parsed === undefined || parsed.kind === RowKind.Clear) continue;
    const clear = clearOf.get(bytesToMapKey(parsed.key));
    if (clearedBy(record, clear)) fail('cleared-row-remains', `${node.name} keeps ${describeRecord(record)} at or below ${describeRecord(clear!)}`);
  }
}

export function checkTyped(nodes: readonly TypedNode[], ledger: Ledger, clears: ClearIndex, fail: Fail): TypedCheckStats {
  const stats: TypedCheckStats = { counterChecks: 0, scoreChecks: 0, fieldChecks: 0 };
  for (const node of nodes) {
    const rows = indexRows(node.records);
    checkClearedRowsGone(node, rows, fail);
    checkCounters(node, rows, ledger, clears, stats, fail);
    checkDeletedFields(node, rows, ledger, stats, fail);
  }
  return stats;
}

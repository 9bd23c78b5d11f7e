// The node's stored rows as the core sees them: what each change does (stamp a local
// write, LWW-merge a remote row, apply a clear, expire, purge) and the Merkle tree and
// counts kept in step with every change. It reads the store and decides; the node core
// turns the decisions into persist effects. Rows are opaque LWW records here except for
// three kinds that act on others (rows.ts): a clear row removes the rows of its key
// stamped at or below it, the flush row does so for every key, and an expired header
// turns into the clear row its expiry implies.
import { KEY_BUCKET_COUNT } from './bytes.js';
import type { CoreConfig } from './config.js';
import { compareHlc, nextHlc, type HlcClock } from './hlc.js';
import type { ClientWrite } from './io.js';
import type { MerkleTree } from './merkle.js';
import { compareVersions } from './record.js';
import { clearRowKey, FLUSH_ROW_KEY, keyPrefix, rowBucket, rowKindOf, RowKind, rowUserKey } from './rows.js';
import { RowWrites, type Changes } from './row-writes.js';
import { StepView } from './step-view.js';
import type { StoreView } from './store-view.js';
import type { TombstoneTracker } from './tombstones.js';
import { equalBytes } from './bytes.js';
import type { Hlc, NodeId, VersionedRecord } from './types.js';

export type { Changes } from './row-writes.js';

/** What a merge did: the rows that won, and the tombstones refused because this node purged them. */
export interface MergeResult extends Changes {
  readonly refusedPurged: VersionedRecord[];
}

/** Records per page when the whole keyspace or one key is read (tree load, resync, clears). */
const SCAN_PAGE_RECORDS = 4096;
const FLUSH_KIND = -2;
const NO_PURGES: Uint8Array[] = [];

/** The kind of a record's key, FLUSH_KIND for the flush row, -1 for anything else. */
function kindOf(key: Uint8Array): number {
  const kind = rowKindOf(key);
  if (kind >= 0) return kind;
  return equalBytes(key, FLUSH_ROW_KEY) ? FLUSH_KIND : -1;
}

/** True if row's version is at or below the clear's: (hlc, origin) order, as LWW. */
function notAfter(row: VersionedRecord, clear: { readonly hlc: Hlc; readonly origin: NodeId }): boolean {
  const byClock = compareHlc(row.hlc, clear.hlc);
  return byClock < 0 || (byClock === 0 && row.origin <= clear.origin);
}

/** An expired header, as the clear row its expiry implies (the same on every node). */
export function expiryClear(header: VersionedRecord): VersionedRecord {
  const userKey = rowUserKey(header.key)!;
  const hlc = header.expiresAtMs > header.hlc.wallMs ? { wallMs: header.expiresAtMs, logical: 0 } : header.hlc;
  return { key: clearRowKey(userKey), value: null, hlc, origin: header.origin, expiresAtMs: 0 };
}

function isExpiredHeader(record: VersionedRecord, kind: number, nowMs: number): boolean {
  return kind === RowKind.Header && record.value !== null && record.expiresAtMs !== 0 && record.expiresAtMs <= nowMs;
}

export class Keyspace {
  /** Keys with a live header (expired but unswept included), and those of them with an expiry. */
  liveKeys = 0;
  keysWithExpiry = 0;
  /** Clear and slot rows per bucket: reads and merges skip their lookups where there are none. */
  private readonly clearRows = new Uint32Array(KEY_BUCKET_COUNT);
  private readonly slotRows = new Uint32Array(KEY_BUCKET_COUNT);
  /** The stored flush row (FLUSHALL): every row at or below it is dead. */
  private flush: VersionedRecord | undefined;
  private sweepBucket = 0;
  /** Every read of the store, with this step's changes on top (step-view.ts). */
  private readonly view: StepView;
  private loading = false;

  constructor(
    private readonly storage: StoreView,
    readonly tree: MerkleTree,
    private readonly tombstones: TombstoneTracker,
    private readonly config: CoreConfig,
    /** The node core's counters: this module adds to the merge, sweep and purge ones. */
    private readonly counters: Record<string, number>,
  ) {
    this.view = new StepView(storage);
  }

  /** Build the tree and counts from what is stored (at start). */
  load(): void {
    this.loading = true;
    let bucket = 0;
    while (bucket < KEY_BUCKET_COUNT) {
      const page = this.storage.scanBuckets(bucket, KEY_BUCKET_COUNT, SCAN_PAGE_RECORDS);
      for (const record of page.records) this.track(undefined, record);
      bucket = page.nextBucket;
    }
    this.loading = false;
  }

  /** A new step: the store holds every change made before it (the runtime applied their persist effects). */
  settle(): void {
    this.view.settle();
  }

  /** Whether the key of this bucket may have counter slots (false: it has none). */
  mayHaveSlots(bucket: number): boolean {
    return this.slotRows[bucket]! > 0;
  }

  /** Keep the Merkle tree and counts in step with one stored change of one row. */
  track(before: VersionedRecord | undefined, after: VersionedRecord | undefined): void {
    const key = (after ?? before)!.key;
    if (!this.loading) this.view.note(key, after);
    this.tree.update(key, before, after);
    const kind = kindOf(key);
    if (kind === RowKind.Header) {
      if (before !== undefined && before.value !== null) {
        this.liveKeys--;
        if (before.expiresAtMs !== 0) this.keysWithExpiry--;
      }
      if (after !== undefined && after.value !== null) {
        this.liveKeys++;
        if (after.expiresAtMs !== 0) this.keysWithExpiry++;
      }
    } else if (kind === RowKind.Clear || kind === RowKind.Slot) {
      const counts = kind === RowKind.Clear ? this.clearRows : this.slotRows;
      const bucket = rowBucket(key);
      counts[bucket] = counts[bucket]! + (after === undefined ? 0 : 1) - (before === undefined ? 0 : 1);
    } else if (kind === FLUSH_KIND) {
      if (after !== undefined && (this.flush === undefined || compareVersions(after, this.flush) > 0)) this.flush = after;
    }
  }

  /** Client writes stamped by our clock: always the newest version of their rows. */
  stamp(writes: readonly ClientWrite[], clock: HlcClock, origin: NodeId, nowMs: number): Changes {
    this.counters.client_writes! += writes.length;
    if (writes.length === 1) {
      const write = writes[0]!;
      const kind = kindOf(write.key);
      const before = kind === RowKind.Clear || kind === FLUSH_KIND ? undefined : this.view.get(write.key);
      if (before === undefined ? kind !== RowKind.Clear && kind !== FLUSH_KIND : !isExpiredHeader(before, kind, nowMs)) {
        // The hot path of a plain SET: one row, nothing it acts on.
        const record: VersionedRecord = { key: write.key, value: write.value, hlc: nextHlc(clock, nowMs), origin, expiresAtMs: write.expiresAtMs };
        this.track(before, record);
        return { records: [record], previous: [before], purgeKeys: NO_PURGES };
      }
    }
    const rows = new RowWrites(this.view);
    for (const write of writes) {
      const kind = kindOf(write.key);
      if (kind === RowKind.Header) {
        // A key created where an expired one waits for the sweep: its rows go first, by the
        // same clear every node derives from that expiry (so concurrent creations agree).
        const current = rows.get(write.key);
        if (current !== undefined && isExpiredHeader(current, kind, nowMs)) this.storeClearIfNewer(rows, expiryClear(current));
      }
      const record: VersionedRecord = { key: write.key, value: write.value, hlc: nextHlc(clock, nowMs), origin, expiresAtMs: write.expiresAtMs };
      this.store(rows, record, kind);
    }
    return rows.changes();
  }

  /** Store a derived clear (of an expiry) unless a newer clear is there already. */
  private storeClearIfNewer(rows: RowWrites, clear: VersionedRecord): void {
    const local = rows.get(clear.key);
    if (local === undefined || compareVersions(clear, local) > 0) this.store(rows, clear, RowKind.Clear);
    else this.applyClear(rows, local);
  }

  /** Store a winning row and carry out what its kind does to other rows. */
  private store(rows: RowWrites, record: VersionedRecord, kind: number): void {
    const before = rows.get(record.key);
    rows.put(record, before);
    this.track(before, record);
    if (kind === RowKind.Clear) this.applyClear(rows, record);
    else if (kind === FLUSH_KIND) this.applyFlush(rows, record);
  }

  /**
   * Remove the rows of the clear's key stamped at or below it, stored ones and ones this
   * step wrote before it (MULTI: HSET k f v, DEL k): the step view holds those.
   */
  private applyClear(rows: RowWrites, clear: VersionedRecord): void {
    const prefix = keyPrefix(rowUserKey(clear.key)!);
    let after: Uint8Array | undefined;
    for (;;) {
      const page = this.view.scanRows(prefix, after, SCAN_PAGE_RECORDS);
      for (const stored of page.records) this.removeIfCleared(rows, stored.key, clear);
      if (page.done || page.records.length === 0) break;
      after = page.records[page.records.length - 1]!.key;
    }
  }

  /** Remove every row of every key at or below the flush row (FLUSHALL), stored or written by this step. */
  private applyFlush(rows: RowWrites, flush: VersionedRecord): void {
    let bucket = 0;
    while (bucket < KEY_BUCKET_COUNT) {
      const page = this.view.scanBuckets(bucket, KEY_BUCKET_COUNT, SCAN_PAGE_RECORDS);
      for (const stored of page.records) this.removeIfCleared(rows, stored.key, flush);
      bucket = page.nextBucket;
    }
  }

  private removeIfCleared(rows: RowWrites, key: Uint8Array, clear: VersionedRecord): void {
    if (equalBytes(key, clear.key)) return;
    const current = rows.get(key);
    if (current === undefined || !notAfter(current, clear)) return;
    rows.remove(current);
    this.track(current, undefined);
    this.counters.rows_cleared!++;
  }

  /** The clear row governing a row's key, if any (pending changes first). */
  private clearOf(rows: RowWrites, key: Uint8Array): VersionedRecord | undefined {
    if (this.clearRows[rowBucket(key)] === 0) return undefined;
    const userKey = rowUserKey(key);
    return userKey === undefined ? undefined : rows.get(clearRowKey(userKey));
  }

  /** True if a row is dead on arrival: at or below its key's clear or the flush. */
  private cleared(rows: RowWrites, record: VersionedRecord, kind: number): boolean {
    if (this.flush !== undefined && kind !== FLUSH_KIND && notAfter(record, this.flush)) return true;
    if (kind === RowKind.Clear || kind === FLUSH_KIND) return false;
    const clear = this.clearOf(rows, record.key);
    return clear !== undefined && notAfter(record, clear);
  }

  /**
   * LWW-merge remote rows into local state: the ones that won, once per row. Clears go
   * first, so a batch's rows meet the clears of the same batch whatever their order.
   */
  merge(records: readonly VersionedRecord[], nowMs: number): MergeResult {
    const refusedPurged: VersionedRecord[] = [];
    const rows = new RowWrites(this.view);
    const graceStartMs = nowMs - this.config.tombstoneGraceMs;
    const later: VersionedRecord[] = [];
    for (let pass = 0; pass < 2; pass++) {
      for (const incoming of pass === 0 ? records : later) {
        let kind = kindOf(incoming.key);
        let record = incoming;
        if (isExpiredHeader(incoming, kind, nowMs)) {
          record = expiryClear(incoming);
          kind = RowKind.Clear;
        }
        const actsOnOthers = kind === RowKind.Clear || kind === FLUSH_KIND;
        if (pass === 0 && !actsOnOthers) {
          later.push(record);
          continue;
        }
        if (record.value === null && record.hlc.wallMs < graceStartMs) {
          // Everyone purged this tombstone already; storing it again would only resurrect work.
          this.counters.old_tombstones_refused!++;
          continue;
        }
        if (this.tombstones.wasPurged(record, nowMs)) {
          this.counters.purged_tombstones_refused!++;
          if (record.value === null) refusedPurged.push(record);
          continue;
        }
        const local = rows.get(record.key);
        if ((local !== undefined && compareVersions(record, local) <= 0) || this.cleared(rows, record, kind)) {
          this.counters.records_stale_in!++;
          continue;
        }
        this.store(rows, record, kind);
      }
    }
    const changes = rows.changes();
    this.counters.records_merged_in! += changes.records.length;
    return { ...changes, refusedPurged };
  }

  /** Forget every record older than horizonMs (resync), one page at a time: each page's keys go to onPage. */
  dropOlderThan(horizonMs: number, onPage: (keys: Uint8Array[]) => void): number {
    let dropped = 0;
    let bucket = 0;
    while (bucket < KEY_BUCKET_COUNT) {
      const page = this.view.scanBuckets(bucket, KEY_BUCKET_COUNT, SCAN_PAGE_RECORDS);
      const stale = page.records.filter((record) => record.hlc.wallMs < horizonMs);
      for (const record of stale) this.track(record, undefined);
      if (stale.length > 0) onPage(stale.map((record) => record.key));
      dropped += stale.length;
      bucket = page.nextBucket;
    }
    return dropped;
  }

  /** Of these tombstone versions, the ones that are still the stored version: no longer tracked. */
  takeExactTombstones(records: readonly VersionedRecord[]): VersionedRecord[] {
    const purged: VersionedRecord[] = [];
    for (const record of records) {
      const local = this.view.get(record.key);
      if (record.value !== null || local === undefined || local.value !== null || compareVersions(local, record) !== 0) continue;
      this.track(local, undefined);
      purged.push(local);
    }
    return purged;
  }

  /** True when the last sweep slice ended the pass over every bucket (the next starts again at 0). */
  sweepWrapped(): boolean {
    return this.sweepBucket === 0;
  }

  /**
   * One bounded slice of the sweep: expired headers become the clears their expiry implies
   * (removing the key's rows), tombstones past the grace period go. The next call
   * continues after this slice.
   */
  sweepSlice(nowMs: number): Changes {
    const page = this.view.scanBuckets(this.sweepBucket, KEY_BUCKET_COUNT, this.config.sweepKeysMax);
    this.sweepBucket = page.nextBucket >= KEY_BUCKET_COUNT ? 0 : page.nextBucket;
    const rows = new RowWrites(this.view);
    const graceStartMs = nowMs - this.config.tombstoneGraceMs;
    let expired = 0;
    let purged = 0;
    for (const scanned of page.records) {
      const record = rows.get(scanned.key);
      if (record === undefined) continue; // removed by a clear earlier in this slice
      const kind = kindOf(record.key);
      if (isExpiredHeader(record, kind, nowMs)) {
        this.storeClearIfNewer(rows, expiryClear(record));
        expired++;
      } else if (record.value === null && record.hlc.wallMs < graceStartMs) {
        rows.remove(record);
        this.track(record, undefined);
        purged++;
      }
    }
    this.counters.expired_swept! += expired;
    this.counters.tombstones_purged! += purged;
    return rows.changes();
  }
}

// The simulated disk of one node: a StoreView whose writes are visible at once but
// committed only when the simulator says so, so a crash loses exactly what an LMDB
// process killed before its commit would lose. Synchronous and deterministic.
import { bytesToMapKey, compareBytes, KEY_BUCKET_COUNT } from '../../src/core/bytes.js';
import { rowBucket, rowPrefixBucket } from '../../src/core/rows.js';
import { HLC_ZERO } from '../../src/core/hlc.js';
import type { Hlc, VersionedRecord } from '../../src/core/types.js';
import { rangePageOfSorted, rowPageOf, type RangePage, type RowPage, type ScanResult, type StoreView } from '../../src/core/store-view.js';

interface Entry {
  readonly bucket: number;
  readonly key: Uint8Array;
  record: VersionedRecord;
}

/** Key-ordered table of records: a Map for lookups, one per bucket for row scans, plus a lazily sorted (bucket, key) list. */
class RecordTable {
  private readonly byKey = new Map<string, Entry>();
  private readonly byBucket = new Map<number, Map<string, Entry>>();
  private sorted: Entry[] = [];
  private sortedValid = true;

  get(key: Uint8Array): VersionedRecord | undefined {
    return this.byKey.get(bytesToMapKey(key))?.record;
  }

  put(record: VersionedRecord): void {
    const mapKey = bytesToMapKey(record.key);
    const entry = this.byKey.get(mapKey);
    if (entry !== undefined) {
      entry.record = record;
      return;
    }
    this.add(mapKey, { bucket: rowBucket(record.key), key: record.key, record });
  }

  remove(key: Uint8Array): void {
    const mapKey = bytesToMapKey(key);
    const entry = this.byKey.get(mapKey);
    if (entry === undefined) return;
    this.byKey.delete(mapKey);
    const bucket = this.byBucket.get(entry.bucket)!;
    bucket.delete(mapKey);
    if (bucket.size === 0) this.byBucket.delete(entry.bucket);
    this.sortedValid = false;
  }

  size(): number {
    return this.byKey.size;
  }

  /** The records of one bucket (any order). */
  *bucketRecords(bucket: number): Iterable<VersionedRecord> {
    const entries = this.byBucket.get(bucket);
    if (entries !== undefined) for (const entry of entries.values()) yield entry.record;
  }

  entries(): Entry[] {
    if (!this.sortedValid) {
      this.sorted = [...this.byKey.values()].sort((a, b) => a.bucket - b.bucket || compareBytes(a.key, b.key));
      this.sortedValid = true;
    }
    return this.sorted;
  }

  clone(): RecordTable {
    const copy = new RecordTable();
    for (const [mapKey, entry] of this.byKey) copy.add(mapKey, { ...entry });
    return copy;
  }

  private add(mapKey: string, entry: Entry): void {
    this.byKey.set(mapKey, entry);
    let bucket = this.byBucket.get(entry.bucket);
    if (bucket === undefined) this.byBucket.set(entry.bucket, (bucket = new Map()));
    bucket.set(mapKey, entry);
    this.sortedValid = false;
  }
}

/** One persist effect (or metadata write, token -1) waiting for its simulated commit. */
interface PendingBatch {
  readonly token: number;
  readonly meta?: { readonly name: string; readonly value: Uint8Array };
  readonly records: readonly VersionedRecord[];
  readonly purgeKeys: readonly Uint8Array[];
  /** The node's clock high-water mark, saved in the same transaction (as the runtime does). */
  readonly lastHlc: Hlc;
}

export class SimStore implements StoreView {
  private committed = new RecordTable();
  private visible = new RecordTable();
  private pending: PendingBatch[] = [];
  private committedHlc: Hlc = HLC_ZERO;
  private readonly committedMeta = new Map<string, Uint8Array>();
  /** Incarnation survives restarts; the sim writes it at start (synchronously durable). */
  incarnation = 0;

  get(key: Uint8Array): VersionedRecord | undefined {
    return this.visible.get(key);
  }

  scanBuckets(fromBucket: number, toBucketExclusive: number, limitRecords: number): ScanResult {
    const entries = this.visible.entries();
    let low = 0;
    let high = entries.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (entries[middle]!.bucket < fromBucket) low = middle + 1;
      else high = middle;
    }
    const records: VersionedRecord[] = [];
    let index = low;
    while (index < entries.length && entries[index]!.bucket < toBucketExclusive) {
      const bucket = entries[index]!.bucket;
      // Whole buckets only: once the limit is reached, finish the current bucket and stop.
      if (records.length >= limitRecords) return { records, nextBucket: bucket };
      while (index < entries.length && entries[index]!.bucket === bucket) records.push(entries[index++]!.record);
    }
    // Range exhausted: KEY_BUCKET_COUNT, as the LMDB and memory stores answer.
    return { records, nextBucket: KEY_BUCKET_COUNT };
  }

  scanRows(prefix: Uint8Array, after: Uint8Array | undefined, limitRecords: number): RowPage {
    return rowPageOf(this.visible.bucketRecords(rowPrefixBucket(prefix)), prefix, after, limitRecords);
  }

  scanFrom(fromBucket: number, after: Uint8Array | undefined, limitRecords: number): RangePage {
    return rangePageOfSorted(this.visible.entries(), (entry) => entry.record, (entry) => entry.bucket, fromBucket, after, limitRecords);
  }

  countRecords(): number {
    return this.visible.size();
  }

  /** Apply a persist effect: visible at once, durable only after commitNext(). */
  write(token: number, records: readonly VersionedRecord[], purgeKeys: readonly Uint8Array[], lastHlc: Hlc): void {
    applyBatch(this.visible, records, purgeKeys);
    this.pending.push({ token, records, purgeKeys, lastHlc });
  }

  /** A named metadata value, committed in order with the record writes. */
  writeMeta(name: string, value: Uint8Array, lastHlc: Hlc): void {
    this.pending.push({ token: -1, meta: { name, value }, records: [], purgeKeys: [], lastHlc });
  }

  getCommittedMeta(name: string): Uint8Array | undefined {
    return this.committedMeta.get(name);
  }

  pendingCount(): number {
    return this.pending.length;
  }

  /** Commit the oldest pending batch (writes commit in order); returns it. */
  commitNext(): PendingBatch {
    const batch = this.pending.shift();
    if (batch === undefined) throw new Error('commitNext with nothing pending');
    applyBatch(this.committed, batch.records, batch.purgeKeys);
    if (batch.meta !== undefined) this.committedMeta.set(batch.meta.name, batch.meta.value);
    if (compareHlcLoose(batch.lastHlc, this.committedHlc) > 0) this.committedHlc = batch.lastHlc;
    return batch;
  }

  /** kill -9: everything not committed is gone. */
  crash(): void {
    this.pending = [];
    this.visible = this.committed.clone();
  }

  getCommitted(key: Uint8Array): VersionedRecord | undefined {
    return this.committed.get(key);
  }

  lastCommittedHlc(): Hlc {
    return this.committedHlc;
  }

  /** Committed and visible records in (bucket, key) order (for invariants). */
  committedRecords(): VersionedRecord[] {
    return this.committed.entries().map((entry) => entry.record);
  }

  visibleRecords(): VersionedRecord[] {
    return this.visible.entries().map((entry) => entry.record);
  }
}

function applyBatch(table: RecordTable, records: readonly VersionedRecord[], purgeKeys: readonly Uint8Array[]): void {
  for (const record of records) table.put(record);
  for (const key of purgeKeys) table.remove(key);
}

function compareHlcLoose(a: Hlc, b: Hlc): number {
  return a.wallMs - b.wallMs || a.logical - b.logical;
}

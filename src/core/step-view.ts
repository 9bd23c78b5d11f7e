// The store as the keyspace's own decisions leave it. The core hands its changes to the
// runtime as persist effects after each step, so within a step the store still shows what
// was there before: a tick that purges a tombstone and then sweeps the same key, or a
// MULTI that writes a row and then clears its key, would decide from stale rows (and count
// a removed row twice in the Merkle tree). Reads go through here instead: rows this step
// changed first, then the store. The node settles it at the start of every step, when the
// store holds every earlier change.
import { bytesToMapKey, compareBytes } from './bytes.js';
import { rowBucket } from './rows.js';
import { hasPrefix, type RangePage, type RowPage, type ScanResult, type StoreView } from './store-view.js';
import type { VersionedRecord } from './types.js';

interface Changed {
  readonly key: Uint8Array;
  readonly bucket: number;
  /** The row as this step left it; null when removed. */
  readonly record: VersionedRecord | null;
}

function compareBucketKey(a: VersionedRecord, b: VersionedRecord): number {
  return rowBucket(a.key) - rowBucket(b.key) || compareBytes(a.key, b.key);
}

export class StepView implements StoreView {
  private readonly indexed = new Map<string, Changed>();
  /**
   * The changes of `indexed` that leave a row (not removals): only these can add rows to a
   * scan, so a scan looks at these alone beside the stored rows it read (a clear that
   * removes 100,000 rows in one step would otherwise walk every removal on every page).
   */
  private readonly written = new Map<string, Changed>();
  /**
   * Every change noted since the last settle, in order; those before `indexedUpTo` are in
   * `indexed`. Most steps write and never read after (one SET), so the map key of a row is
   * built only when a read of the same step needs it.
   */
  private readonly noted: { readonly key: Uint8Array; readonly record: VersionedRecord | null; readonly mapKey: string | undefined }[] = [];
  private indexedUpTo = 0;

  constructor(private readonly store: StoreView) {}

  /** The row is now `record` (undefined: removed), whatever the store still says; mapKey: bytesToMapKey(key) if the caller has it. */
  note(key: Uint8Array, record: VersionedRecord | undefined, mapKey?: string): void {
    this.noted.push({ key, record: record ?? null, mapKey });
  }

  /** The store holds every change noted so far. */
  settle(): void {
    this.noted.length = 0;
    this.indexedUpTo = 0;
    this.indexed.clear();
    this.written.clear();
  }

  /** How many changes were noted so far in this step: getNotedBefore's bound. */
  mark(): number {
    return this.noted.length;
  }

  /** Index the changes noted before `end`. */
  private indexUpTo(end: number): void {
    for (; this.indexedUpTo < end; this.indexedUpTo++) {
      const { key, record, mapKey } = this.noted[this.indexedUpTo]!;
      const name = mapKey ?? bytesToMapKey(key);
      const changed: Changed = { key, bucket: rowBucket(key), record };
      this.indexed.set(name, changed);
      if (record !== null) this.written.set(name, changed);
      else this.written.delete(name);
    }
  }

  /** Every change of this step, by row (map key). */
  private get changed(): Map<string, Changed> {
    this.indexUpTo(this.noted.length);
    return this.indexed;
  }

  /** The row as this step left it; mapKey: bytesToMapKey(key) if the caller has it. */
  get(key: Uint8Array, mapKey?: string): VersionedRecord | undefined {
    if (this.noted.length === 0) return this.store.get(key); // nothing changed in this step
    return this.getNotedBefore(key, mapKey ?? bytesToMapKey(key), this.noted.length);
  }

  /**
   * The row as the changes noted before `mark` (an earlier mark()) left it: for a reader
   * that holds every change noted since (RowWrites), which then needs neither index nor
   * lookup for them. A merge of 4,096 rows reads each row once, right after noting the
   * one before: indexing each note for that read cost ~1 us a row.
   */
  getNotedBefore(key: Uint8Array, mapKey: string, mark: number): VersionedRecord | undefined {
    if (this.indexedUpTo < mark) this.indexUpTo(mark);
    if (this.indexed.size > 0) {
      const changed = this.indexed.get(mapKey);
      if (changed !== undefined) return changed.record ?? undefined;
    }
    return this.store.get(key);
  }

  scanRows(prefix: Uint8Array, after: Uint8Array | undefined, limitRecords: number): RowPage {
    if (this.changed.size === 0) return this.store.scanRows(prefix, after, limitRecords);
    // A page whose rows were all removed in this step must not read as the end.
    for (;;) {
      const page = this.store.scanRows(prefix, after, limitRecords);
      const last = page.records.length === 0 ? undefined : page.records[page.records.length - 1]!.key;
      const records = this.overlay(page.records, (changed) => {
        if (!hasPrefix(changed.key, prefix) || (after !== undefined && compareBytes(changed.key, after) <= 0)) return false;
        return page.done || (last !== undefined && compareBytes(changed.key, last) <= 0);
      });
      records.sort((a, b) => compareBytes(a.key, b.key));
      if (records.length > 0 || page.done || last === undefined) return { records, done: page.done };
      after = last;
    }
  }

  scanBuckets(fromBucket: number, toBucketExclusive: number, limitRecords: number): ScanResult {
    const page = this.store.scanBuckets(fromBucket, toBucketExclusive, limitRecords);
    if (this.changed.size === 0) return page;
    const endBucket = Math.min(page.nextBucket, toBucketExclusive);
    const records = this.overlay(page.records, (changed) => changed.bucket >= fromBucket && changed.bucket < endBucket);
    records.sort(compareBucketKey);
    return { records, nextBucket: page.nextBucket };
  }

  scanFrom(fromBucket: number, after: Uint8Array | undefined, limitRecords: number): RangePage {
    const page = this.store.scanFrom(fromBucket, after, limitRecords);
    if (this.changed.size === 0) return page;
    // Rows this step created between the start and where the page stopped belong to it.
    const beyondStart = (changed: Changed) => changed.bucket > fromBucket || (changed.bucket === fromBucket && (after === undefined || compareBytes(changed.key, after) > 0));
    const beforeEnd = (changed: Changed) =>
      page.nextAfter === undefined ? changed.bucket < page.nextBucket : changed.bucket < page.nextBucket || (changed.bucket === page.nextBucket && compareBytes(changed.key, page.nextAfter) <= 0);
    const records = this.overlay(page.records, (changed) => beyondStart(changed) && beforeEnd(changed));
    records.sort(compareBucketKey);
    return { records, nextBucket: page.nextBucket, nextAfter: page.nextAfter };
  }

  /** Stored records with this step's changes applied, plus rows this step created that `inRange` admits. */
  private overlay(stored: readonly VersionedRecord[], inRange: (changed: Changed) => boolean): VersionedRecord[] {
    const records: VersionedRecord[] = [];
    const seen = new Set<string>();
    const all = this.changed;
    for (const record of stored) {
      const mapKey = bytesToMapKey(record.key);
      const changed = all.get(mapKey);
      if (changed === undefined) {
        records.push(record);
        continue;
      }
      seen.add(mapKey);
      if (changed.record !== null) records.push(changed.record);
    }
    for (const [mapKey, changed] of this.written) {
      if (!seen.has(mapKey) && inRange(changed)) records.push(changed.record!);
    }
    return records;
  }
}

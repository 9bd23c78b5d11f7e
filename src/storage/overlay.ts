// The rows written but not yet committed (lmdb-store.ts): the newest pending state of each
// row by its stored key, and each bucket's pending rows for reads of one bucket or a range.
// A bucket's rows are a doubly linked list through the entries, so a row entering or
// leaving costs no allocation beside its entry: a catch-up writes 4,096 rows of as many
// buckets per batch, and a map per bucket made and dropped for each (the structure before)
// was a microsecond a row.
import { KEY_BUCKET_COUNT } from '../core/bytes.js';
import type { VersionedRecord } from '../core/types.js';

/** The newest uncommitted state of one row: a record, or null when purged. */
export interface OverlayEntry {
  /** The stored key as a latin1 string (the overlay's key). */
  readonly mapKey: string;
  readonly bucket: number;
  readonly key: Uint8Array;
  readonly record: VersionedRecord | null;
  /** The other pending rows of the bucket (Overlay's lists; undefined at the ends or once out). */
  previousInBucket: OverlayEntry | undefined;
  nextInBucket: OverlayEntry | undefined;
}

export function overlayEntry(mapKey: string, bucket: number, key: Uint8Array, record: VersionedRecord | null): OverlayEntry {
  return { mapKey, bucket, key, record, previousInBucket: undefined, nextInBucket: undefined };
}

export class Overlay {
  private readonly entries = new Map<string, OverlayEntry>();
  /** Each bucket's first pending row (undefined: none); the rest follow through nextInBucket. */
  private readonly firstOfBucket: (OverlayEntry | undefined)[] = new Array<OverlayEntry | undefined>(KEY_BUCKET_COUNT).fill(undefined);

  get size(): number {
    return this.entries.size;
  }

  get(mapKey: string): OverlayEntry | undefined {
    return this.entries.get(mapKey);
  }

  /** True if a row of the bucket is pending. */
  hasBucket(bucket: number): boolean {
    return this.firstOfBucket[bucket] !== undefined;
  }

  /** Make `entry` its row's pending state, in place of any earlier one. */
  set(entry: OverlayEntry): void {
    const earlier = this.entries.get(entry.mapKey);
    if (earlier !== undefined) this.unlink(earlier);
    this.entries.set(entry.mapKey, entry);
    const first = this.firstOfBucket[entry.bucket];
    entry.nextInBucket = first;
    if (first !== undefined) first.previousInBucket = entry;
    this.firstOfBucket[entry.bucket] = entry;
  }

  /** The entry's row committed: out, unless a newer entry replaced it meanwhile. */
  deleteIfCurrent(entry: OverlayEntry): void {
    if (!this.isCurrent(entry)) return;
    this.entries.delete(entry.mapKey);
    this.unlink(entry);
  }

  /** True if `entry` is still its row's pending state. */
  isCurrent(entry: OverlayEntry): boolean {
    return this.entries.get(entry.mapKey) === entry;
  }

  /** The pending rows of one bucket (in no particular order). */
  *ofBucket(bucket: number): IterableIterator<OverlayEntry> {
    for (let entry = this.firstOfBucket[bucket]; entry !== undefined; entry = entry.nextInBucket) yield entry;
  }

  /** The pending rows of the buckets in [fromBucket, toBucketExclusive), by bucket. */
  inRange(fromBucket: number, toBucketExclusive: number): OverlayEntry[] {
    const found: OverlayEntry[] = [];
    const start = Math.max(fromBucket, 0);
    const end = Math.min(toBucketExclusive, KEY_BUCKET_COUNT);
    if (this.entries.size < end - start) {
      // Fewer pending rows than buckets in the range: look at the rows.
      for (const entry of this.entries.values()) if (entry.bucket >= start && entry.bucket < end) found.push(entry);
      return found.sort((a, b) => a.bucket - b.bucket);
    }
    for (let bucket = start; bucket < end; bucket++) {
      for (let entry = this.firstOfBucket[bucket]; entry !== undefined; entry = entry.nextInBucket) found.push(entry);
    }
    return found;
  }

  values(): IterableIterator<OverlayEntry> {
    return this.entries.values();
  }

  /** Take a linked entry (a current one) out of its bucket's list. */
  private unlink(entry: OverlayEntry): void {
    const { previousInBucket: previous, nextInBucket: next } = entry;
    if (previous === undefined && this.firstOfBucket[entry.bucket] !== entry) throw new Error('overlay: unlinking an entry that is not in its bucket');
    if (previous === undefined) this.firstOfBucket[entry.bucket] = next;
    else previous.nextInBucket = next;
    if (next !== undefined) next.previousInBucket = previous;
    entry.previousInBucket = undefined;
    entry.nextInBucket = undefined;
  }
}

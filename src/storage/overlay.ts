// The rows written but not yet committed (lmdb-store.ts): the newest pending state of each
// row by its stored key, and each bucket's pending rows for reads of one bucket or a range.
//
// A bucket's rows are a doubly linked list through the entries, and a row is found by
// walking its bucket's list (comparing stored keys from their last byte). One map of every
// pending row by a latin1 string of its stored key (the structure before) cost a
// catching-up node 13% of its main thread: making the string, hashing it in, finding it
// again at the commit. Only a bucket with more than BUCKET_LIST_ROWS_MAX pending rows (the
// fields of one big hash written at once all fall in their key's bucket) gets a map of its
// own, kept until nothing of the bucket is pending. Whether an entry is still its row's
// pending state is a flag on it, so a commit takes its entries out without a lookup.
import { bytesToMapKey, KEY_BUCKET_COUNT } from '../core/bytes.js';
import type { VersionedRecord } from '../core/types.js';

/**
 * Pending rows of one bucket found by walking its list; beyond it the bucket gets a map. A
 * catch-up has tens of rows of a bucket pending (it streams bucket by bucket): measured
 * there (1,000,000 keys, joiners interleaved), against the map of every row: 8 rows ~-6%,
 * 16 +1%, 32 +8%, 64 +13%, 128 +13% keys/s.
 */
export const BUCKET_LIST_ROWS_MAX = 64;

/** The newest uncommitted state of one row: a record, or null when purged. */
export interface OverlayEntry {
  /** The row's LMDB key (record-codec.ts encodeStoredKey): what finds it. */
  readonly storedKey: Uint8Array;
  readonly bucket: number;
  readonly key: Uint8Array;
  readonly record: VersionedRecord | null;
  /** True while this entry is its row's pending state (Overlay.isCurrent). */
  current: boolean;
  /** The other pending rows of the bucket (undefined at the ends or once out). */
  previousInBucket: OverlayEntry | undefined;
  nextInBucket: OverlayEntry | undefined;
}

export function overlayEntry(storedKey: Uint8Array, bucket: number, key: Uint8Array, record: VersionedRecord | null): OverlayEntry {
  return { storedKey, bucket, key, record, current: false, previousInBucket: undefined, nextInBucket: undefined };
}

/**
 * Equal stored keys, compared from the end: rows of one bucket often share their start
 * (the fields of one key, keys with one prefix) and differ in their last bytes. Catch-up
 * of 300,000 'key:NNNNNNNNNN' rows by bucket, 3 batches pending: 730-790 ns a row against
 * 850-950 comparing from the start (equalBytes).
 */
function sameStoredKey(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let index = a.length - 1; index >= 0; index--) if (a[index] !== b[index]) return false;
  return true;
}

export class Overlay {
  private count = 0;
  /** Each bucket's first pending row (undefined: none); the rest follow through nextInBucket. */
  private readonly firstOfBucket: (OverlayEntry | undefined)[] = new Array<OverlayEntry | undefined>(KEY_BUCKET_COUNT).fill(undefined);
  private readonly rowsOfBucket = new Uint32Array(KEY_BUCKET_COUNT);
  /** The pending rows by stored key of each bucket that had more than BUCKET_LIST_ROWS_MAX. */
  private readonly bigBuckets = new Map<number, Map<string, OverlayEntry>>();

  get size(): number {
    return this.count;
  }

  /** The pending state of the row stored under `storedKey` (in `bucket`, its first two bytes). */
  get(storedKey: Uint8Array, bucket: number): OverlayEntry | undefined {
    if (this.rowsOfBucket[bucket] === 0) return undefined;
    const byKey = this.bigBuckets.get(bucket);
    if (byKey !== undefined) return byKey.get(bytesToMapKey(storedKey));
    for (let entry = this.firstOfBucket[bucket]; entry !== undefined; entry = entry.nextInBucket) {
      if (sameStoredKey(entry.storedKey, storedKey)) return entry;
    }
    return undefined;
  }

  /** Make `entry` (a new one) its row's pending state, in place of any earlier one. */
  set(entry: OverlayEntry): void {
    const bucket = entry.bucket;
    const earlier = this.get(entry.storedKey, bucket);
    if (earlier !== undefined) this.remove(earlier);
    const first = this.firstOfBucket[bucket];
    entry.nextInBucket = first;
    if (first !== undefined) first.previousInBucket = entry;
    this.firstOfBucket[bucket] = entry;
    entry.current = true;
    this.count++;
    const rows = ++this.rowsOfBucket[bucket]!;
    let byKey = this.bigBuckets.get(bucket);
    if (byKey === undefined && rows > BUCKET_LIST_ROWS_MAX) {
      byKey = new Map();
      for (let other = entry.nextInBucket; other !== undefined; other = other.nextInBucket) byKey.set(bytesToMapKey(other.storedKey), other);
      this.bigBuckets.set(bucket, byKey);
    }
    byKey?.set(bytesToMapKey(entry.storedKey), entry);
  }

  /** The entry's row committed: out, unless a newer entry replaced it meanwhile. */
  deleteIfCurrent(entry: OverlayEntry): void {
    if (entry.current) this.remove(entry);
  }

  /** True if `entry` is still its row's pending state. */
  isCurrent(entry: OverlayEntry): boolean {
    return entry.current;
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
    // The walk ends once every pending row is found: a range past few pending rows stops early.
    for (let bucket = start; bucket < end && found.length < this.count; bucket++) {
      if (this.rowsOfBucket[bucket] === 0) continue;
      for (let entry = this.firstOfBucket[bucket]; entry !== undefined; entry = entry.nextInBucket) found.push(entry);
    }
    return found;
  }

  /** Take a current entry out of its bucket's list (and map). */
  private remove(entry: OverlayEntry): void {
    const { bucket, previousInBucket: previous, nextInBucket: next } = entry;
    if (previous === undefined && this.firstOfBucket[bucket] !== entry) throw new Error('overlay: removing an entry that is not in its bucket');
    if (previous === undefined) this.firstOfBucket[bucket] = next;
    else previous.nextInBucket = next;
    if (next !== undefined) next.previousInBucket = previous;
    entry.previousInBucket = undefined;
    entry.nextInBucket = undefined;
    entry.current = false;
    this.count--;
    const rows = --this.rowsOfBucket[bucket]!;
    const byKey = this.bigBuckets.get(bucket);
    if (byKey === undefined) return;
    if (rows === 0) this.bigBuckets.delete(bucket);
    else byKey.delete(bytesToMapKey(entry.storedKey));
  }
}

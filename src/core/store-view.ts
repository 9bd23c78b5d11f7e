// The storage port as the core sees it: synchronous reads (lmdb-js `get` is synchronous)
// of whole buckets and of one key's rows. The core owns this interface; src/storage
// implements it, and the simulator implements it over its simulated disk.
import { compareBytes, KEY_BUCKET_COUNT } from './bytes.js';
import { rowBucket } from './rows.js';
import type { VersionedRecord } from './types.js';

export interface ScanResult {
  /** Records in (bucket, key) order, tombstones and expired records included. */
  readonly records: VersionedRecord[];
  /** First bucket not yet returned; KEY_BUCKET_COUNT when the range is exhausted. */
  readonly nextBucket: number;
}

export interface RowPage {
  /** Rows whose key starts with the prefix, in row-key order, tombstones included. */
  readonly records: VersionedRecord[];
  /** True when no row with the prefix follows the last one returned. */
  readonly done: boolean;
}

export interface RangePage {
  /** Records in (bucket, key) order, tombstones and expired records included. */
  readonly records: VersionedRecord[];
  /** Where the next page starts: this bucket (KEY_BUCKET_COUNT when everything was read) ... */
  readonly nextBucket: number;
  /** ... after this record key of it (undefined: from the bucket's first record). */
  readonly nextAfter: Uint8Array | undefined;
}

export interface StoreView {
  /** The newest stored version of key, including writes not yet committed. */
  get(key: Uint8Array): VersionedRecord | undefined;
  /**
   * Whole buckets from fromBucket (inclusive) up to toBucketExclusive, in (bucket, key)
   * order, stopping after the bucket in which the count reached limitRecords. Pending
   * (uncommitted) writes are included.
   */
  scanBuckets(fromBucket: number, toBucketExclusive: number, limitRecords: number): ScanResult;
  /**
   * Up to limitRecords rows whose key starts with `prefix` (a row-key prefix of one user
   * key: rows.ts keyPrefix, kindPrefix, slotPrefix) and sorts after `after` (exclusive;
   * undefined: from the first). Pending writes are included. Rows of one key share a
   * bucket, so this is one storage range however many other keys the bucket holds.
   */
  scanRows(prefix: Uint8Array, after: Uint8Array | undefined, limitRecords: number): RowPage;
  /**
   * Up to limitRecords records in (bucket, key) order from bucket fromBucket on, after
   * record key `after` of that bucket (undefined: from its first record). Unlike
   * scanBuckets it stops inside a bucket, so a bucket holding a million rows of one key
   * is walked a page at a time (the sweep, the load at start). Pending writes are included.
   */
  scanFrom(fromBucket: number, after: Uint8Array | undefined, limitRecords: number): RangePage;
}

/**
 * The page of a walk that read up to `lastRead` (a record key; default the last of
 * `records`) and stopped, or that reached the end when `done`.
 */
export function rangePageOf(records: VersionedRecord[], done: boolean, lastRead?: Uint8Array): RangePage {
  if (done) return { records, nextBucket: KEY_BUCKET_COUNT, nextAfter: undefined };
  const last = lastRead ?? records[records.length - 1]!.key;
  return { records, nextBucket: rowBucket(last), nextAfter: last };
}

/**
 * scanFrom over records already sorted in (bucket, key) order in memory (test stores):
 * a binary search to the start, then up to limitRecords records.
 */
export function rangePageOfSorted<T>(sorted: readonly T[], recordOf: (item: T) => VersionedRecord, bucketOf: (item: T) => number, fromBucket: number, after: Uint8Array | undefined, limitRecords: number): RangePage {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    const item = sorted[middle]!;
    const bucket = bucketOf(item);
    const before = bucket < fromBucket || (bucket === fromBucket && after !== undefined && compareBytes(recordOf(item).key, after) <= 0);
    if (before) low = middle + 1;
    else high = middle;
  }
  const records: VersionedRecord[] = [];
  for (let index = low; index < sorted.length && records.length < limitRecords; index++) records.push(recordOf(sorted[index]!));
  return rangePageOf(records, low + records.length >= sorted.length);
}

/** True if bytes starts with prefix. */
export function hasPrefix(bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (bytes.length < prefix.length) return false;
  for (let index = 0; index < prefix.length; index++) if (bytes[index] !== prefix[index]) return false;
  return true;
}

/**
 * scanRows over records already in memory (the memory store, the simulator's disk):
 * filter one bucket's records by prefix and position, sort, cut at the limit.
 */
export function rowPageOf(candidates: Iterable<VersionedRecord>, prefix: Uint8Array | undefined, after: Uint8Array | undefined, limitRecords: number): RowPage {
  const matching: VersionedRecord[] = [];
  for (const record of candidates) {
    if (prefix !== undefined && !hasPrefix(record.key, prefix)) continue;
    if (after !== undefined && compareBytes(record.key, after) <= 0) continue;
    matching.push(record);
  }
  matching.sort((a, b) => compareBytes(a.key, b.key));
  if (matching.length <= limitRecords) return { records: matching, done: true };
  return { records: matching.slice(0, limitRecords), done: false };
}

/** One page of the rows of a single bucket (anti-entropy of a big bucket), through scanFrom. */
export function scanBucketPage(view: Pick<StoreView, 'scanFrom'>, bucket: number, after: Uint8Array | undefined, limitRecords: number): RowPage {
  const page = view.scanFrom(bucket, after, limitRecords);
  const records = page.nextBucket === bucket ? page.records : page.records.filter((record) => rowBucket(record.key) === bucket);
  return { records, done: page.nextBucket !== bucket };
}

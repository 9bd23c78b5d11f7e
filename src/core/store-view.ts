// The storage port as the core sees it: synchronous reads (lmdb-js `get` is synchronous)
// of whole buckets and of one key's rows. The core owns this interface; src/storage
// implements it, and the simulator implements it over its simulated disk.
import { compareBytes } from './bytes.js';
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
  /** As scanRows, for every row of one bucket: pages through a bucket of any size. */
  scanBucket(bucket: number, after: Uint8Array | undefined, limitRecords: number): RowPage;
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

// The storage boundary. The core reads synchronously through StoreView (lmdb-js `get`
// is synchronous); writes are ordered and asynchronous, resolving once committed.
import type { VersionedRecord } from '../core/types.js';

export interface ScanResult {
  /** Records in (bucket, key) order, tombstones and expired records included. */
  readonly records: VersionedRecord[];
  /** First bucket not yet returned; KEY_BUCKET_COUNT when the range is exhausted. */
  readonly nextBucket: number;
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
}

export interface WriteBatch {
  readonly records: readonly VersionedRecord[];
  /** Keys removed physically (purged tombstones), applied after records of this batch. */
  readonly purgeKeys: readonly Uint8Array[];
}

export interface Store extends StoreView {
  /**
   * Apply a batch after every earlier one. Visible to get/scan at once; the promise
   * resolves once committed (survives kill -9) and, with fsync 'always', flushed to disk.
   */
  write(batch: WriteBatch): Promise<void>;
  /** Small named metadata values (node id, incarnation, last HLC), read synchronously. */
  getMeta(name: string): Uint8Array | undefined;
  putMeta(name: string, value: Uint8Array): Promise<void>;
  /** Resolves when everything written so far is flushed to disk. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

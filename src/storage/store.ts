// The storage boundary. The core reads synchronously through its StoreView port
// (src/core/store-view.ts); writes are ordered and asynchronous, resolving once committed.
import type { RowPage, ScanResult, StoreView } from '../core/store-view.js';
import type { VersionedRecord } from '../core/types.js';

export type { RangePage, RowPage, ScanResult, StoreView } from '../core/store-view.js';

export interface WriteBatch {
  readonly records: readonly VersionedRecord[];
  /** Keys removed physically (purged tombstones), applied after records of this batch. */
  readonly purgeKeys: readonly Uint8Array[];
}

export interface Store extends StoreView {
  /**
   * As scanBuckets, but one row per key (its header, or the first live field of a key whose
   * header is gone; rows.ts), limitKeys of them: a key's other element rows are skipped, so a
   * bucket holding a million-field hash costs a seek.
   */
  scanHeaders(fromBucket: number, toBucketExclusive: number, limitKeys: number): ScanResult;
  /**
   * As scanRows, in reverse: up to limitRecords rows whose key starts with `prefix` and
   * sorts before `before` (exclusive; undefined: from the last), last first. Pending
   * writes are included. Only the server reads backwards (a list's tail), so the core's
   * StoreView does not have it.
   */
  scanRowsReverse(prefix: Uint8Array, before: Uint8Array | undefined, limitRecords: number): RowPage;
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
  /**
   * Why commits fail now (a full disk...), undefined while they work. Writes made meanwhile
   * stay visible and wait (their promises unsettled) until a retry commits them.
   */
  failure(): Error | undefined;
  /** Bytes the stored rows take (INFO used_memory's dataset part); absent: not measured. */
  storedBytes?(): number;
  close(): Promise<void>;
}

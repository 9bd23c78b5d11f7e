// Record helpers shared by tests.
import { KEY_BUCKET_COUNT } from '../../src/core/bytes.js';
import type { VersionedRecord } from '../../src/core/types.js';
import type { StoreView } from '../../src/storage/store.js';

/** A record as plain data (bytes as number arrays), so Buffer-vs-Uint8Array differences do not matter. */
export function plainRecord(record: VersionedRecord | undefined): unknown {
  if (record === undefined) return undefined;
  return { ...record, hlc: { ...record.hlc }, key: [...record.key], value: record.value === null ? null : [...record.value] };
}

/** Records a store holds, tombstones included, counted through a full scan (stores keep no count). */
export function countRecords(view: StoreView): number {
  return view.scanBuckets(0, KEY_BUCKET_COUNT, Number.MAX_SAFE_INTEGER).records.length;
}

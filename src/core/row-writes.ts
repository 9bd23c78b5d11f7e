// The rows one step changes, before they reach storage: reads see them first, so a clear
// in the same batch as the rows it removes (or a row written twice) is decided once.
import { bytesToMapKey } from './bytes.js';
import { rowBucket } from './rows.js';
import { hasPrefix, type StoreView } from './store-view.js';
import type { VersionedRecord } from './types.js';

/** Rows that changed, each with the version it replaced (same index; undefined = new), and rows removed. */
export interface Changes {
  readonly records: VersionedRecord[];
  readonly previous: (VersionedRecord | undefined)[];
  /** Row keys removed physically (cleared rows, purged tombstones). */
  readonly purgeKeys: Uint8Array[];
}

interface Slot {
  /** The row's state after this step: null when removed. */
  record: VersionedRecord | null;
  /** What storage held before the step. */
  readonly previous: VersionedRecord | undefined;
}

export class RowWrites {
  private readonly slots = new Map<string, Slot>();
  /** Rows touched by this step, by bucket: a clear finds the rows of its key written before it in the same step. */
  private readonly byBucket = new Map<number, VersionedRecord[]>();

  constructor(private readonly view: StoreView) {}

  /** The row as this step leaves it so far (undefined: absent or removed). */
  get(key: Uint8Array): VersionedRecord | undefined {
    const slot = this.slots.get(bytesToMapKey(key));
    if (slot !== undefined) return slot.record ?? undefined;
    return this.view.get(key);
  }

  /** Write record; `current` is what get() returned for its key. */
  put(record: VersionedRecord, current: VersionedRecord | undefined): void {
    const mapKey = bytesToMapKey(record.key);
    const slot = this.slots.get(mapKey);
    if (slot === undefined) {
      this.slots.set(mapKey, { record, previous: current });
      const bucket = rowBucket(record.key);
      const touched = this.byBucket.get(bucket);
      if (touched === undefined) this.byBucket.set(bucket, [record]);
      else touched.push(record);
    } else {
      slot.record = record;
    }
  }

  /**
   * Keys of rows this step wrote whose key starts with prefix (rows of one key: pass their
   * bucket), or of every row it wrote when bucket is undefined; removed ones included.
   */
  writtenKeys(prefix: Uint8Array, bucket: number | undefined): Uint8Array[] {
    const keys: Uint8Array[] = [];
    const lists = bucket === undefined ? [...this.byBucket.values()] : [this.byBucket.get(bucket) ?? []];
    for (const list of lists) for (const record of list) if (hasPrefix(record.key, prefix)) keys.push(record.key);
    return keys;
  }

  /** Remove a row physically (it is `current`, as get() returned it). */
  remove(current: VersionedRecord): void {
    const mapKey = bytesToMapKey(current.key);
    const slot = this.slots.get(mapKey);
    if (slot === undefined) this.slots.set(mapKey, { record: null, previous: current });
    else slot.record = null;
  }

  /**
   * The net change: rows written (in first-touch order) and rows removed. A row written
   * and then removed in the same step leaves nothing behind if storage never had it.
   */
  changes(): Changes {
    const records: VersionedRecord[] = [];
    const previous: (VersionedRecord | undefined)[] = [];
    const purgeKeys: Uint8Array[] = [];
    for (const slot of this.slots.values()) {
      if (slot.record !== null) {
        records.push(slot.record);
        previous.push(slot.previous);
      } else if (slot.previous !== undefined) {
        purgeKeys.push(slot.previous.key);
      }
    }
    return { records, previous, purgeKeys };
  }
}

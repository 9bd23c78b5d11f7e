// Which user keys may have counter slot rows (derived, local, rebuilt by the keyspace's
// load: never stored). Reads and writes of hash fields, sorted-set members and strings
// skip their slot lookups for a key this says has none. Counting per bucket was too
// coarse: 100,000 counters leave slot rows in most of the 65,536 buckets, so every
// ZADD/HSET of a key sharing a bucket with one read (empty) slot ranges three times.
// A counting filter over a hash of the user key: a cell is the number of slot rows whose
// key hashes to it, so it is exact about "none" and cheap to keep in step.
import { murmur3 } from './bytes.js';
import { rowUserKey } from './rows.js';

/** Cells of the filter: 4 MB, allocated when the first slot row appears. 100,000 counted keys leave ~9% of cells in use. */
export const SLOT_FILTER_CELLS = 1 << 20;
/** Another seed than the bucket hash, so keys of one bucket spread over the cells. */
const SLOT_FILTER_SEED = 0x3c6ef372;

function cellOf(userKey: Uint8Array): number {
  return murmur3(userKey, SLOT_FILTER_SEED) & (SLOT_FILTER_CELLS - 1);
}

export class SlotKeyFilter {
  private counts: Uint32Array | undefined;
  /** Slot rows stored. */
  total = 0;

  /** A slot row (row key) was stored (+1) or removed (-1). */
  change(row: Uint8Array, change: number): void {
    if (change === 0) return;
    const userKey = rowUserKey(row);
    if (userKey === undefined) return;
    this.counts ??= new Uint32Array(SLOT_FILTER_CELLS);
    const cell = cellOf(userKey);
    if (change < 0 && this.counts[cell]! < -change) throw new Error('slot row count below zero');
    this.counts[cell]! += change;
    this.total += change;
  }

  /** At least as many as the key's slot rows (the rows of every key in its cell). */
  rowsAtMost(userKey: Uint8Array): number {
    return this.total === 0 ? 0 : this.counts![cellOf(userKey)]!;
  }

  /** False when the key certainly has no slot rows. */
  mayHave(userKey: Uint8Array): boolean {
    return this.total > 0 && this.counts![cellOf(userKey)]! > 0;
  }

  /** As mayHave, for the key of a row key. */
  mayHaveRow(row: Uint8Array): boolean {
    if (this.total === 0) return false;
    const userKey = rowUserKey(row);
    return userKey !== undefined && this.counts![cellOf(userKey)]! > 0;
  }
}

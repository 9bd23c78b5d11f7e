// The rows one step changes, before they reach storage: reads see them first, so a clear
// in the same batch as the rows it removes (or a row written twice) is decided once.
import { bytesToMapKey } from './bytes.js';
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

/** Reads of the rows under a step's changes (the step view: step-view.ts). */
export interface RowsView {
  /** How many changes the step noted so far. */
  mark(): number;
  /** The row as the changes noted before `mark` left it (key and its bytesToMapKey). */
  getNotedBefore(key: Uint8Array, mapKey: string, mark: number): VersionedRecord | undefined;
}

/**
 * One operation's writes. Invariant: every change noted to the view while it is in use
 * is of a row it holds (the keyspace tracks each row right after putting or removing it
 * here), so a read of a row it does not hold needs only the changes noted before it.
 */
export class RowWrites {
  private readonly slots = new Map<string, Slot>();
  /** The view's notes before this operation: the only ones a read here must look at. */
  private readonly mark: number;

  constructor(private readonly view: RowsView) {
    this.mark = view.mark();
  }

  /** The row as this step leaves it so far (undefined: absent or removed); mapKey: bytesToMapKey(key) if the caller has it. */
  get(key: Uint8Array, mapKey = bytesToMapKey(key)): VersionedRecord | undefined {
    const slot = this.slots.get(mapKey);
    if (slot !== undefined) return slot.record ?? undefined;
    return this.view.getNotedBefore(key, mapKey, this.mark);
  }

  /** get() for a row storage and the step's earlier changes do not hold: only this operation's own write of it, if any. */
  written(mapKey: string): VersionedRecord | undefined {
    return this.slots.get(mapKey)?.record ?? undefined;
  }

  /**
   * get() for a row a scan of the step view just returned as `scanned`: the view already
   * shows this step's changes, so only a row changed since the scan needs the slot; no
   * read of storage.
   */
  current(scanned: VersionedRecord, mapKey: string): VersionedRecord | undefined {
    const slot = this.slots.get(mapKey);
    return slot === undefined ? scanned : (slot.record ?? undefined);
  }

  /** Write record; `current` is what get() returned for its key (mapKey: as for get). */
  put(record: VersionedRecord, current: VersionedRecord | undefined, mapKey = bytesToMapKey(record.key)): void {
    const slot = this.slots.get(mapKey);
    if (slot === undefined) this.slots.set(mapKey, { record, previous: current });
    else slot.record = record;
  }

  /** Remove a row physically (it is `current`, as get() returned it; mapKey: as for get). */
  remove(current: VersionedRecord, mapKey = bytesToMapKey(current.key)): void {
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

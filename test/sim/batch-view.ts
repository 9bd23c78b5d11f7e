// The node's store as the later commands of one client write (MULTI) read it: the rows
// the earlier commands wrote on top, not stamped yet. Mirrors what the core will do with
// the batch: a clear hides its key's stored rows and its earlier batch rows, the flush
// every row, and a header written over an expired one hides the rows its expiry clears
// (the core stores that clear first).
import { bytesToMapKey, compareBytes } from '../../src/core/bytes.js';
import { compareHlc } from '../../src/core/hlc.js';
import type { ClientWrite } from '../../src/core/io.js';
import { expiryClear } from '../../src/core/keyspace.js';
import { FLUSH_ROW_KEY, keyPrefix, parseRow, RowKind, rowUserKey } from '../../src/core/rows.js';
import { hasPrefix, type RowPage, type StoreView } from '../../src/core/store-view.js';
import type { Hlc, NodeId, VersionedRecord } from '../../src/core/types.js';

/** A row of this batch not stamped yet reads with this wall time (above any real stamp). */
const PENDING_WALL_MS = Number.MAX_SAFE_INTEGER;
const SCAN_ALL = 1 << 30;

/** (hlc, origin) order, as LWW and clears use it. */
function notAfter(row: { hlc: Hlc; origin: NodeId }, clear: { hlc: Hlc; origin: NodeId }): boolean {
  const byClock = compareHlc(row.hlc, clear.hlc);
  return byClock < 0 || (byClock === 0 && row.origin <= clear.origin);
}

export class BatchView {
  private readonly rows = new Map<string, VersionedRecord>();
  /** User key -> stored rows at or below this version are hidden (null: all of them). */
  private readonly hidden = new Map<string, VersionedRecord | null>();
  private flushed = false;
  private pendingCount = 0;

  constructor(
    private readonly base: StoreView,
    readonly nowMs: number,
    readonly self: NodeId,
  ) {}

  get(key: Uint8Array): VersionedRecord | undefined {
    const pending = this.rows.get(bytesToMapKey(key));
    if (pending !== undefined) return pending;
    const stored = this.base.get(key);
    return stored === undefined || this.isHidden(stored) ? undefined : stored;
  }

  scanRows(prefix: Uint8Array, after: Uint8Array | undefined, limitRecords: number): RowPage {
    const byKey = new Map<string, VersionedRecord>();
    for (const stored of this.base.scanRows(prefix, after, SCAN_ALL).records) if (!this.isHidden(stored)) byKey.set(bytesToMapKey(stored.key), stored);
    for (const [mapKey, pending] of this.rows) {
      if (hasPrefix(pending.key, prefix) && (after === undefined || compareBytes(pending.key, after) > 0)) byKey.set(mapKey, pending);
    }
    const records = [...byKey.values()].sort((a, b) => compareBytes(a.key, b.key));
    return records.length <= limitRecords ? { records, done: true } : { records: records.slice(0, limitRecords), done: false };
  }

  /** True if the record was written by this batch (not stamped yet). */
  isPending(record: VersionedRecord): boolean {
    return record.hlc.wallMs === PENDING_WALL_MS;
  }

  write(write: ClientWrite): void {
    if (write.key.length === FLUSH_ROW_KEY.length && compareBytes(write.key, FLUSH_ROW_KEY) === 0) {
      this.flushed = true;
      this.rows.clear();
      return;
    }
    const parsed = parseRow(write.key)!;
    if (parsed.kind === RowKind.Clear) {
      const userKey = bytesToMapKey(parsed.key);
      this.hidden.set(userKey, null);
      const prefix = keyPrefix(parsed.key);
      for (const [mapKey, pending] of this.rows) if (hasPrefix(pending.key, prefix)) this.rows.delete(mapKey);
    } else if (parsed.kind === RowKind.Header) {
      const stored = this.base.get(write.key);
      const current = this.get(write.key);
      // An expired header, or its marker (the swept form, core/expiry.ts): the core stores the clear of that expiry first.
      const expired = stored !== undefined && stored.expiresAtMs !== 0 && (stored.value === null || stored.expiresAtMs <= this.nowMs);
      if (current === stored && expired) this.hideUpTo(parsed.key, expiryClear(stored));
    }
    this.rows.set(bytesToMapKey(write.key), {
      key: write.key,
      value: write.value,
      hlc: { wallMs: PENDING_WALL_MS, logical: this.pendingCount++ },
      origin: this.self,
      expiresAtMs: write.expiresAtMs,
    });
  }

  private hideUpTo(key: Uint8Array, clear: VersionedRecord): void {
    const mapKey = bytesToMapKey(key);
    const known = this.hidden.get(mapKey);
    if (known === null || (known !== undefined && notAfter(clear, known))) return;
    this.hidden.set(mapKey, clear);
  }

  private isHidden(stored: VersionedRecord): boolean {
    if (this.flushed) return true;
    const userKey = rowUserKey(stored.key);
    if (userKey === undefined) return false;
    const clear = this.hidden.get(bytesToMapKey(userKey));
    if (clear === undefined) return false;
    return clear === null || notAfter(stored, clear);
  }
}

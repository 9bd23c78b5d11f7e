// An in-memory Store with the semantics of the LMDB one, for unit tests and the
// deterministic simulator. Pure TypeScript (no node:*), deterministic iteration, and a
// crash model: writes can be held uncommitted and then lost, like a process killed
// before its LMDB commit.
import { bytesToMapKey, compareBytes, KEY_BUCKET_COUNT } from '../core/bytes.js';
import { rowBucket, rowKindOf, RowKind, rowPrefixBucket, rowPrefixLength } from '../core/rows.js';
import type { VersionedRecord } from '../core/types.js';
import { hasPrefix, rangePageOf } from '../core/store-view.js';
import type { RangePage, RowPage, ScanResult, Store, WriteBatch } from './store.js';

export interface MemoryStoreOptions {
  /**
   * true (default): every write commits at once (its promise resolves in a microtask).
   * false: writes are visible at once but commit only when commitPending() is called,
   * so crash() can lose them.
   */
  readonly autoCommit?: boolean;
}

type PendingOperation =
  | { readonly kind: 'batch'; readonly records: readonly VersionedRecord[]; readonly purgeKeys: readonly Uint8Array[] }
  | { readonly kind: 'meta'; readonly name: string; readonly value: Uint8Array };

interface PendingWrite {
  readonly operation: PendingOperation;
  /** Called in order once the operation commits: its writer, then any flush() after it. */
  readonly waiters: (() => void)[];
}

/** The newest uncommitted state of one key: a record, or null when purged. */
interface OverlaySlot {
  readonly key: Uint8Array;
  readonly record: VersionedRecord | null;
}

function copyBytes(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes);
}

function copyRecord(record: VersionedRecord): VersionedRecord {
  return {
    key: copyBytes(record.key),
    value: record.value === null ? null : copyBytes(record.value),
    hlc: { wallMs: record.hlc.wallMs, logical: record.hlc.logical },
    origin: record.origin,
    expiresAtMs: record.expiresAtMs,
  };
}

function compareRecordKeys(a: VersionedRecord, b: VersionedRecord): number {
  return compareBytes(a.key, b.key);
}

export class MemoryStore implements Store {
  /** Memory never refuses a commit. */
  failure(): Error | undefined {
    return undefined;
  }

  private readonly autoCommit: boolean;
  /** Committed records per bucket, keyed by bytesToMapKey(key): the "disk". */
  private readonly committed: (Map<string, VersionedRecord> | undefined)[] = new Array(KEY_BUCKET_COUNT);
  private readonly committedMeta = new Map<string, Uint8Array>();
  /** Uncommitted state per bucket, newest write per key; empty when nothing is pending. */
  private overlay = new Map<number, Map<string, OverlaySlot>>();
  private overlayMeta = new Map<string, Uint8Array>();
  private pending: PendingWrite[] = [];
  private closed = false;
  /**
   * Each bucket's visible records in key order, kept until a write touches the bucket: a
   * key with many rows (a big hash) is paged by scanRows without sorting it every page.
   */
  private readonly sortedBuckets = new Map<number, VersionedRecord[]>();

  constructor(options: MemoryStoreOptions = {}) {
    this.autoCommit = options.autoCommit ?? true;
  }

  get(key: Uint8Array): VersionedRecord | undefined {
    const bucket = rowBucket(key);
    const mapKey = bytesToMapKey(key);
    const slot = this.overlay.get(bucket)?.get(mapKey);
    if (slot !== undefined) return slot.record ?? undefined;
    return this.committed[bucket]?.get(mapKey);
  }

  scanBuckets(fromBucket: number, toBucketExclusive: number, limitRecords: number): ScanResult {
    assertBucketRange(fromBucket, toBucketExclusive, limitRecords);
    const records: VersionedRecord[] = [];
    for (let bucket = fromBucket; bucket < toBucketExclusive; bucket++) {
      if (this.committed[bucket] === undefined && !this.overlay.has(bucket)) continue; // most buckets of a small store
      if (records.length >= limitRecords) return { records, nextBucket: this.nextNonEmptyBucket(bucket, toBucketExclusive) };
      const bucketRecords = this.visibleBucket(bucket);
      for (const record of bucketRecords) records.push(record);
    }
    return { records, nextBucket: KEY_BUCKET_COUNT };
  }

  scanHeaders(fromBucket: number, toBucketExclusive: number, limitKeys: number): ScanResult {
    assertBucketRange(fromBucket, toBucketExclusive, limitKeys);
    const records: VersionedRecord[] = [];
    for (let bucket = fromBucket; bucket < toBucketExclusive; bucket++) {
      if (this.committed[bucket] === undefined && !this.overlay.has(bucket)) continue;
      const headers = oneRowPerKey(this.visibleBucket(bucket));
      if (headers.length === 0) continue;
      if (records.length >= limitKeys) return { records, nextBucket: bucket };
      for (const record of headers) records.push(record);
    }
    return { records, nextBucket: KEY_BUCKET_COUNT };
  }

  scanRows(prefix: Uint8Array, after: Uint8Array | undefined, limitRecords: number): RowPage {
    assertBucketRange(0, 0, limitRecords);
    const sorted = this.visibleBucket(rowPrefixBucket(prefix));
    let index = firstNotBelow(sorted, prefix);
    if (after !== undefined) {
      index = Math.max(index, firstNotBelow(sorted, after));
      if (index < sorted.length && compareBytes(sorted[index]!.key, after) === 0) index++;
    }
    const records: VersionedRecord[] = [];
    while (index < sorted.length && hasPrefix(sorted[index]!.key, prefix)) {
      if (records.length === limitRecords) return { records, done: false };
      records.push(sorted[index++]!);
    }
    return { records, done: true };
  }

  scanRowsReverse(prefix: Uint8Array, before: Uint8Array | undefined, limitRecords: number): RowPage {
    assertBucketRange(0, 0, limitRecords);
    const sorted = this.visibleBucket(rowPrefixBucket(prefix));
    const start = firstNotBelow(sorted, prefix);
    // Rows with the prefix are contiguous from start: the first one without it ends them.
    let low = start;
    let high = sorted.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (hasPrefix(sorted[middle]!.key, prefix)) low = middle + 1;
      else high = middle;
    }
    let index = before === undefined ? low : Math.min(low, firstNotBelow(sorted, before));
    const records: VersionedRecord[] = [];
    while (index > start) {
      if (records.length === limitRecords) return { records, done: false };
      records.push(sorted[--index]!);
    }
    return { records, done: true };
  }

  scanFrom(fromBucket: number, after: Uint8Array | undefined, limitRecords: number): RangePage {
    assertBucketRange(fromBucket, KEY_BUCKET_COUNT, limitRecords);
    const records: VersionedRecord[] = [];
    for (let bucket = fromBucket; bucket < KEY_BUCKET_COUNT; bucket++) {
      if (this.committed[bucket] === undefined && !this.overlay.has(bucket)) continue;
      const sorted = this.visibleBucket(bucket);
      let index = 0;
      if (bucket === fromBucket && after !== undefined) {
        index = firstNotBelow(sorted, after);
        if (index < sorted.length && compareBytes(sorted[index]!.key, after) === 0) index++;
      }
      for (; index < sorted.length; index++) {
        if (records.length === limitRecords) return rangePageOf(records, false);
        records.push(sorted[index]!);
      }
    }
    return rangePageOf(records, true);
  }

  write(batch: WriteBatch): Promise<void> {
    this.assertOpen();
    const records = batch.records.map(copyRecord);
    const purgeKeys = batch.purgeKeys.map(copyBytes);
    for (const record of records) this.setOverlay(record.key, record);
    for (const key of purgeKeys) this.setOverlay(key, null);
    return this.enqueue({ kind: 'batch', records, purgeKeys });
  }

  getMeta(name: string): Uint8Array | undefined {
    return this.overlayMeta.get(name) ?? this.committedMeta.get(name);
  }

  putMeta(name: string, value: Uint8Array): Promise<void> {
    this.assertOpen();
    const copy = copyBytes(value);
    this.overlayMeta.set(name, copy);
    return this.enqueue({ kind: 'meta', name, value: copy });
  }

  flush(): Promise<void> {
    return this.enqueueBarrier();
  }

  /** Commits everything pending (a clean shutdown loses nothing), then refuses writes. */
  async close(): Promise<void> {
    this.commitPending();
    this.closed = true;
  }

  /** Writes waiting for commitPending (always 0 with autoCommit). */
  pendingWriteCount(): number {
    return this.pending.length;
  }

  /**
   * Commit the oldest `count` pending writes (default all) in order and resolve their
   * promises. Used by the simulator to decide how much survives a crash.
   */
  commitPending(count: number = this.pending.length): void {
    if (!(Number.isInteger(count) && count >= 0)) throw new Error(`commitPending count must be a non-negative integer, got ${count}`);
    const committing = this.pending.splice(0, Math.min(count, this.pending.length));
    for (const write of committing) this.apply(write.operation);
    this.rebuildOverlay();
    for (const write of committing) for (const waiter of write.waiters) waiter();
  }

  /**
   * The process died: uncommitted writes are gone (their promises never settle, as in a
   * killed process) and the store reads as what was committed. It stays usable, as the
   * data directory would be for the restarted node.
   */
  crash(): void {
    this.pending = [];
    this.rebuildOverlay();
    this.closed = false;
  }

  /** Open again after close(), as a restarted node opens its data directory. */
  reopen(): void {
    this.closed = false;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('MemoryStore used after close()');
  }

  private enqueue(operation: PendingOperation): Promise<void> {
    return new Promise<void>((resolve) => {
      this.pending.push({ operation, waiters: [resolve] });
      if (this.autoCommit) this.commitPending();
    });
  }

  /** A promise that settles once every write enqueued so far has committed. */
  private enqueueBarrier(): Promise<void> {
    const last = this.pending[this.pending.length - 1];
    if (last === undefined) return Promise.resolve();
    return new Promise<void>((resolve) => last.waiters.push(resolve));
  }

  private setOverlay(key: Uint8Array, record: VersionedRecord | null): void {
    const bucket = rowBucket(key);
    this.sortedBuckets.delete(bucket);
    const mapKey = bytesToMapKey(key);
    let slots = this.overlay.get(bucket);
    if (slots === undefined) {
      slots = new Map();
      this.overlay.set(bucket, slots);
    }
    slots.set(mapKey, { key, record });
  }

  private apply(operation: PendingOperation): void {
    if (operation.kind === 'meta') {
      this.committedMeta.set(operation.name, operation.value);
      return;
    }
    for (const record of operation.records) {
      const bucket = rowBucket(record.key);
      this.sortedBuckets.delete(bucket);
      let records = this.committed[bucket];
      if (records === undefined) records = this.committed[bucket] = new Map();
      const mapKey = bytesToMapKey(record.key);
      records.set(mapKey, record);
    }
    for (const key of operation.purgeKeys) {
      const bucket = rowBucket(key);
      this.sortedBuckets.delete(bucket);
      this.committed[bucket]?.delete(bytesToMapKey(key));
    }
  }

  /** Recompute the overlay from the writes still pending (after a commit or a crash). */
  private rebuildOverlay(): void {
    // Writes dropped by a crash change what their buckets show.
    for (const bucket of this.overlay.keys()) this.sortedBuckets.delete(bucket);
    this.overlay = new Map();
    this.overlayMeta = new Map();
    for (const write of this.pending) {
      const operation = write.operation;
      if (operation.kind === 'meta') {
        this.overlayMeta.set(operation.name, operation.value);
        continue;
      }
      for (const record of operation.records) this.setOverlay(record.key, record);
      for (const key of operation.purgeKeys) this.setOverlay(key, null);
    }
  }

  /** The bucket's visible records in key order (shared: callers must not change the array). */
  private visibleBucket(bucket: number): VersionedRecord[] {
    const cached = this.sortedBuckets.get(bucket);
    if (cached !== undefined) return cached;
    const committed = this.committed[bucket];
    const slots = this.overlay.get(bucket);
    const records: VersionedRecord[] = [];
    if (committed !== undefined) {
      for (const [mapKey, record] of committed) if (slots?.has(mapKey) !== true) records.push(record);
    }
    if (slots !== undefined) for (const slot of slots.values()) if (slot.record !== null) records.push(slot.record);
    records.sort(compareRecordKeys);
    this.sortedBuckets.set(bucket, records);
    return records;
  }

  private bucketHasRecords(bucket: number): boolean {
    const committed = this.committed[bucket];
    const slots = this.overlay.get(bucket);
    if (slots !== undefined) {
      for (const slot of slots.values()) if (slot.record !== null) return true;
      if (committed !== undefined) for (const mapKey of committed.keys()) if (!slots.has(mapKey)) return true;
      return false;
    }
    return committed !== undefined && committed.size > 0;
  }

  private nextNonEmptyBucket(fromBucket: number, toBucketExclusive: number): number {
    for (let bucket = fromBucket; bucket < toBucketExclusive; bucket++) if (this.bucketHasRecords(bucket)) return bucket;
    return KEY_BUCKET_COUNT;
  }
}

/** Index of the first record whose key is not below `key` (binary search over sorted records). */
function firstNotBelow(sorted: readonly VersionedRecord[], key: Uint8Array): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (compareBytes(sorted[middle]!.key, key) < 0) low = middle + 1;
    else high = middle;
  }
  return low;
}

/**
 * Of one bucket's rows in key order, each key's header, or for a key without one its first
 * live field (LmdbStore.scanHeaders: a hash whose header a concurrent clear removed).
 */
function oneRowPerKey(records: readonly VersionedRecord[]): VersionedRecord[] {
  const chosen: VersionedRecord[] = [];
  let decided: Uint8Array | undefined;
  for (const record of records) {
    const kind = rowKindOf(record.key);
    if ((kind !== RowKind.Header && kind !== RowKind.Field && kind !== RowKind.Item) || record.value === null) continue;
    const prefixLength = rowPrefixLength(record.key);
    if (decided !== undefined && decided.length === prefixLength && compareBytes(decided, record.key.subarray(0, prefixLength)) === 0) continue;
    decided = record.key.subarray(0, prefixLength);
    chosen.push(record);
  }
  return chosen;
}

/** Programmer errors in scan arguments; shared by both stores so they fail alike. */
export function assertBucketRange(fromBucket: number, toBucketExclusive: number, limitRecords: number): void {
  const isBucket = (value: number) => Number.isInteger(value) && value >= 0 && value <= KEY_BUCKET_COUNT;
  if (!isBucket(fromBucket) || !isBucket(toBucketExclusive)) throw new Error(`bucket range out of bounds: [${fromBucket}, ${toBucketExclusive})`);
  if (!(Number.isInteger(limitRecords) && limitRecords >= 1)) throw new Error(`limitRecords must be a positive integer, got ${limitRecords}`);
}

// The Store on LMDB (lmdb-js). lmdb-js batches every put of one event-loop turn into one
// transaction on its writer thread, so a write costs one put per record here and the
// commit cost is shared by everything written in the same turn.
//
// Uncommitted puts are invisible to lmdb-js reads, but the Store contract makes writes
// visible at once; an overlay of pending records (newest per key) covers the gap and each
// entry leaves it when its transaction commits. A big batch (a catch-up's, a big
// collection's) none of whose rows has a write pending skips both: it commits at once, in
// place (writeInPlace).
//
// A full disk is refused before LMDB meets it: below a free-space reserve failure() says
// so and the node refuses client writes (MISCONF), keeps serving reads, and accepts them
// again once space returns (checked every DISK_CHECK_MS). A commit that fails anyway (the
// reserve eaten by peers' writes, an I/O error) loses nothing: its entries stay in the
// overlay, so reads still see them, and are written again once there is room (backing
// off while it keeps failing: lmdb-js 3.5 corrupts its heap under a stream of failed
// commits); the writes that failed resolve when that commit succeeds.
import { statfsSync } from 'node:fs';
import { chmod, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { open, type Database, type RootDatabase } from 'lmdb';
import { bytesToMapKey, compareBytes, equalBytes, KEY_BUCKET_COUNT } from '../core/bytes.js';
import type { VersionedRecord } from '../core/types.js';
import { DATA_FILE_MODE, prepareDataDir } from './data-dir.js';
import { upgradeStore } from './format-upgrade.js';
import { assertBucketRange } from './memory-store.js';
import { copyOut, decodeRecordValueCopy, decodeStoredKey, decodeStoredRecord, encodeBucketStart, encodeRecordValue, encodeStoredKey, INLINE_KEY_BYTES_MAX, isLongKey } from './record-codec.js';
import type { RangePage, RowPage, ScanResult, Store, WriteBatch } from './store.js';
import { Overlay, overlayEntry, type OverlayEntry } from './overlay.js';
import { hasPrefix, rangePageOf } from '../core/store-view.js';
import { rowBucket, rowKindOf, RowKind, rowPrefixBucket, rowPrefixLength } from '../core/rows.js';

export type FsyncMode = 'always' | 'everysec' | 'no';

/** How often the disk's free space is checked, and failed writes are retried at the soonest. */
export const DISK_CHECK_MS = 1_000;
/** The longest wait between retries of a commit that keeps failing with room on the disk. */
const COMMIT_RETRY_MS_MAX = 30_000;
/** Free space a retry of failed commits waits for at least (a full disk: retrying would only fail again). */
const RETRY_FREE_BYTES_MIN = 4 * 1024 * 1024;
/** Default free space kept on the data directory's disk: client writes are refused below it. */
export const DISK_RESERVE_BYTES_DEFAULT = 64 * 1024 * 1024;
/** Metadata written with every retry, so a retry commits something even when every failed row was written since. */
const RETRY_PROBE_META = 'commit-retry';

export interface LmdbStoreOptions {
  readonly dir: string;
  /**
   * always: a write resolves once flushed to disk (LMDB overlapping sync).
   * everysec: commits are not synced; a timer syncs once a second if anything changed.
   * no: never sync explicitly (the OS writes back); flush() and close() still sync.
   * Every mode survives kill -9 of the process: a commit is in the OS page cache.
   * On power loss, everysec and no may lose recent commits (LMDB MDB_NOSYNC; on file
   * systems that reorder writes even damage the file), as Redis' everysec/no lose data.
   * everysec does not use overlapping sync with early resolution instead: measured ~10x
   * slower, as every commit still waits for the previous flush.
   */
  readonly fsync: FsyncMode;
  /** Initial LMDB map size; lmdb-js grows it as needed. Default: see initialMapBytes. */
  readonly mapSizeBytes?: number;
  /** Free bytes to keep on the data directory's disk (default DISK_RESERVE_BYTES_DEFAULT). */
  readonly diskReserveBytes?: number;
  /** Writes started being refused (why), or are accepted again (undefined). */
  readonly onFailureChange?: (error: Error | undefined) => void;
  /** Called when a background sync fails (everysec); the next flush() rejects too. */
  readonly onSyncError?: (error: Error) => void;
}

/** File name inside the data directory; LMDB adds DATA_FILE_NAME + '-lock'. */
export const DATA_FILE_NAME = 'peerkv.mdb';
export const EVERYSEC_SYNC_INTERVAL_MS = 1_000; // Redis appendfsync everysec: lose at most ~1 s on power loss
/**
 * The LMDB map starts at least this big. lmdb-js keeps every outgrown map mapped until
 * close (for readers still inside it), so each growth from its 128 KiB default counts
 * the same page-cache pages again in the process's RSS: 1,000,000 keys of 100 B showed
 * 813 MiB RSS with six maps (12 MiB ... 276 MiB) against 423 MiB with one. The address
 * space costs nothing; with the writable map (fsync everysec/no) the data file is
 * extended to the map size, sparse: its blocks on disk are what is used (du, not ls).
 */
/** A key's element rows read one by one before a header scan seeks past the rest of them. */
const HEADER_SCAN_SKIP_ROWS = 16;
export const LMDB_MAP_BYTES_MIN = 1024 * 1024 * 1024;
const RECORDS_DB_NAME = 'records';
const META_DB_NAME = 'meta';

interface MetaEntry {
  readonly name: string;
  readonly value: Uint8Array;
}

/** The overlay entries written in one lmdb-js transaction, removed when it commits. */
interface PendingTransaction {
  readonly records: OverlayEntry[];
  readonly meta: MetaEntry[];
}

/** While commits fail: why, the entries to write again, and what the failed writes wait for. */
interface Failing {
  error: Error;
  records: OverlayEntry[];
  meta: MetaEntry[];
  readonly recovered: Promise<void>;
  readonly recover: () => void;
  readonly abandon: (error: Error) => void;
}

/** lmdb-js's root database has sync (mdb_env_sync with force, on a worker) but its types omit it. */
interface EnvironmentSync {
  sync(callback: (error: Error | undefined) => void): void;
}

function plainBytes(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.length);
}

function compareRecordKeys(a: VersionedRecord, b: VersionedRecord): number {
  return Buffer.compare(a.key, b.key);
}

/** The stored key where the rows of a prefix start: [bucket][prefix]. */
function storedPrefixKey(bucket: number, prefix: Uint8Array): Buffer {
  const stored = Buffer.allocUnsafe(2 + prefix.length);
  stored[0] = bucket >>> 8;
  stored[1] = bucket & 0xff;
  stored.set(prefix, 2);
  return stored;
}

function compareBucketThenKey(a: VersionedRecord, b: VersionedRecord): number {
  return rowBucket(a.key) - rowBucket(b.key) || compareBytes(a.key, b.key);
}

/** True if both keys are long and share the bytes their stored keys hold (their order there is by digest). */
function sameLongKeyGroup(a: Uint8Array, b: Uint8Array): boolean {
  if (!isLongKey(a) || !isLongKey(b)) return false;
  for (let index = 0; index < INLINE_KEY_BYTES_MAX; index++) if (a[index] !== b[index]) return false;
  return true;
}

/** The first stored key after every row of a prefix: the prefix with its last byte raised (carrying). */
function storedPrefixEnd(bucket: number, prefix: Uint8Array): Buffer | undefined {
  const end = storedPrefixKey(bucket, prefix);
  for (let index = end.length - 1; index >= 2; index--) {
    if (end[index]! < 0xff) {
      end[index]!++;
      return end.subarray(0, index + 1);
    }
  }
  return bucket + 1 < KEY_BUCKET_COUNT ? encodeBucketStart(bucket + 1) : undefined;
}

function bucketOfStoredKey(stored: Uint8Array): number {
  return (stored[0]! << 8) | stored[1]!;
}

/**
 * A write of at least this many rows, none with a write pending, commits at once in a
 * transaction of its own on the event loop (writeInPlace) instead of through lmdb-js's
 * writer thread: a new node catching up spent 7.6 us of CPU a key that way, 5.4 in place
 * (all threads, 500k keys; its main thread 4.5 both ways), 150k -> 176k keys/s. Single
 * rows stay on the writer thread, which commits while the event loop serves clients:
 * in place, lone-node SET -c 50 fell from 18.6-19.6k to 9.2-9.4k/s.
 */
export const IN_PLACE_ROWS_MIN = 256;
/** ... and at most this many bytes of keys and values, so the event loop is held a few ms at most. */
const IN_PLACE_BYTES_MAX = 4 * 1024 * 1024;

/**
 * How writeInPlace puts a batch that ascends after every stored key (a new node catching
 * up receives buckets in order): LMDB then skips the search and fills pages whole. 1M
 * keys in order, 4,096 a transaction (microbenchmark): 1.6-1.8 us a put, 1.2-1.3 appended.
 */
const APPEND = { append: true } as const;
const PUT = {} as const;

/** Rows LmdbStore remembers as last read or written (recentReads). */
const RECENT_READS_MAX = 4;

interface RecentRead {
  readonly key: Uint8Array;
  readonly storedKey: Uint8Array;
  readonly record: VersionedRecord | undefined;
}

export class LmdbStore implements Store {
  private readonly overlay = new Overlay();
  private readonly overlayMeta = new Map<string, MetaEntry>();
  /** lmdb-js returns one promise per transaction; a new one means a new transaction. */
  private transactionCommit: Promise<boolean> | undefined;
  private transaction: PendingTransaction = { records: [], meta: [] };
  /** Settles once every write so far has committed (and flushed, with fsync always). */
  private lastAck: Promise<void> = Promise.resolve();
  /** While commits fail: why, the entries to write again, and what the failed writes wait for. */
  private failing: Failing | undefined;
  /** Set while the disk has less free space than the reserve. */
  private lowSpace: Error | undefined;
  private readonly diskTimer: NodeJS.Timeout;
  /** What onFailureChange was last told. */
  private reportedFailure: string | undefined;
  /** Retries of failed commits: not before this time; the next wait if this one fails too. */
  private retryNotBeforeMs = 0;
  private retryBackoffMs = DISK_CHECK_MS;
  private retrying = false;
  /**
   * The rows last read or written (RECENT_READS_MAX, most recently used last). A write
   * usually reads again a row its command read just before (the core's merge reads the
   * header a ZADD or LPUSH checked, the item an LPOP took), and the next command on the
   * same key reads its header again (a queue's LPOPs, a leaderboard's ZADDs). A write or
   * purge of a row replaces its entry with what was written, so an entry always holds the
   * row as the store now has it: write() is the only way rows change after open.
   */
  private readonly recentReads: RecentRead[] = [];
  private corruptRecords = 0;
  private dirtySinceSync = false;
  private syncError: Error | undefined;
  private readonly syncTimer: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly root: RootDatabase,
    private readonly records: Database<Uint8Array, Uint8Array>,
    private readonly meta: Database<Buffer, string>,
    private readonly options: LmdbStoreOptions,
  ) {
    if (options.fsync === 'everysec') {
      this.syncTimer = setInterval(() => this.backgroundSync(), EVERYSEC_SYNC_INTERVAL_MS);
      this.syncTimer.unref();
    }
    this.checkDisk();
    this.diskTimer = setInterval(() => this.checkDisk(), DISK_CHECK_MS);
    this.diskTimer.unref();
  }

  /** Free space against the reserve; retry failed commits when there is room. */
  private checkDisk(): void {
    const reserve = this.options.diskReserveBytes ?? DISK_RESERVE_BYTES_DEFAULT;
    let free: number;
    try {
      const stats = statfsSync(this.options.dir);
      free = stats.bavail * stats.bsize;
    } catch {
      return; // no answer: decide by the commits alone
    }
    const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
    this.lowSpace = free < reserve ? new Error(`${mib(free)} MiB free on the data directory's disk, below the ${mib(reserve)} MiB reserve (--disk-reserve-mb)`) : undefined;
    const room = this.lowSpace === undefined && free >= RETRY_FREE_BYTES_MIN;
    if (room && this.failing !== undefined && !this.retrying && Date.now() >= this.retryNotBeforeMs) this.retryFailed();
    this.reportFailure();
  }

  /** Tell onFailureChange when writes start or stop being refused. */
  private reportFailure(): void {
    const failure = this.failure();
    if (failure?.message === this.reportedFailure) return;
    const wasRefusing = this.reportedFailure !== undefined;
    this.reportedFailure = failure?.message;
    if (failure !== undefined || wasRefusing) this.options.onFailureChange?.(failure);
  }

  /** The remembered row of these key bytes, if any, made the most recently used. */
  private recentReadOf(key: Uint8Array): RecentRead | undefined {
    const recent = this.recentReads;
    const last = recent.length - 1;
    for (let index = last; index >= 0; index--) {
      const read = recent[index]!;
      if (read.key !== key && !equalBytes(read.key, key)) continue;
      if (index !== last) {
        recent.splice(index, 1);
        recent.push(read);
      }
      return read;
    }
    return undefined;
  }

  /** Remember a row as read or written, in place of `known` (its entry until now, if any). */
  private remember(read: RecentRead, known: RecentRead | undefined): void {
    const recent = this.recentReads;
    const at = known === undefined ? -1 : recent.lastIndexOf(known);
    if (at >= 0) recent[at] = read;
    else if (recent.push(read) > RECENT_READS_MAX) recent.shift();
  }

  get(key: Uint8Array): VersionedRecord | undefined {
    const remembered = this.recentReadOf(key);
    if (remembered !== undefined) return remembered.record;
    const storedKey = encodeStoredKey(key);
    let record: VersionedRecord | undefined;
    const pending = this.overlay.get(storedKey, bucketOfStoredKey(storedKey));
    if (pending !== undefined) {
      record = pending.record ?? undefined;
    } else {
      // getBinaryFast fills a buffer lmdb-js reuses: decode (copying the value) before any other LMDB call.
      const bytes = this.records.getBinaryFast(storedKey);
      if (bytes !== undefined) {
        record = decodeRecordValueCopy(isLongKey(key) ? undefined : key, bytes);
        if (record === undefined) this.corruptRecords++;
      }
    }
    this.remember({ key, storedKey, record }, undefined);
    return record;
  }

  /**
   * Bytes of the LMDB pages that hold the records (branch, leaf and overflow pages of the
   * records database): the dataset's size, without free pages the file keeps for reuse.
   */
  storedBytes(): number {
    const stats = this.records.getStats() as { pageSize?: number; treeBranchPageCount?: number; treeLeafPageCount?: number; overflowPages?: number };
    const pages = (stats.treeBranchPageCount ?? 0) + (stats.treeLeafPageCount ?? 0) + (stats.overflowPages ?? 0);
    return pages * (stats.pageSize ?? 0);
  }

  /** Stored entries that failed to decode since open (read as absent); for metrics. */
  corruptRecordCount(): number {
    return this.corruptRecords;
  }

  write(batch: WriteBatch): Promise<void> {
    this.assertOpen();
    if (this.mayWriteInPlace(batch) && this.writeInPlace(batch)) return this.lastAck;
    for (const record of batch.records) this.stage(record.key, record);
    for (const key of batch.purgeKeys) this.stage(key, null);
    return this.lastAck;
  }

  /**
   * A big batch while commits work, unless every commit must be flushed: a synchronous one
   * would wait for fsync on the event loop.
   */
  private mayWriteInPlace(batch: WriteBatch): boolean {
    const rows = batch.records.length + batch.purgeKeys.length;
    if (rows < IN_PLACE_ROWS_MIN || this.options.fsync === 'always' || this.failure() !== undefined) return false;
    let bytes = 0;
    for (const record of batch.records) bytes += record.key.length + (record.value?.length ?? 0);
    for (const key of batch.purgeKeys) bytes += key.length;
    return bytes <= IN_PLACE_BYTES_MAX;
  }

  /**
   * Commit the batch now, in a transaction of its own (no overlay entries: it is visible
   * when this returns). False if it did not commit (lmdb-js aborted it: a full disk): the
   * caller stages it as any other write, whose failure the store knows how to handle.
   */
  private writeInPlace(batch: WriteBatch): boolean {
    const storedKeys = batch.records.map((record) => encodeStoredKey(record.key));
    const purgedKeys = batch.purgeKeys.map((key) => encodeStoredKey(key));
    // A row with a write pending is staged behind it: committed now, it would be overtaken.
    // Rows of other keys may commit in either order: none is acknowledged before the
    // earlier writes commit (write answers lastAck). A node catching up while the cluster
    // takes writes has replicated rows pending most of the time.
    if (this.overlay.size > 0 && (storedKeys.some(this.isPending) || purgedKeys.some(this.isPending))) return false;
    try {
      this.root.transactionSync(() => {
        const options = batch.purgeKeys.length === 0 && this.appendable(storedKeys) ? APPEND : PUT;
        for (let index = 0; index < storedKeys.length; index++) {
          // An append LMDB refuses (a key not after the last) writes nothing and answers false
          // (lmdb-js's types say void): abort, and the batch is staged instead.
          const written = this.records.putSync(storedKeys[index]!, encodeRecordValue(batch.records[index]!), options) as unknown as boolean;
          if (!written) throw new Error('append refused');
        }
        for (const key of purgedKeys) this.records.removeSync(key);
      });
    } catch {
      return false;
    }
    this.recentReads.length = 0; // they may hold rows the batch replaced
    this.dirtySinceSync = true;
    return true;
  }

  private readonly isPending = (storedKey: Uint8Array): boolean => this.overlay.get(storedKey, bucketOfStoredKey(storedKey)) !== undefined;

  /** True if the stored keys ascend, all after the last stored one (inside a write transaction: its view). */
  private appendable(storedKeys: readonly Uint8Array[]): boolean {
    for (let index = 1; index < storedKeys.length; index++) if (compareBytes(storedKeys[index - 1]!, storedKeys[index]!) >= 0) return false;
    for (const last of this.records.getKeys({ reverse: true, limit: 1 })) return compareBytes(last, storedKeys[0]!) < 0;
    return true;
  }

  /** Write (or, for null, purge) one row: pending in the overlay, remembered, handed to lmdb-js. */
  private stage(key: Uint8Array, record: VersionedRecord | null): void {
    // Writers read a row just before writing it (LWW merge): reuse the stored form that read built.
    const read = this.recentReadOf(key);
    const storedKey = read?.storedKey ?? encodeStoredKey(key);
    const entry = overlayEntry(storedKey, bucketOfStoredKey(storedKey), key, record);
    this.overlay.set(entry);
    this.remember({ key, storedKey, record: record ?? undefined }, read);
    const commit = record === null ? this.records.remove(storedKey) : this.records.put(storedKey, encodeRecordValue(record));
    this.track(commit).records.push(entry);
  }

  getMeta(name: string): Uint8Array | undefined {
    const pending = this.overlayMeta.get(name);
    if (pending !== undefined) return pending.value;
    const bytes = this.meta.getBinary(name);
    return bytes === undefined ? undefined : plainBytes(bytes);
  }

  putMeta(name: string, value: Uint8Array): Promise<void> {
    this.assertOpen();
    const entry: MetaEntry = { name, value: new Uint8Array(value) };
    this.overlayMeta.set(name, entry);
    this.track(this.meta.put(name, Buffer.from(entry.value))).meta.push(entry);
    return this.lastAck;
  }

  async flush(): Promise<void> {
    await this.lastAck;
    await this.failing?.recovered;
    if (this.options.fsync !== 'always') await this.syncToDisk();
  }

  close(): Promise<void> {
    if (this.closing === undefined) this.closing = this.closeOnce();
    return this.closing;
  }

  scanBuckets(fromBucket: number, toBucketExclusive: number, limitRecords: number): ScanResult {
    assertBucketRange(fromBucket, toBucketExclusive, limitRecords);
    const records: VersionedRecord[] = [];
    if (fromBucket >= toBucketExclusive) return { records, nextBucket: KEY_BUCKET_COUNT };
    const overlay = this.overlay.inRange(fromBucket, toBucketExclusive);
    let overlayIndex = 0;
    const range = this.records.getRange({
      start: encodeBucketStart(fromBucket),
      end: toBucketExclusive < KEY_BUCKET_COUNT ? encodeBucketStart(toBucketExclusive) : undefined,
    });
    const iterator = range[Symbol.iterator]();
    try {
      let next = iterator.next();
      for (;;) {
        const storedBucket = next.done === true ? KEY_BUCKET_COUNT : bucketOfStoredKey(next.value.key);
        const overlayBucket = overlayIndex < overlay.length ? overlay[overlayIndex]!.bucket : KEY_BUCKET_COUNT;
        const bucket = Math.min(storedBucket, overlayBucket);
        if (bucket === KEY_BUCKET_COUNT || records.length >= limitRecords) return { records, nextBucket: bucket };
        const bucketRecords: VersionedRecord[] = [];
        while (next.done !== true && bucketOfStoredKey(next.value.key) === bucket) {
          const record = decodeStoredRecord(next.value.key, next.value.value);
          if (record === undefined) this.corruptRecords++;
          else bucketRecords.push(record);
          next = iterator.next();
        }
        const overlayStart = overlayIndex;
        while (overlayIndex < overlay.length && overlay[overlayIndex]!.bucket === bucket) overlayIndex++;
        this.appendBucket(records, bucketRecords, overlay.slice(overlayStart, overlayIndex));
      }
    } finally {
      iterator.return?.();
    }
  }

  scanHeaders(fromBucket: number, toBucketExclusive: number, limitKeys: number): ScanResult {
    assertBucketRange(fromBucket, toBucketExclusive, limitKeys);
    const headers: VersionedRecord[] = [];
    const end = toBucketExclusive < KEY_BUCKET_COUNT ? encodeBucketStart(toBucketExclusive) : undefined;
    let start: Buffer | undefined = fromBucket < toBucketExclusive ? encodeBucketStart(fromBucket) : undefined;
    let nextBucket = KEY_BUCKET_COUNT;
    let lastBucket = -1;
    scan: while (start !== undefined) {
      const restartAt: Buffer | undefined = start;
      start = undefined;
      let currentPrefix: Uint8Array | undefined;
      let rowsOfKey = 0;
      let keyFound = false;
      for (const entry of this.records.getRange({ start: restartAt, end })) {
        const bucket = bucketOfStoredKey(entry.key);
        if (bucket !== lastBucket) {
          if (headers.length >= limitKeys) {
            nextBucket = bucket;
            break scan;
          }
          lastBucket = bucket;
        }
        const decoded = decodeStoredKey(entry.key);
        const row = decoded?.key ?? decodeStoredRecord(entry.key, entry.value)?.key;
        if (row === undefined) continue;
        const prefixLength = rowPrefixLength(row);
        if (prefixLength === 0) continue; // the flush row
        if (currentPrefix !== undefined && currentPrefix.length === prefixLength && hasPrefix(row, currentPrefix)) {
          // Element rows of a key already seen: past a few, seek over the rest of the key.
          if (++rowsOfKey >= HEADER_SCAN_SKIP_ROWS && prefixLength <= INLINE_KEY_BYTES_MAX) {
            start = storedPrefixEnd(bucket, currentPrefix);
            if (start === undefined || (end !== undefined && Buffer.compare(start, end) >= 0)) start = undefined;
            continue scan;
          }
        } else {
          currentPrefix = row.slice(0, prefixLength);
          rowsOfKey = 0;
          keyFound = false;
        }
        // The key's header, or for a key without one its first field (a hash whose header a
        // concurrent clear removed still exists: Keyspace.liveKeysOf decides).
        const kind = row[prefixLength];
        if (keyFound || (kind !== RowKind.Header && kind !== RowKind.Field && kind !== RowKind.Item)) continue;
        const record = decodeStoredRecord(entry.key, entry.value);
        if (record === undefined) {
          this.corruptRecords++;
        } else if (record.value !== null) {
          headers.push(record);
          keyFound = true;
        }
      }
    }
    if (this.overlay.size === 0) return { records: headers, nextBucket };
    return { records: this.withPendingHeaders(headers, fromBucket, Math.min(nextBucket, toBucketExclusive)), nextBucket };
  }

  /** Stored headers of [fromBucket, toBucketExclusive) with pending writes applied, in (bucket, key) order. */
  private withPendingHeaders(stored: VersionedRecord[], fromBucket: number, toBucketExclusive: number): VersionedRecord[] {
    const pending = new Map<string, VersionedRecord | null>();
    for (const entry of this.overlay.inRange(fromBucket, toBucketExclusive)) {
      if (rowKindOf(entry.key) === RowKind.Header) pending.set(bytesToMapKey(entry.key), entry.record);
    }
    if (pending.size === 0) return stored;
    const merged = stored.filter((record) => !pending.has(bytesToMapKey(record.key)));
    for (const record of pending.values()) if (record !== null) merged.push(record);
    return merged.sort((a, b) => rowBucket(a.key) - rowBucket(b.key) || compareBytes(a.key, b.key));
  }

  scanRows(prefix: Uint8Array, after: Uint8Array | undefined, limitRecords: number): RowPage {
    // A page whose stored rows were all purged by pending writes must not read as the end.
    let from = after;
    for (;;) {
      const page = this.forwardPage(prefix, after, from, limitRecords);
      if (page.records.length > 0 || page.done) return page;
      from = page.resumeAfter;
    }
  }

  /** One page of scanRows: stored rows after `from`, pending ones after `after` up to the last stored row. */
  private forwardPage(prefix: Uint8Array, after: Uint8Array | undefined, from: Uint8Array | undefined, limitRecords: number): RowPage & { resumeAfter: Uint8Array | undefined } {
    const bucket = rowPrefixBucket(prefix);
    // Stored keys hold at most INLINE_KEY_BYTES_MAX bytes of the row key: range over that
    // much of the prefix and check the whole prefix on the decoded rows.
    const rangePrefix = prefix.length > INLINE_KEY_BYTES_MAX ? prefix.subarray(0, INLINE_KEY_BYTES_MAX) : prefix;
    // Long keys sharing their first INLINE_KEY_BYTES_MAX bytes (a group) lie in digest order,
    // not key order: a page starts at the whole group of a long `after`, and takes the group
    // it ends in whole, then sorts and cuts, so paging by `after` skips none of them.
    const start = from === undefined ? storedPrefixKey(bucket, rangePrefix) : isLongKey(from) ? storedPrefixKey(bucket, from.subarray(0, INLINE_KEY_BYTES_MAX)) : encodeStoredKey(from);
    const end = storedPrefixEnd(bucket, rangePrefix);
    const { stored, exhausted } = this.readRange(
      start,
      end,
      (record) => hasPrefix(record.key, prefix) && (from === undefined || compareBytes(record.key, from) > 0),
      limitRecords,
      compareRecordKeys,
    );
    const last = exhausted ? undefined : stored[stored.length - 1]!.key;
    if (this.overlay.size === 0) return { records: stored, done: exhausted, resumeAfter: last };
    // Pending writes win over what is stored; beyond the last stored row they belong to a later page.
    const pending = new Map<string, VersionedRecord | null>();
    for (const entry of this.overlay.ofBucket(bucket)) {
      if (!hasPrefix(entry.key, prefix)) continue;
      if (after !== undefined && compareBytes(entry.key, after) <= 0) continue;
      if (last !== undefined && compareBytes(entry.key, last) > 0) continue;
      pending.set(bytesToMapKey(entry.key), entry.record);
    }
    if (pending.size === 0) return { records: stored, done: exhausted, resumeAfter: last };
    const merged = stored.filter((record) => !pending.has(bytesToMapKey(record.key)));
    for (const record of pending.values()) if (record !== null) merged.push(record);
    merged.sort(compareRecordKeys);
    if (merged.length <= limitRecords) return { records: merged, done: exhausted, resumeAfter: last };
    return { records: merged.slice(0, limitRecords), done: false, resumeAfter: last };
  }

  scanRowsReverse(prefix: Uint8Array, before: Uint8Array | undefined, limitRecords: number): RowPage {
    assertBucketRange(0, 0, limitRecords);
    // A page whose stored rows were all purged by pending writes must not read as the end.
    let from = before;
    for (;;) {
      const page = this.reversePage(prefix, before, from, limitRecords);
      if (page.records.length > 0 || page.done) return page;
      from = page.resumeBefore;
    }
  }

  /** One page of scanRowsReverse: stored rows below `from`, pending ones below `before` down to the last stored row. */
  private reversePage(prefix: Uint8Array, before: Uint8Array | undefined, from: Uint8Array | undefined, limitRecords: number): RowPage & { resumeBefore: Uint8Array | undefined } {
    const bucket = rowPrefixBucket(prefix);
    const rangePrefix = prefix.length > INLINE_KEY_BYTES_MAX ? prefix.subarray(0, INLINE_KEY_BYTES_MAX) : prefix;
    const lowest = storedPrefixKey(bucket, rangePrefix);
    // As scanRows: a long `before` starts after its whole group (digest order inside it).
    const start = from === undefined ? storedPrefixEnd(bucket, rangePrefix) : isLongKey(from) ? storedPrefixEnd(bucket, from.subarray(0, INLINE_KEY_BYTES_MAX)) : encodeStoredKey(from);
    const accept = (record: VersionedRecord) => hasPrefix(record.key, prefix) && (from === undefined || compareBytes(record.key, from) < 0);
    let stored: VersionedRecord[] = [];
    let exhausted = true;
    let hasLongKeys = false;
    // No `end`: lmdb-js excludes it, and the lowest row may be the prefix itself.
    for (const entry of this.records.getRange({ start, reverse: true })) {
      if (Buffer.compare(entry.key, lowest) < 0) break;
      if (!hasPrefix(entry.key, lowest)) continue; // the start key, above the range
      const record = decodeStoredRecord(entry.key, entry.value);
      if (record === undefined) {
        this.corruptRecords++;
        continue;
      }
      if (!accept(record)) continue;
      if (stored.length >= limitRecords && !sameLongKeyGroup(record.key, stored[stored.length - 1]!.key)) {
        exhausted = false;
        break;
      }
      if (isLongKey(record.key)) hasLongKeys = true;
      stored.push(record);
    }
    const descending = (a: VersionedRecord, b: VersionedRecord) => compareRecordKeys(b, a);
    if (hasLongKeys) {
      stored.sort(descending);
      if (stored.length > limitRecords) {
        stored = stored.slice(0, limitRecords);
        exhausted = false;
      }
    }
    const last = exhausted ? undefined : stored[stored.length - 1]!.key;
    if (this.overlay.size === 0) return { records: stored, done: exhausted, resumeBefore: last };
    // Pending writes win over what is stored; below the last stored row they belong to a later page.
    const pending = new Map<string, VersionedRecord | null>();
    for (const entry of this.overlay.ofBucket(bucket)) {
      if (!hasPrefix(entry.key, prefix)) continue;
      if (before !== undefined && compareBytes(entry.key, before) >= 0) continue;
      if (last !== undefined && compareBytes(entry.key, last) < 0) continue;
      pending.set(bytesToMapKey(entry.key), entry.record);
    }
    if (pending.size === 0) return { records: stored, done: exhausted, resumeBefore: last };
    const merged = stored.filter((record) => !pending.has(bytesToMapKey(record.key)));
    for (const record of pending.values()) if (record !== null) merged.push(record);
    merged.sort(descending);
    if (merged.length <= limitRecords) return { records: merged, done: exhausted, resumeBefore: last };
    return { records: merged.slice(0, limitRecords), done: false, resumeBefore: last };
  }

  /**
   * Up to limitRecords stored records from `start` (before `end`) that `accept` admits, in
   * order. Long keys sharing their first INLINE_KEY_BYTES_MAX bytes (a group) lie in digest
   * order, not key order: the group a page ends in is taken whole, sorted by `compare`, and cut.
   */
  private readRange(
    start: Uint8Array,
    end: Uint8Array | undefined,
    accept: (record: VersionedRecord) => boolean,
    limitRecords: number,
    compare: (a: VersionedRecord, b: VersionedRecord) => number,
  ): { stored: VersionedRecord[]; exhausted: boolean } {
    let stored: VersionedRecord[] = [];
    let exhausted = true;
    let hasLongKeys = false;
    for (const entry of this.records.getRange({ start, end })) {
      const record = decodeStoredRecord(entry.key, entry.value);
      if (record === undefined) {
        this.corruptRecords++;
        continue;
      }
      if (!accept(record)) continue;
      if (stored.length >= limitRecords && !sameLongKeyGroup(record.key, stored[stored.length - 1]!.key)) {
        exhausted = false;
        break;
      }
      if (isLongKey(record.key)) hasLongKeys = true;
      stored.push(record);
    }
    if (hasLongKeys) {
      stored.sort(compare);
      if (stored.length > limitRecords) {
        stored = stored.slice(0, limitRecords);
        exhausted = false;
      }
    }
    return { stored, exhausted };
  }

  scanFrom(fromBucket: number, after: Uint8Array | undefined, limitRecords: number): RangePage {
    assertBucketRange(fromBucket, KEY_BUCKET_COUNT, limitRecords);
    if (fromBucket >= KEY_BUCKET_COUNT) return rangePageOf([], true);
    const beyondStart = (bucket: number, key: Uint8Array) => bucket > fromBucket || (bucket === fromBucket && (after === undefined || compareBytes(key, after) > 0));
    // As scanRows: a long `after` starts at its whole group, and the group a page ends in is
    // taken whole before the page is sorted and cut.
    const start = after === undefined ? encodeBucketStart(fromBucket) : isLongKey(after) ? storedPrefixKey(fromBucket, after.subarray(0, INLINE_KEY_BYTES_MAX)) : encodeStoredKey(after);
    const { stored, exhausted } = this.readRange(start, undefined, (record) => beyondStart(rowBucket(record.key), record.key), limitRecords, compareBucketThenKey);
    if (this.overlay.size === 0) return rangePageOf(stored, exhausted);
    // Pending writes win over what is stored; beyond the last stored row they belong to a later page.
    const last = exhausted ? undefined : stored[stored.length - 1]!.key;
    const lastBucket = last === undefined ? KEY_BUCKET_COUNT : rowBucket(last);
    const pending = new Map<string, VersionedRecord | null>();
    for (const entry of this.overlay.inRange(fromBucket, lastBucket + 1)) {
      if (!beyondStart(entry.bucket, entry.key)) continue;
      if (last !== undefined && (entry.bucket > lastBucket || (entry.bucket === lastBucket && compareBytes(entry.key, last) > 0))) continue;
      pending.set(bytesToMapKey(entry.key), entry.record);
    }
    if (pending.size === 0) return rangePageOf(stored, exhausted);
    const merged = stored.filter((record) => !pending.has(bytesToMapKey(record.key)));
    for (const record of pending.values()) if (record !== null) merged.push(record);
    merged.sort(compareBucketThenKey);
    if (merged.length <= limitRecords) return rangePageOf(merged, exhausted, last);
    return rangePageOf(merged.slice(0, limitRecords), false);
  }

  /** Merge one bucket's stored records with its pending entries, in key order. */
  private appendBucket(output: VersionedRecord[], stored: VersionedRecord[], pending: OverlayEntry[]): void {
    let merged = stored;
    let needsSort = stored.some((record) => isLongKey(record.key));
    if (pending.length > 0) {
      const pendingKeys = new Set(pending.map((entry) => bytesToMapKey(entry.key)));
      merged = stored.filter((record) => !pendingKeys.has(bytesToMapKey(record.key)));
      for (const entry of pending) if (entry.record !== null) merged.push(entry.record);
      needsSort = true;
    }
    if (needsSort) merged.sort(compareRecordKeys);
    for (const record of merged) output.push(record);
  }

  /** The pending transaction `commit` belongs to, starting a new one when lmdb-js did. */
  private track(commit: Promise<boolean>): PendingTransaction {
    if (commit === this.transactionCommit) return this.transaction;
    const transaction: PendingTransaction = { records: [], meta: [] };
    this.transactionCommit = commit;
    this.transaction = transaction;
    this.dirtySinceSync = true;
    this.lastAck = commit.then(
      () => this.settle(transaction),
      (error: unknown) => this.commitFailed(transaction, error),
    );
    return transaction;
  }

  /** Why commits fail now; undefined while they work. */
  failure(): Error | undefined {
    return this.failing?.error ?? this.lowSpace;
  }

  /**
   * A transaction did not commit: keep its entries in the overlay, write them again later;
   * its writers wait until a retry commits (or the store closes while still failing).
   */
  private commitFailed(transaction: PendingTransaction, error: unknown): Promise<void> {
    const generic = error instanceof Error ? error : new Error(String(error));
    // lmdb-js rejects each write with a generic error whose `commitError` promise holds the
    // real one (ENOSPC...): handled here, or it would end the process as an unhandled rejection.
    const detail = (generic as Error & { commitError?: Promise<unknown> }).commitError;
    if (this.failing === undefined) {
      let recover!: () => void;
      let abandon!: (error: Error) => void;
      const recovered = new Promise<void>((resolve, reject) => ((recover = resolve), (abandon = reject)));
      recovered.catch(() => undefined);
      const failing: Failing = { error: generic, records: [], meta: [], recovered, recover, abandon };
      this.failing = failing;
      this.retryNotBeforeMs = Date.now() + this.retryBackoffMs;
      if (detail !== undefined) {
        detail.then(undefined, (real: unknown) => {
          if (this.failing !== failing || !(real instanceof Error)) return;
          failing.error = real;
          this.reportFailure();
        });
      }
      this.reportFailure();
    } else {
      detail?.catch(() => undefined);
    }
    const failing = this.failing;
    failing.records.push(...transaction.records);
    failing.meta.push(...transaction.meta);
    return failing.recovered;
  }

  /**
   * Write the failed entries again (those not overwritten since); the writes waiting for
   * them resolve once every commit of the retry succeeds. A commit of it that fails
   * re-queues its entries (commitFailed) for the next retry, which waits twice as long.
   */
  private retryFailed(): void {
    const failing = this.failing!;
    const records = failing.records.filter((entry) => this.overlay.isCurrent(entry));
    const meta = failing.meta.filter((entry) => this.overlayMeta.get(entry.name) === entry);
    failing.records = [];
    failing.meta = [];
    const commits = new Set<Promise<boolean>>();
    for (const entry of records) {
      const storedKey = Buffer.from(entry.storedKey);
      const commit = entry.record === null ? this.records.remove(storedKey) : this.records.put(storedKey, encodeRecordValue(entry.record));
      this.track(commit).records.push(entry);
      commits.add(commit);
    }
    for (const entry of meta) {
      const commit = this.meta.put(entry.name, Buffer.from(entry.value));
      this.track(commit).meta.push(entry);
      commits.add(commit);
    }
    const probe = this.meta.put(RETRY_PROBE_META, Buffer.from(String(Date.now())));
    this.track(probe);
    commits.add(probe);
    this.retrying = true;
    Promise.all(commits).then(
      () => {
        this.retrying = false;
        if (this.failing !== failing) return;
        if (failing.records.length > 0 || failing.meta.length > 0) return; // a later commit failed meanwhile: retry that
        this.failing = undefined;
        this.retryBackoffMs = DISK_CHECK_MS;
        failing.recover();
        this.reportFailure();
      },
      () => {
        this.retrying = false;
        this.retryBackoffMs = Math.min(this.retryBackoffMs * 2, COMMIT_RETRY_MS_MAX);
        this.retryNotBeforeMs = Date.now() + this.retryBackoffMs;
      },
    );
  }

  /** A transaction committed (or failed): its entries leave the overlay unless overwritten since. */
  private settle(transaction: PendingTransaction): void {
    for (const entry of transaction.records) this.overlay.deleteIfCurrent(entry);
    for (const entry of transaction.meta) if (this.overlayMeta.get(entry.name) === entry) this.overlayMeta.delete(entry.name);
  }

  private syncToDisk(): Promise<void> {
    if (this.syncError !== undefined) {
      const error = this.syncError;
      this.syncError = undefined;
      return Promise.reject(error);
    }
    return new Promise((resolve, reject) => {
      (this.root as unknown as EnvironmentSync).sync((error) => (error ? reject(error) : resolve()));
    });
  }

  private backgroundSync(): void {
    if (!this.dirtySinceSync || this.closing !== undefined) return;
    this.dirtySinceSync = false;
    this.lastAck
      // close() syncs by itself; the environment may be gone by the time this runs
      .then(() => (this.closing === undefined ? this.syncToDisk() : undefined))
      .catch((error: unknown) => {
        this.syncError = error instanceof Error ? error : new Error(String(error));
        this.options.onSyncError?.(this.syncError);
      });
  }

  private async closeOnce(): Promise<void> {
    if (this.syncTimer !== undefined) clearInterval(this.syncTimer);
    clearInterval(this.diskTimer);
    // Closing while commits fail: the writes still waiting never committed; say so to them.
    this.failing?.abandon(new Error(`closed before these writes could be committed: ${this.failing.error.message}`));
    try {
      await this.flush();
    } finally {
      await this.root.close();
    }
  }

  private assertOpen(): void {
    if (this.closing !== undefined) throw new Error('LmdbStore used after close()');
  }
}

/**
 * Room for the data to double before the map must grow: twice the blocks the file uses
 * on disk (not its length, which with the writable map is the last map size), at least
 * LMDB_MAP_BYTES_MIN. LMDB keeps a bigger map size recorded in the file.
 */
async function initialMapBytes(path: string): Promise<number> {
  try {
    const file = await stat(path);
    return Math.max(LMDB_MAP_BYTES_MIN, 2 * Math.min(file.size, file.blocks * 512));
  } catch {
    return LMDB_MAP_BYTES_MIN; // a new data file
  }
}

let commitRejectionFilterInstalled = false;

/**
 * lmdb-js 3.5 opens each event-turn batch with an internal write whose promise nobody holds;
 * when that transaction fails, the promise rejects unhandled, which ends a Node process.
 * Every write of ours holds its own promise (commitFailed handles the failure), so those
 * rejections (lmdb-js's commit error, recognised by its commitError) are dropped here; any
 * other unhandled rejection still ends the process, as without this listener.
 */
function dropOrphanCommitRejections(): void {
  if (commitRejectionFilterInstalled) return;
  commitRejectionFilterInstalled = true;
  process.on('unhandledRejection', (reason: unknown) => {
    const detail = reason instanceof Error ? (reason as Error & { commitError?: Promise<unknown> }).commitError : undefined;
    if (detail === undefined || typeof detail.then !== 'function') throw reason;
    detail.catch(() => undefined);
  });
}

/**
 * The records database's keys and values are read back as copies in a shared slab
 * (copyOut), not as lmdb-js's binary encoding gives them: a Buffer sliced with an
 * ArrayBuffer of its own for every key and every value a cursor passes, which costs more
 * than the cursor step. A scan of 1M records of 100 B, decoded (microbenchmark, 3 runs):
 * 3.1-3.9 us a record that way, 2.0-2.3 with values copied out, 1.24-1.29 with keys too.
 * Written values go to LMDB as they are; getBinaryFast (get's read) is unaffected.
 */
const SLAB_COPIED_VALUES = {
  encode: (value: Uint8Array): Uint8Array => value,
  // lmdb-js sets the length of the buffer it reuses to the value's size before decoding.
  decode: (source: Uint8Array): Uint8Array => copyOut(source, 0, source.length),
};

export async function openLmdbStore(options: LmdbStoreOptions): Promise<LmdbStore> {
  dropOrphanCommitRejections();
  await prepareDataDir(options.dir);
  const path = join(options.dir, DATA_FILE_NAME);
  const mapSize = options.mapSizeBytes ?? (await initialMapBytes(path));
  const root = open({
    path,
    maxDbs: 4,
    // always: commit, then flush off the writer lock while the next transaction builds;
    // the put promise resolves after the flush. Otherwise commits skip fsync entirely.
    noSync: options.fsync !== 'always',
    // No writable map: with one, LMDB writes pages through the map and a full disk is a
    // SIGBUS that kills the node; without, it copies them out with write(2), a full disk is
    // a failed commit (ENOSPC) the store retries (commitFailed) and the node keeps serving
    // reads. The price: commits take about twice as long on the writer thread (measured
    // 1.1 vs 2.1 ms for 800 random puts), time the event loop waits: SET through the node
    // 41k vs 49k/s, SET -P 16 106k vs 130k/s (npm run bench, 2026-12-01, back to back). A
    // writable map kept safe by holding writes below the reserve was tried and left out: a
    // node started on a full disk then had nothing to keep it running while its first
    // metadata write waited, and a disk filled faster than the checks was still a SIGBUS.
    useWritemap: false,
    overlappingSync: options.fsync === 'always',
    mapSize,
  });
  // A variable, not a literal: lmdb-js's types leave out the encoder that openDB takes.
  const recordsOptions = { name: RECORDS_DB_NAME, keyEncoding: 'binary' as const, encoder: SLAB_COPIED_VALUES };
  const records = root.openDB<Uint8Array, Uint8Array>(recordsOptions);
  // lmdb-js takes a key reader only for keys it encodes itself; binary keys get its slicing
  // reader, installed per database at open as `readKey`, which cursors call. Replace it.
  (records as unknown as { readKey: typeof copyOut }).readKey = copyOut;
  const meta = root.openDB<Buffer, string>({ name: META_DB_NAME, encoding: 'binary' });
  await chmod(path, DATA_FILE_MODE);
  await chmod(`${path}-lock`, DATA_FILE_MODE);
  upgradeStore(records, meta);
  return new LmdbStore(root, records, meta, options);
}

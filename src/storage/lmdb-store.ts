// The Store on LMDB (lmdb-js) behind a write-ahead log. Random-key LMDB commits rewrite
// many B-tree pages each, far slower than a Redis client writes, so a write is
// acknowledged once its group is in the log (write-ahead-log.ts: one write(2) per
// event-loop turn) and LMDB catches up in the background, one transaction per round of
// whatever the log holds by then. Opening replays the log into LMDB first.
//
// The contract makes writes visible at once; an overlay of pending records (newest per
// key) covers the gap until LMDB has committed them.
import { chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { open, type Database, type RootDatabase } from 'lmdb';
import { KEY_BUCKET_COUNT } from '../core/bytes.js';
import type { VersionedRecord } from '../core/types.js';
import { DATA_FILE_MODE, prepareDataDir } from './data-dir.js';
import { assertBucketRange } from './memory-store.js';
import { decodeRecordValueCopy, decodeStoredRecord, encodeBucketStart, encodeRecordValue, encodeStoredKey, isLongKey } from './record-codec.js';
import type { ScanResult, Store, WriteBatch } from './store.js';
import {
  deleteSegments,
  GroupEncoder,
  LOG_ENTRY_META,
  LOG_ENTRY_PURGE,
  LOG_ENTRY_RECORD,
  replayLog,
  WriteAheadLog,
  type LogEntry,
  type LogSegment,
} from './write-ahead-log.js';

export type FsyncMode = 'always' | 'everysec' | 'no';

export interface LmdbStoreOptions {
  readonly dir: string;
  /**
   * always: a write resolves once its log group is fdatasync'ed (one sync serves every
   * write waiting for it).
   * everysec: the log is fdatasync'ed once a second when anything was appended.
   * no: never sync explicitly (the OS writes back); flush() and close() still sync.
   * Every mode survives kill -9 of the process: an appended group is in the OS page cache.
   * On power loss, everysec and no may lose recent writes, as Redis' everysec/no do.
   * LMDB itself syncs only before a log segment it covers is deleted (with always: every commit).
   */
  readonly fsync: FsyncMode;
  /** Initial LMDB map size; lmdb-js grows it as needed. Default: lmdb-js's own. */
  readonly mapSizeBytes?: number;
  /** A background step failed (log sync, LMDB apply, segment deletion); a failed apply also fails later writes. */
  readonly onSyncError?: (error: Error) => void;
  /** Log segment rotation size; default LOG_SEGMENT_BYTES_TARGET (tests use small ones). */
  readonly logSegmentBytesTarget?: number;
  /** Backpressure bound on unapplied records; default UNAPPLIED_RECORDS_MAX (tests use small ones). */
  readonly unappliedRecordsMax?: number;
  /** A log segment other than the last was damaged at open (data may be lost). Default: process.emitWarning. */
  readonly onLogDamage?: (message: string) => void;
}

/** File name inside the data directory; LMDB adds DATA_FILE_NAME + '-lock'. */
export const DATA_FILE_NAME = 'peerkv.mdb';
/**
 * Bounds on what is logged but not yet committed in LMDB (records and key + value bytes).
 * Above either, write() promises resolve only once LMDB has caught up below it, so a
 * writer faster than LMDB for long is slowed to LMDB's pace instead of growing memory
 * (the overlay and the apply queue) without bound. Short bursts never reach it.
 */
export const UNAPPLIED_RECORDS_MAX = 1_000_000;
export const UNAPPLIED_BYTES_MAX = 512 * 1024 * 1024;
/** Replay commits to LMDB after this many entries, so one transaction stays reasonable. */
const REPLAY_COMMIT_ENTRIES = 100_000;
const RECORDS_DB_NAME = 'records';
const META_DB_NAME = 'meta';

/** The newest uncommitted state of one key: a record, or null when purged. */
interface OverlayEntry {
  readonly mapKey: string;
  readonly bucket: number;
  readonly key: Uint8Array;
  readonly record: VersionedRecord | null;
  /** Its group is in the log: a later logged entry of the same key makes it skippable in LMDB. */
  logged: boolean;
}

interface MetaEntry {
  readonly name: string;
  readonly value: Uint8Array;
  logged: boolean;
}

/** One entry to put into LMDB once its group is logged. */
type ApplyOperation =
  | { readonly kind: typeof LOG_ENTRY_RECORD; readonly key: Buffer; readonly value: Buffer; readonly entry: OverlayEntry }
  | { readonly kind: typeof LOG_ENTRY_PURGE; readonly key: Buffer; readonly entry: OverlayEntry }
  | { readonly kind: typeof LOG_ENTRY_META; readonly value: Buffer; readonly entry: MetaEntry };

/** The writes of one event-loop turn: one log frame, one promise. */
interface LogGroup {
  readonly encoder: GroupEncoder;
  readonly operations: ApplyOperation[];
  bytes: number;
  segment: LogSegment | undefined;
  readonly done: Promise<void>;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
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

function bucketOfStoredKey(stored: Uint8Array): number {
  return (stored[0]! << 8) | stored[1]!;
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

function syncEnvironment(root: RootDatabase): Promise<void> {
  return new Promise((resolve, reject) => {
    (root as unknown as EnvironmentSync).sync((error) => (error ? reject(error) : resolve()));
  });
}

function newGroup(): LogGroup {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const done = new Promise<void>((resolveDone, rejectDone) => {
    resolve = resolveDone;
    reject = rejectDone;
  });
  done.catch(() => undefined); // callers see the rejection through their own promise
  return { encoder: new GroupEncoder(), operations: [], bytes: 0, segment: undefined, done, resolve, reject };
}

export class LmdbStore implements Store {
  private readonly overlay = new Map<string, OverlayEntry>();
  private readonly overlayMeta = new Map<string, MetaEntry>();
  private readonly log: WriteAheadLog;
  /** The group collecting this turn's writes; appended to the log at the end of the turn. */
  private openGroup: LogGroup | undefined;
  private lastGroupDone: Promise<void> = Promise.resolve();
  /** Logged groups not yet handed to LMDB, and whether an LMDB round is running. */
  private readonly applyQueue: LogGroup[] = [];
  private applying = false;
  /** Durable groups held back until LMDB catches up (see UNAPPLIED_RECORDS_MAX). */
  private readonly throttled: LogGroup[] = [];
  private unappliedRecords = 0;
  private unappliedBytes = 0;
  private idleWaiters: (() => void)[] = [];
  private failure: Error | undefined;
  private recordCount: number;
  /**
   * The stored key of the last get() that LMDB answered (the key was not pending) and
   * whether it was found. Writers usually read a key just before writing it (LWW merge),
   * so the count update of that write reuses this answer instead of a second B-tree
   * lookup. Any write clears it, so it can only describe the state LMDB still has.
   */
  private lastLookupKey: Buffer | undefined;
  private lastLookupFound = false;
  private corruptRecords = 0;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly root: RootDatabase,
    private readonly records: Database<Buffer, Buffer>,
    private readonly meta: Database<Buffer, string>,
    private readonly options: LmdbStoreOptions,
    firstLogSequence: number,
  ) {
    this.recordCount = (records.getStats() as { entryCount: number }).entryCount;
    this.log = new WriteAheadLog({
      dir: options.dir,
      fsync: options.fsync,
      firstSequence: firstLogSequence,
      ...(options.logSegmentBytesTarget !== undefined ? { segmentBytesTarget: options.logSegmentBytesTarget } : {}),
      syncStore: () => syncEnvironment(root),
      onError: (error) => options.onSyncError?.(error),
    });
  }

  get(key: Uint8Array): VersionedRecord | undefined {
    const storedKey = encodeStoredKey(key);
    if (this.overlay.size > 0) {
      const entry = this.overlay.get(storedKey.toString('latin1'));
      if (entry !== undefined) return entry.record ?? undefined;
    }
    // getBinaryFast fills a buffer lmdb-js reuses: decode (copying the value) before any other LMDB call.
    const bytes = this.records.getBinaryFast(storedKey);
    this.lastLookupKey = storedKey;
    this.lastLookupFound = bytes !== undefined;
    if (bytes === undefined) return undefined;
    const record = decodeRecordValueCopy(isLongKey(key) ? undefined : key, bytes);
    if (record === undefined) this.corruptRecords++;
    return record;
  }

  countRecords(): number {
    return this.recordCount;
  }

  /** Stored entries that failed to decode since open (read as absent); for metrics. */
  corruptRecordCount(): number {
    return this.corruptRecords;
  }

  /** Open write-ahead log segment files (for tests and metrics). */
  logSegmentCount(): number {
    return this.log.segmentCount();
  }

  write(batch: WriteBatch): Promise<void> {
    this.assertOpen();
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const group = this.currentGroup();
    for (const record of batch.records) {
      const storedKey = encodeStoredKey(record.key);
      const value = encodeRecordValue(record);
      const entry = this.setOverlay(storedKey, record.key, record);
      group.encoder.append(LOG_ENTRY_RECORD, storedKey, value);
      group.operations.push({ kind: LOG_ENTRY_RECORD, key: storedKey, value, entry });
      group.bytes += storedKey.length + value.length;
    }
    for (const key of batch.purgeKeys) {
      const storedKey = encodeStoredKey(key);
      const entry = this.setOverlay(storedKey, key, null);
      group.encoder.append(LOG_ENTRY_PURGE, storedKey, undefined);
      group.operations.push({ kind: LOG_ENTRY_PURGE, key: storedKey, entry });
      group.bytes += storedKey.length;
    }
    return group.done;
  }

  getMeta(name: string): Uint8Array | undefined {
    const pending = this.overlayMeta.get(name);
    if (pending !== undefined) return pending.value;
    const bytes = this.meta.getBinary(name);
    return bytes === undefined ? undefined : plainBytes(bytes);
  }

  putMeta(name: string, value: Uint8Array): Promise<void> {
    this.assertOpen();
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const entry: MetaEntry = { name, value: new Uint8Array(value), logged: false };
    this.overlayMeta.set(name, entry);
    const group = this.currentGroup();
    const bytes = Buffer.from(entry.value);
    group.encoder.append(LOG_ENTRY_META, Buffer.from(name, 'utf8'), bytes);
    group.operations.push({ kind: LOG_ENTRY_META, value: bytes, entry });
    group.bytes += name.length + bytes.length;
    return group.done;
  }

  async flush(): Promise<void> {
    await this.lastGroupDone;
    await this.log.whenSynced();
  }

  close(): Promise<void> {
    if (this.closing === undefined) this.closing = this.closeOnce();
    return this.closing;
  }

  scanBuckets(fromBucket: number, toBucketExclusive: number, limitRecords: number): ScanResult {
    assertBucketRange(fromBucket, toBucketExclusive, limitRecords);
    const records: VersionedRecord[] = [];
    if (fromBucket >= toBucketExclusive) return { records, nextBucket: KEY_BUCKET_COUNT };
    const overlay = this.overlayInRange(fromBucket, toBucketExclusive);
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

  /** Merge one bucket's stored records with its pending entries, in key order. */
  private appendBucket(output: VersionedRecord[], stored: VersionedRecord[], pending: OverlayEntry[]): void {
    let merged = stored;
    let needsSort = stored.some((record) => isLongKey(record.key));
    if (pending.length > 0) {
      const pendingKeys = new Set(pending.map((entry) => entry.mapKey));
      merged = stored.filter((record) => !pendingKeys.has(encodeStoredKey(record.key).toString('latin1')));
      for (const entry of pending) if (entry.record !== null) merged.push(entry.record);
      needsSort = true;
    }
    if (needsSort) merged.sort(compareRecordKeys);
    for (const record of merged) output.push(record);
  }

  /** Pending entries whose bucket is in range, by bucket (order within one does not matter). */
  private overlayInRange(fromBucket: number, toBucketExclusive: number): OverlayEntry[] {
    const entries: OverlayEntry[] = [];
    for (const entry of this.overlay.values()) {
      if (entry.bucket >= fromBucket && entry.bucket < toBucketExclusive) entries.push(entry);
    }
    return entries.sort((a, b) => a.bucket - b.bucket);
  }

  private setOverlay(storedKey: Buffer, key: Uint8Array, record: VersionedRecord | null): OverlayEntry {
    const mapKey = storedKey.toString('latin1');
    const before = this.overlay.get(mapKey);
    let existed: boolean;
    if (before !== undefined) existed = before.record !== null;
    else if (this.lastLookupKey !== undefined && this.lastLookupKey.equals(storedKey)) existed = this.lastLookupFound;
    else existed = this.records.doesExist(storedKey);
    this.lastLookupKey = undefined;
    if (existed && record === null) this.recordCount--;
    if (!existed && record !== null) this.recordCount++;
    const entry: OverlayEntry = { mapKey, bucket: bucketOfStoredKey(storedKey), key, record, logged: false };
    this.overlay.set(mapKey, entry);
    return entry;
  }

  private currentGroup(): LogGroup {
    if (this.openGroup !== undefined) return this.openGroup;
    const group = newGroup();
    this.openGroup = group;
    this.lastGroupDone = group.done;
    // The check phase runs after this turn's socket reads: one append serves all of them.
    setImmediate(() => this.appendGroup());
    return group;
  }

  /** Append the open group to the log, then acknowledge it (after fdatasync with always) and queue it for LMDB. */
  private appendGroup(): void {
    const group = this.openGroup;
    if (group === undefined) return;
    this.openGroup = undefined;
    if (this.failure !== undefined) return group.reject(this.failure);
    if (group.operations.length > 0) {
      try {
        group.segment = this.log.append(group.encoder.finish());
      } catch (error) {
        // A partly written frame would hide every later one at replay: stop accepting writes.
        this.fail(asError(error));
        return group.reject(asError(error));
      }
      for (const operation of group.operations) operation.entry.logged = true;
      this.unappliedRecords += group.operations.length;
      this.unappliedBytes += group.bytes;
      this.applyQueue.push(group);
      this.applyRound();
    }
    if (this.options.fsync !== 'always') return this.release(group);
    this.log.whenSynced().then(
      () => this.release(group),
      (error: unknown) => {
        this.fail(asError(error));
        group.reject(asError(error));
      },
    );
  }

  /** Acknowledge a durable group, unless LMDB is too far behind (then in order once it catches up). */
  private release(group: LogGroup): void {
    if (this.failure !== undefined) return group.reject(this.failure);
    if (this.throttled.length > 0 || this.overBound()) this.throttled.push(group);
    else group.resolve();
  }

  private overBound(): boolean {
    return this.unappliedRecords > (this.options.unappliedRecordsMax ?? UNAPPLIED_RECORDS_MAX) || this.unappliedBytes > UNAPPLIED_BYTES_MAX;
  }

  /**
   * Put every logged group not yet in LMDB into one LMDB transaction (lmdb-js commits the
   * puts of one turn together); the next round starts when it commits, so rounds grow
   * with the backlog and each commit's page rewrites are shared by more records.
   */
  private applyRound(): void {
    if (this.applying || this.applyQueue.length === 0 || this.failure !== undefined) return;
    this.applying = true;
    const groups = this.applyQueue.splice(0);
    let commit: Promise<boolean> | undefined;
    for (const group of groups) {
      for (const operation of group.operations) {
        if (operation.kind === LOG_ENTRY_META) {
          const current = this.overlayMeta.get(operation.entry.name);
          if (current !== operation.entry && current?.logged === true) continue; // a logged newer value replaces it
          commit = this.meta.put(operation.entry.name, operation.value);
          continue;
        }
        const current = this.overlay.get(operation.entry.mapKey);
        if (current !== operation.entry && current?.logged === true) continue;
        commit = operation.kind === LOG_ENTRY_RECORD ? this.records.put(operation.key, operation.value) : this.records.remove(operation.key);
      }
    }
    (commit ?? Promise.resolve(true)).then(
      () => this.applied(groups),
      (error: unknown) => this.fail(asError(error)),
    );
  }

  /** LMDB committed these groups: their entries leave the overlay unless overwritten since. */
  private applied(groups: LogGroup[]): void {
    for (const group of groups) {
      for (const operation of group.operations) {
        if (operation.kind === LOG_ENTRY_META) {
          if (this.overlayMeta.get(operation.entry.name) === operation.entry) this.overlayMeta.delete(operation.entry.name);
        } else if (this.overlay.get(operation.entry.mapKey) === operation.entry) this.overlay.delete(operation.entry.mapKey);
      }
      this.unappliedRecords -= group.operations.length;
      this.unappliedBytes -= group.bytes;
      this.log.markApplied(group.segment!);
    }
    this.applying = false;
    while (this.throttled.length > 0 && !this.overBound()) this.throttled.shift()!.resolve();
    this.applyRound();
    if (!this.applying) for (const waiter of this.idleWaiters.splice(0)) waiter();
  }

  /** A log append or LMDB apply failed: later writes reject (the log keeps what was acknowledged). */
  private fail(error: Error): void {
    if (this.failure !== undefined) return;
    this.failure = error;
    for (const group of this.throttled.splice(0)) group.reject(error);
    for (const waiter of this.idleWaiters.splice(0)) waiter();
    this.options.onSyncError?.(error);
  }

  private async closeOnce(): Promise<void> {
    try {
      this.appendGroup();
      await this.lastGroupDone.catch(() => undefined);
      if (this.applying && this.failure === undefined) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
      await this.log.close(this.failure === undefined);
    } finally {
      await this.root.close();
    }
    if (this.failure !== undefined) throw this.failure;
  }

  private assertOpen(): void {
    if (this.closing !== undefined) throw new Error('LmdbStore used after close()');
  }
}

/** Put a replayed group into LMDB; resolves at once unless REPLAY_COMMIT_ENTRIES are pending. */
function replayInto(records: Database<Buffer, Buffer>, meta: Database<Buffer, string>): (entries: LogEntry[]) => Promise<unknown> {
  let pendingEntries = 0;
  let commit: Promise<boolean> = Promise.resolve(true);
  const apply = (entries: LogEntry[]): Promise<unknown> => {
    for (const entry of entries) {
      if (entry.kind === LOG_ENTRY_RECORD) commit = records.put(entry.key, entry.value);
      else if (entry.kind === LOG_ENTRY_PURGE) commit = records.remove(entry.key);
      else commit = meta.put(entry.key.toString('utf8'), entry.value);
    }
    pendingEntries += entries.length;
    if (pendingEntries < REPLAY_COMMIT_ENTRIES) return Promise.resolve();
    pendingEntries = 0;
    return commit;
  };
  // An empty call flushes whatever is pending.
  return (entries) => (entries.length === 0 ? commit : apply(entries));
}

export async function openLmdbStore(options: LmdbStoreOptions): Promise<LmdbStore> {
  await prepareDataDir(options.dir);
  const path = join(options.dir, DATA_FILE_NAME);
  const root = open({
    path,
    maxDbs: 4,
    // The log makes writes durable; LMDB syncs before a segment is deleted. With always,
    // every commit flushes too (off the writer lock), so power loss cannot tear LMDB on
    // file systems that reorder writes.
    noSync: options.fsync !== 'always',
    overlappingSync: options.fsync === 'always',
    ...(options.mapSizeBytes !== undefined ? { mapSize: options.mapSizeBytes } : {}),
  });
  const records = root.openDB<Buffer, Buffer>({ name: RECORDS_DB_NAME, keyEncoding: 'binary', encoding: 'binary' });
  const meta = root.openDB<Buffer, string>({ name: META_DB_NAME, encoding: 'binary' });
  await chmod(path, DATA_FILE_MODE);
  await chmod(`${path}-lock`, DATA_FILE_MODE);
  const replay = replayInto(records, meta);
  const onDamage = options.onLogDamage ?? ((message: string) => process.emitWarning(message, 'PeerkvLogDamage'));
  const lastSequence = await replayLog(options.dir, (entries) => replay(entries).then(() => undefined), onDamage);
  if (lastSequence > 0) {
    await replay([]);
    await syncEnvironment(root);
    deleteSegments(options.dir);
  }
  return new LmdbStore(root, records, meta, options, lastSequence + 1);
}

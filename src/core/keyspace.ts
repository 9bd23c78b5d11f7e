// The node's stored rows as the core sees them: what each change does (stamp a local
// write, LWW-merge a remote row, apply a clear, expire, purge) and the Merkle tree and
// counts kept in step with every change. It reads the store and decides; the node core
// turns the decisions into persist effects. Rows are opaque LWW records here except for
// three kinds that act on others (rows.ts): a clear row removes the rows of its key
// stamped at or below it, the flush row does so for every key, and an expired header
// makes the rows of its key up to its expiry dead, removed only once nothing can undo
// that (expiry.ts says what an expiry means when headers race). It also keeps the live field count of
// every hash (derived, local, rebuilt by load(), never replicated): a hash exists while
// it has a live field, so HLEN, TYPE, EXISTS and DBSIZE never scan its fields.
import { bytesToMapKey, compareBytes, equalBytes, KEY_BUCKET_COUNT } from './bytes.js';
import type { CoreConfig } from './config.js';
import { compareHlc, nextHlc, type HlcClock } from './hlc.js';
import type { ClientWrite } from './io.js';
import type { MerkleTree } from './merkle.js';
import { compareVersions, isAbsent } from './record.js';
import { observedSlots, readSlotTotals } from './counters.js';
import { diesByExpiry, expiryClear, expiryFinal, expiryMarker, isExpired, isExpiredHeader, isExpiryMarker, tombstoneTimeMs } from './expiry.js';
import { clearRowKey, encodeHeader, FLUSH_ROW_KEY, fieldValueType, headerRowKey, headerType, KeyType, keyPrefix, plainStringValue, rowBucket, rowKindOf, RowKind, rowUserKey } from './rows.js';
import { RowWrites, type Changes } from './row-writes.js';
import { ScoreIndexes } from './score-indexes.js';
import { SlotKeyFilter } from './slot-filter.js';
import { StepView } from './step-view.js';
import { hasPrefix, type StoreView } from './store-view.js';
import type { TombstoneTracker } from './tombstones.js';
import type { Hlc, NodeId, VersionedRecord } from './types.js';

export type { Changes } from './row-writes.js';

/** What a merge did: the rows that won, and the tombstones refused because this node purged them. */
export interface MergeResult extends Changes {
  readonly refusedPurged: VersionedRecord[];
}

/** Records per page when the whole keyspace or one key is read (tree load, resync, clears). */
const SCAN_PAGE_RECORDS = 4096;
const FLUSH_KIND = -2;
const NO_PURGES: Uint8Array[] = [];
const EMPTY_BYTES = new Uint8Array(0);
/** Client writes of at most this many rows may take stamp's plain path (its duplicate check is quadratic). */
const PLAIN_STAMP_ROWS_MAX = 8;
/** Lists whose tombstone-only ends are remembered (the oldest remembered is forgotten first). */
const LIST_ENDS_MAX = 10_000;

/** A clear being carried out over its key's rows (prefix), up to and including `after` so far (undefined: none yet). */
interface PendingClear {
  readonly clear: VersionedRecord;
  readonly prefix: Uint8Array;
  after: Uint8Array | undefined;
}

/** Whether the sweep may act on a row (sweepSlice): a tombstone of any kind, or a row with an expiry. */
function sweepActsOn(record: VersionedRecord): boolean {
  return record.value === null || record.expiresAtMs !== 0;
}

/** The kind of a record's key, FLUSH_KIND for the flush row, -1 for anything else. */
function kindOf(key: Uint8Array): number {
  const kind = rowKindOf(key);
  if (kind >= 0) return kind;
  return equalBytes(key, FLUSH_ROW_KEY) ? FLUSH_KIND : -1;
}

/** True if row's version is at or below the clear's: (hlc, origin) order, as LWW. */
function notAfter(row: VersionedRecord, clear: { readonly hlc: Hlc; readonly origin: NodeId }): boolean {
  const byClock = compareHlc(row.hlc, clear.hlc);
  return byClock < 0 || (byClock === 0 && row.origin <= clear.origin);
}

export { expiryClear } from './expiry.js';

const NO_ORIGIN: NodeId = '00000000000000000000000000000000';
const HEADERLESS_VALUES = new Map<number, Uint8Array>([KeyType.Hash, KeyType.Set, KeyType.ZSet, KeyType.List].map((type) => [type, encodeHeader({ type: type as KeyType, base: undefined })]));

/** The type a key's live element row implies when its header is gone: list items make a list, fields as rows.ts fieldValueType says. */
function typeOfElement(element: VersionedRecord): number {
  if (rowKindOf(element.key) === RowKind.Item) return KeyType.List;
  return element.value === null ? KeyType.Hash : fieldValueType(element.value);
}

/**
 * The header a collection reads with when its elements outlived its header row: a clear
 * (the last element removed, DEL) removed the header while an element written later
 * elsewhere survived it. Such a key has the type its elements imply (typeOfElement) and no
 * expiry; the oldest possible version, so any real header written for it wins.
 */
export function headerlessHeader(userKey: Uint8Array, element: VersionedRecord): VersionedRecord {
  return { key: headerRowKey(userKey), value: HEADERLESS_VALUES.get(typeOfElement(element))!, hlc: { wallMs: 0, logical: 0 }, origin: NO_ORIGIN, expiresAtMs: 0 };
}

/** True for a header headerlessHeader made (no stored header row stands behind it). */
export function isHeaderless(header: VersionedRecord): boolean {
  return header.origin === NO_ORIGIN && header.hlc.wallMs === 0 && header.hlc.logical === 0;
}

/**
 * True for a live (non-tombstone) header of a collection (hash, set, sorted set, list):
 * such a key exists while it has an element, and counts by its elements, not its header.
 */
function isCollectionHeader(record: VersionedRecord): boolean {
  return record.value !== null && headerType(record.value) !== KeyType.String;
}

/**
 * True if a remote header meets a live local header of another type: two nodes created the
 * key as different types concurrently (DESIGN.md 6; the higher stamp wins everywhere).
 */
function isTypeConflict(incoming: VersionedRecord, local: VersionedRecord | undefined, nowMs: number): boolean {
  if (incoming.value === null || local === undefined || local.value === null) return false;
  if (isExpiredHeader(local, RowKind.Header, nowMs)) return false;
  return headerType(incoming.value) !== headerType(local.value);
}

/**
 * What is known of a list's ends (Keyspace.listEnds): every Item row at or before `head`
 * (at or after `tail`) is a tombstone or gone; `headNext` (`tailNext`) are the rows that
 * followed it (preceded it, nearest first) when a read saw them, with no live item
 * between them or before the first: each may have died since, none can have come alive.
 */
export interface ListEnds {
  head?: Uint8Array;
  tail?: Uint8Array;
  headNext?: readonly Uint8Array[];
  tailNext?: readonly Uint8Array[];
}

export class Keyspace {
  /**
   * Live keys (expired but unswept included): keys with a live header of a type other
   * than hash, plus keys with a live field (a hash exists while it has one). Keys with
   * an expiry: live headers with one.
   */
  liveKeys = 0;
  keysWithExpiry = 0;
  /**
   * Per list (user key, bytesToMapKey), how far its ends are known to hold no live item:
   * every Item row at or before `head` (at or after `tail`) is a tombstone or gone. LPOP
   * and RPOP leave tombstones at the ends for the tombstone grace; a read starts past
   * them instead of walking them all (setListEnds). A live item written inside a known
   * end (any origin, any path: track) forgets that end.
   */
  private readonly knownListEnds = new Map<string, ListEnds>();
  /** Live field rows per user key (bytesToMapKey), for keys that have at least one. */
  private readonly fieldCounts = new Map<string, number>();
  /**
   * Expiry markers (expiry.ts) per bucket, and the field rows each marked key still holds
   * (keys with at least one): they count again if a newer header replaces the marker.
   */
  private readonly markerRows = new Uint32Array(KEY_BUCKET_COUNT);
  private readonly expiredFieldCounts = new Map<string, number>();
  /** Clear rows per bucket: reads and merges skip their lookups where there are none. */
  private readonly clearRows = new Uint32Array(KEY_BUCKET_COUNT);
  /**
   * Rows per bucket, of every kind, tombstones too: a merge reads no row of a bucket whose
   * rows are all ones it wrote itself (a new node catching up fills empty buckets).
   */
  private readonly bucketRows = new Uint32Array(KEY_BUCKET_COUNT);
  /**
   * Rows per bucket the sweep may act on (sweepSlice): tombstones of every kind and rows
   * with an expiry. Buckets without any are skipped, and with none anywhere (no TTL, no
   * delete: most caches and counters) the sweep reads nothing at all.
   */
  private readonly sweepRows = new Uint32Array(KEY_BUCKET_COUNT);
  private sweepRowsTotal = 0;
  /** Which keys may have slot rows: their reads are skipped for keys that have none. */
  private readonly slotKeys = new SlotKeyFilter();
  /** The stored flush row (FLUSHALL): every row at or below it is dead. */
  private flush: VersionedRecord | undefined;
  /** Where the next sweep slice starts: after row sweepAfter of sweepBucket (undefined: the bucket's start). */
  private sweepBucket = 0;
  private sweepAfter: Uint8Array | undefined;
  /** Every read of the store, with this step's changes on top (step-view.ts). */
  private readonly view: StepView;
  private loading = false;
  /** The score index of every sorted set (score-indexes.ts), kept in step by track(). */
  readonly scoreIndexes: ScoreIndexes;
  /**
   * Clears whose remaining rows are dead tombstones, removed a slice per step
   * (purgeClearedSlice) instead of stalling the step that cleared; oldest first. Lost at
   * restart, and found again by load().
   */
  private readonly pendingClears: PendingClear[] = [];
  /** This step's clears that have rows left after their first config.clearRowsPerStep (changesOf decides). */
  private readonly stepClears: PendingClear[] = [];

  constructor(
    private readonly storage: StoreView,
    readonly tree: MerkleTree,
    private readonly tombstones: TombstoneTracker,
    private readonly config: CoreConfig,
    /** The node core's counters: this module adds to the merge, sweep and purge ones. */
    private readonly counters: Record<string, number>,
  ) {
    this.view = new StepView(storage);
    this.scoreIndexes = new ScoreIndexes(this.view, (userKey) => this.mayHaveSlots(userKey));
  }

  /** Build the tree and counts from what is stored (at start); the newest stamp stored. */
  load(): Hlc {
    this.loading = true;
    let newest: Hlc = { wallMs: 0, logical: 0 };
    // A key's clear row sorts before its other rows: rows at or below it that are still
    // stored are a deferred clear a stop interrupted (purgeClearedSlice); they go again.
    let clear: VersionedRecord | undefined;
    let clearPrefix: Uint8Array | undefined;
    let resumed = false;
    this.forEachPage((records) => {
      for (const record of records) {
        this.track(undefined, record);
        if (compareHlc(record.hlc, newest) > 0) newest = record.hlc;
        const kind = kindOf(record.key);
        if (kind === RowKind.Clear) {
          clear = record;
          clearPrefix = keyPrefix(rowUserKey(record.key)!);
          resumed = false;
        } else if (clear !== undefined && !resumed && kind >= 0 && hasPrefix(record.key, clearPrefix!) && notAfter(record, clear)) {
          this.pendingClears.push({ clear, prefix: clearPrefix!, after: undefined });
          resumed = true;
        }
      }
    });
    this.loading = false;
    return newest;
  }

  /** A new step: the store holds every change made before it (the runtime applied their persist effects). */
  settle(): void {
    this.view.settle();
  }

  /**
   * Every stored record, SCAN_PAGE_RECORDS at a time in (bucket, key) order: pages stop
   * inside a bucket, so a key of a million rows never sits in memory whole.
   */
  private forEachPage(visit: (records: VersionedRecord[]) => void): void {
    let bucket = 0;
    let after: Uint8Array | undefined;
    while (bucket < KEY_BUCKET_COUNT) {
      const page = this.view.scanFrom(bucket, after, SCAN_PAGE_RECORDS);
      visit(page.records);
      bucket = page.nextBucket;
      after = page.nextAfter;
    }
  }

  /** How far the list's ends are known to hold no live item (row keys), if known. */
  listEnds(userKey: Uint8Array): Readonly<ListEnds> | undefined {
    return this.knownListEnds.get(bytesToMapKey(userKey));
  }

  /**
   * A read of the list found only tombstones up to `head` (from `tail` on). The caller read
   * the rows as this keyspace has them now (not a transaction's private view).
   */
  setListEnds(userKey: Uint8Array, ends: Readonly<ListEnds>): void {
    const mapKey = bytesToMapKey(userKey);
    const known = this.knownListEnds.get(mapKey) ?? {};
    // A new end drops the rows known to follow the old one unless given again. The row keys
    // are copied: read from a store they may be views into a buffer shared with many other
    // rows (the LMDB store's slab), which an entry kept for long would hold in memory.
    if (ends.head !== undefined) known.head = new Uint8Array(ends.head);
    if (ends.head !== undefined || ends.headNext !== undefined) known.headNext = ends.headNext?.map((row) => new Uint8Array(row));
    if (ends.tail !== undefined) known.tail = new Uint8Array(ends.tail);
    if (ends.tail !== undefined || ends.tailNext !== undefined) known.tailNext = ends.tailNext?.map((row) => new Uint8Array(row));
    this.knownListEnds.delete(mapKey); // re-inserted last: the map drops its oldest entries first
    this.knownListEnds.set(mapKey, known);
    if (this.knownListEnds.size > LIST_ENDS_MAX) this.knownListEnds.delete(this.knownListEnds.keys().next().value!);
  }

  /** A live item row: what is known of its list's ends that it lies inside (or between the known next rows of) is no longer true. */
  private forgetListEnds(row: Uint8Array): void {
    const mapKey = bytesToMapKey(rowUserKey(row)!);
    const known = this.knownListEnds.get(mapKey);
    if (known === undefined) return;
    if (known.head !== undefined && compareBytes(row, known.head) <= 0) known.head = undefined;
    if (known.headNext !== undefined && compareBytes(row, known.headNext[known.headNext.length - 1]!) <= 0) known.headNext = undefined;
    if (known.tail !== undefined && compareBytes(row, known.tail) >= 0) known.tail = undefined;
    if (known.tailNext !== undefined && compareBytes(row, known.tailNext[known.tailNext.length - 1]!) >= 0) known.tailNext = undefined;
    if (known.head === undefined && known.tail === undefined && known.headNext === undefined && known.tailNext === undefined) this.knownListEnds.delete(mapKey);
  }

  /**
   * An item row died (a pop's tombstone, any origin): where it is the first row known to
   * follow a known end, that end now reaches it, so the next pop does not read it again.
   */
  private advanceListEnds(row: Uint8Array): void {
    const known = this.knownListEnds.get(bytesToMapKey(rowUserKey(row)!));
    if (known === undefined) return;
    if (known.headNext !== undefined && known.headNext.length > 0 && compareBytes(row, known.headNext[0]!) === 0) {
      known.head = known.headNext[0];
      known.headNext = known.headNext.length > 1 ? known.headNext.slice(1) : undefined;
    }
    if (known.tailNext !== undefined && known.tailNext.length > 0 && compareBytes(row, known.tailNext[0]!) === 0) {
      known.tail = known.tailNext[0];
      known.tailNext = known.tailNext.length > 1 ? known.tailNext.slice(1) : undefined;
    }
  }

  /** At least as many as the user key's slot rows (0: it has none). */
  slotRowsAtMost(userKey: Uint8Array): number {
    return this.slotKeys.rowsAtMost(userKey);
  }

  /** Whether a user key may have counter slots (false: it has none). */
  mayHaveSlots(userKey: Uint8Array): boolean {
    return this.slotKeys.mayHave(userKey);
  }

  /**
   * Keep the Merkle tree and counts in step with one stored change of one row (mapKey:
   * bytesToMapKey of its key, bucket: rowBucket of it, each if the caller has it).
   */
  track(before: VersionedRecord | undefined, after: VersionedRecord | undefined, mapKey?: string, bucket = rowBucket((after ?? before)!.key)): void {
    const key = (after ?? before)!.key;
    if (!this.loading) this.view.note(key, after, mapKey);
    this.tree.update(key, before, after, bucket);
    const stored = (after === undefined ? 0 : 1) - (before === undefined ? 0 : 1);
    if (stored !== 0) this.bucketRows[bucket] = this.bucketRows[bucket]! + stored;
    const sweepable = (after !== undefined && sweepActsOn(after) ? 1 : 0) - (before !== undefined && sweepActsOn(before) ? 1 : 0);
    if (sweepable !== 0) {
      this.sweepRows[bucket] = this.sweepRows[bucket]! + sweepable;
      this.sweepRowsTotal += sweepable;
    }
    const kind = kindOf(key);
    if (kind === RowKind.Header) {
      if (before !== undefined && before.value !== null) {
        if (!isCollectionHeader(before)) this.liveKeys--;
        if (before.expiresAtMs !== 0) this.keysWithExpiry--;
      }
      if (after !== undefined && after.value !== null) {
        if (!isCollectionHeader(after)) this.liveKeys++;
        if (after.expiresAtMs !== 0) this.keysWithExpiry++;
      }
      this.scoreIndexes.track(kind, key, before, after, this.loading);
      const wasMarker = before !== undefined && isExpiryMarker(before, kind);
      if (wasMarker !== (after !== undefined && isExpiryMarker(after, kind))) this.markExpired(key, !wasMarker);
    } else if (kind === RowKind.Field || kind === RowKind.Item) {
      const wasLive = before !== undefined && before.value !== null;
      const isLive = after !== undefined && after.value !== null;
      if (wasLive !== isLive) this.countField(key, isLive ? 1 : -1);
      if (kind === RowKind.Item && this.knownListEnds.size > 0) {
        if (isLive) this.forgetListEnds(key);
        else if (wasLive) this.advanceListEnds(key);
      }
      if (kind === RowKind.Field) this.scoreIndexes.track(kind, key, before, after, this.loading);
    } else if (kind === RowKind.Clear) {
      this.clearRows[bucket] = this.clearRows[bucket]! + (after === undefined ? 0 : 1) - (before === undefined ? 0 : 1);
    } else if (kind === RowKind.Slot) {
      this.slotKeys.change(key, (after === undefined ? 0 : 1) - (before === undefined ? 0 : 1));
      this.scoreIndexes.track(kind, key, before, after, this.loading);
    } else if (kind === FLUSH_KIND) {
      if (after !== undefined && (this.flush === undefined || compareVersions(after, this.flush) > 0)) this.flush = after;
    }
  }

  /** A key's header became its expiry marker (`expired`) or stopped being one: its field rows stop or start counting. */
  private markExpired(header: Uint8Array, expired: boolean): void {
    const bucket = rowBucket(header);
    this.markerRows[bucket] = this.markerRows[bucket]! + (expired ? 1 : -1);
    const mapKey = bytesToMapKey(rowUserKey(header)!);
    const [from, to] = expired ? [this.fieldCounts, this.expiredFieldCounts] : [this.expiredFieldCounts, this.fieldCounts];
    const count = from.get(mapKey);
    if (count === undefined) return;
    from.delete(mapKey);
    to.set(mapKey, count);
    this.liveKeys += expired ? -1 : 1;
  }

  /** True if the key's header is its expiry marker (checked only in buckets that have one). */
  private isMarked(row: Uint8Array): boolean {
    if (this.markerRows[rowBucket(row)] === 0) return false;
    const header = this.view.get(headerRowKey(rowUserKey(row)!));
    return header !== undefined && isExpiryMarker(header, RowKind.Header);
  }

  private countField(row: Uint8Array, delta: 1 | -1): void {
    const mapKey = bytesToMapKey(rowUserKey(row)!);
    // A key counted live is not marked, one counted expired is; only others need the header.
    if (!this.fieldCounts.has(mapKey) && (this.expiredFieldCounts.has(mapKey) || this.isMarked(row))) {
      const expired = (this.expiredFieldCounts.get(mapKey) ?? 0) + delta;
      if (expired < 0) throw new Error('expired field count below zero');
      if (expired === 0) this.expiredFieldCounts.delete(mapKey);
      else this.expiredFieldCounts.set(mapKey, expired);
      return;
    }
    const count = (this.fieldCounts.get(mapKey) ?? 0) + delta;
    if (count < 0) throw new Error('field count below zero');
    if (count === 0) {
      this.fieldCounts.delete(mapKey);
      this.liveKeys--;
    } else {
      this.fieldCounts.set(mapKey, count);
      if (count === 1 && delta === 1) this.liveKeys++;
    }
  }

  /** Live field rows of a user key (0 for a key that is not a hash). O(1). */
  fieldCount(userKey: Uint8Array): number {
    if (this.fieldCounts.size === 0) return 0;
    return this.fieldCounts.get(bytesToMapKey(userKey)) ?? 0;
  }

  /**
   * The live keys among whole buckets of rows (a scanBuckets page), each with the header
   * it reads with: live headers, except hashes without a live field, and hashes whose
   * elements outlived their header (headerlessHeader).
   */
  liveKeysOf(records: readonly VersionedRecord[], nowMs: number): { keys: Uint8Array[]; headers: VersionedRecord[] } {
    const keys: Uint8Array[] = [];
    const headers: VersionedRecord[] = [];
    // A key's rows are contiguous and its header sorts before its fields.
    let decided: Uint8Array | undefined;
    for (const record of records) {
      const kind = rowKindOf(record.key);
      if (isExpiryMarker(record, kind)) {
        decided = rowUserKey(record.key)!; // an expired key: its rows are dead
        continue;
      }
      if ((kind !== RowKind.Header && kind !== RowKind.Field && kind !== RowKind.Item) || record.value === null) continue;
      const userKey = rowUserKey(record.key)!;
      if (decided !== undefined && equalBytes(decided, userKey)) continue;
      decided = userKey;
      if (kind === RowKind.Header) {
        if (isAbsent(record, nowMs) || (isCollectionHeader(record) && this.fieldCount(userKey) === 0)) continue;
        keys.push(userKey);
        headers.push(record);
      } else {
        keys.push(userKey);
        headers.push(headerlessHeader(userKey, record));
      }
    }
    return { keys, headers };
  }

  /** Client writes stamped by our clock: always the newest version of their rows. */
  stamp(writes: readonly ClientWrite[], clock: HlcClock, origin: NodeId, nowMs: number): Changes {
    this.counters.client_writes! += writes.length;
    if (writes.length <= PLAIN_STAMP_ROWS_MAX) {
      const plain = this.stampPlain(writes, clock, origin, nowMs);
      if (plain !== undefined) return plain;
    }
    const rows = new RowWrites(this.view);
    for (const write of writes) {
      const kind = kindOf(write.key);
      if (kind === RowKind.Header) {
        // A key created where an expired one is (swept or not): its rows go first, by the
        // same clear every node derives from that expiry (so concurrent creations agree).
        let current = rows.get(write.key);
        if (current !== undefined && isExpired(current, kind, nowMs)) {
          this.storeClearIfNewer(rows, expiryClear(current));
          current = rows.get(write.key);
        }
        if (write.replacesKey === true) {
          this.replaceKey(rows, write, current, clock, origin, nowMs);
        } else {
          const record: VersionedRecord = { key: write.key, value: write.value, hlc: nextHlc(clock, nowMs), origin, expiresAtMs: write.expiresAtMs };
          this.store(rows, record, kind, current);
        }
        continue;
      }
      const record: VersionedRecord = { key: write.key, value: write.value, hlc: nextHlc(clock, nowMs), origin, expiresAtMs: write.expiresAtMs };
      this.store(rows, record, kind, rows.get(record.key));
    }
    return this.changesOf(rows);
  }

  /**
   * The hot path of stamp: a few rows of distinct keys (SET; INCR of a new counter; a member
   * or list element with its header), none of which acts on another (no clear, no expired
   * header, no replace that clears or observes). Each row's current version is read before
   * any is written, which is what the general path would read too since none acts on
   * another. Undefined when the writes need the general path.
   */
  private stampPlain(writes: readonly ClientWrite[], clock: HlcClock, origin: NodeId, nowMs: number): Changes | undefined {
    const previous: (VersionedRecord | undefined)[] = [];
    for (let index = 0; index < writes.length; index++) {
      const write = writes[index]!;
      const kind = kindOf(write.key);
      if (kind === RowKind.Clear || kind === FLUSH_KIND) return undefined;
      for (let earlier = 0; earlier < index; earlier++) if (equalBytes(writes[earlier]!.key, write.key)) return undefined;
      const before = this.view.get(write.key);
      if ((before !== undefined && isExpired(before, kind, nowMs)) || this.replaceActs(write, before)) return undefined;
      previous.push(before);
    }
    const records: VersionedRecord[] = [];
    for (let index = 0; index < writes.length; index++) {
      const write = writes[index]!;
      const record: VersionedRecord = { key: write.key, value: write.value, hlc: nextHlc(clock, nowMs), origin, expiresAtMs: write.expiresAtMs };
      this.track(previous[index], record);
      records.push(record);
    }
    return { records, previous, purgeKeys: NO_PURGES };
  }

  /** Whether a replacing header write must do more than write itself (another type, or counter slots). */
  private replaceActs(write: ClientWrite, before: VersionedRecord | undefined): boolean {
    if (write.replacesKey !== true) return false;
    if (this.slotKeys.mayHaveRow(write.key)) return true;
    return before !== undefined && before.value !== null && headerType(before.value) !== KeyType.String;
  }

  /** SET semantics (ClientWrite.replacesKey): clear another type first, observe counter slots. */
  private replaceKey(rows: RowWrites, write: ClientWrite, current: VersionedRecord | undefined, clock: HlcClock, origin: NodeId, nowMs: number): void {
    const userKey = rowUserKey(write.key)!;
    let header = current;
    if (current !== undefined && current.value !== null && headerType(current.value) !== KeyType.String) {
      const clear: VersionedRecord = { key: clearRowKey(userKey), value: null, hlc: nextHlc(clock, nowMs), origin, expiresAtMs: 0 };
      this.store(rows, clear, RowKind.Clear, rows.get(clear.key));
      header = rows.get(write.key); // the clear may have removed it
    }
    let value = write.value;
    const plain = value === null ? undefined : plainStringValue(value);
    if (plain !== undefined && this.slotKeys.mayHave(userKey)) {
      const observed = observedSlots(readSlotTotals(this.view, userKey, EMPTY_BYTES));
      if (observed.size > 0) value = encodeHeader({ type: KeyType.String, base: { bytes: plain, observed } });
    }
    this.store(rows, { key: write.key, value, hlc: nextHlc(clock, nowMs), origin, expiresAtMs: write.expiresAtMs }, RowKind.Header, header);
  }

  /** Store the clear a new incarnation of an expired key starts with, unless a newer clear is there already. */
  private storeClearIfNewer(rows: RowWrites, clear: VersionedRecord): void {
    const local = rows.get(clear.key);
    if (local === undefined || compareVersions(clear, local) > 0) this.store(rows, clear, RowKind.Clear, local);
    else this.applyClear(rows, local);
  }

  /** Store a winning row and carry out what its kind does to other rows (`before`: its row now, as the caller just read it; mapKey, bucket: as for track). */
  private store(rows: RowWrites, record: VersionedRecord, kind: number, before: VersionedRecord | undefined, mapKey?: string, bucket?: number): void {
    rows.put(record, before, mapKey);
    this.track(before, record, mapKey, bucket);
    if (kind === RowKind.Clear) this.applyClear(rows, record);
    else if (kind === FLUSH_KIND) this.applyFlush(rows, record);
  }

  /**
   * Remove the rows of the clear's key stamped at or below it: stored ones, and ones this
   * step wrote before it (a MULTI/EXEC that sets a key and then deletes it), which the step
   * view (step-view.ts) shows with the stored ones. A key with no live element row left (a
   * drained list: its pops left a tombstone each) loses its header and first rows now and
   * the remaining tombstones in later steps: they read as absent either way, and removing a
   * hundred thousand of them at once stalled every client for a second.
   */
  private applyClear(rows: RowWrites, clear: VersionedRecord): void {
    const pending: PendingClear = { clear, prefix: keyPrefix(rowUserKey(clear.key)!), after: undefined };
    // The rest waits for the end of the step (changesOf): a pop's tombstones come after its clear.
    if (!this.clearPage(rows, pending, this.config.clearRowsPerStep)) this.stepClears.push(pending);
  }

  /** Remove the next rows (up to limit) of a clear's key that it covers; true when none are left. */
  private clearPage(rows: RowWrites, pending: PendingClear, limit: number): boolean {
    const page = this.view.scanRows(pending.prefix, pending.after, limit);
    for (const stored of page.records) this.removeIfCleared(rows, stored, pending.clear);
    if (page.done || page.records.length === 0) return true;
    pending.after = page.records[page.records.length - 1]!.key;
    return false;
  }

  /**
   * This step's net changes, once its clears are carried out: a clear whose key has no live
   * element row left (only tombstones remain at or below it) leaves them for later steps
   * (pendingClears); any other finishes now.
   */
  private changesOf(rows: RowWrites): Changes {
    for (const pending of this.stepClears) {
      const userKey = rowUserKey(pending.clear.key)!;
      if (this.fieldCount(userKey) === 0 && !this.expiredFieldCounts.has(bytesToMapKey(userKey)) && !this.slotKeys.mayHave(userKey)) {
        this.pendingClears.push(pending);
        this.counters.clears_deferred!++;
      } else {
        while (!this.clearPage(rows, pending, SCAN_PAGE_RECORDS));
      }
    }
    this.stepClears.length = 0;
    return rows.changes();
  }

  /** Clears waiting for purgeClearedSlice (a step that adds one makes the node wake to continue it). */
  get pendingClearCount(): number {
    return this.pendingClears.length;
  }

  /**
   * The next slice of the oldest deferred clear: up to config.clearRowsPerStep of its key's rows,
   * those at or below it removed (only tombstones are left there: applyClear; a row written
   * since is newer and stays).
   */
  purgeClearedSlice(): Changes {
    const rows = new RowWrites(this.view);
    const pending = this.pendingClears[0];
    if (pending !== undefined && this.clearPage(rows, pending, this.config.clearRowsPerStep)) this.pendingClears.shift();
    return rows.changes();
  }

  /** Remove every row of every key at or below the flush row (FLUSHALL), stored or written earlier in this step. */
  private applyFlush(rows: RowWrites, flush: VersionedRecord): void {
    this.forEachPage((records) => {
      for (const stored of records) if (kindOf(stored.key) >= 0) this.removeIfCleared(rows, stored, flush);
    });
  }

  /** `stored`: the row as a scan of the step view returned it. */
  private removeIfCleared(rows: RowWrites, stored: VersionedRecord, clear: VersionedRecord): void {
    if (equalBytes(stored.key, clear.key)) return;
    const mapKey = bytesToMapKey(stored.key);
    const current = rows.current(stored, mapKey);
    if (current === undefined || !notAfter(current, clear)) return;
    rows.remove(current, mapKey);
    this.track(current, undefined, mapKey);
    this.counters.rows_cleared!++;
  }

  /** The clear row governing a row's key (in `bucket`), if any (pending changes first). */
  private clearOf(rows: RowWrites, key: Uint8Array, bucket: number): VersionedRecord | undefined {
    if (this.clearRows[bucket] === 0) return undefined;
    const userKey = rowUserKey(key);
    return userKey === undefined ? undefined : rows.get(clearRowKey(userKey));
  }

  /** True if a row (of `bucket`) is dead on arrival: at or below its key's clear or the flush, or a final expiry (expiry.ts). */
  private cleared(rows: RowWrites, record: VersionedRecord, kind: number, bucket: number, graceStartMs: number): boolean {
    // Only user rows die by the flush (not the flush row, nor the functions row: rows.ts).
    if (this.flush !== undefined && kind >= 0 && notAfter(record, this.flush)) return true;
    if (kind === RowKind.Clear || kind === FLUSH_KIND) return false;
    const clear = this.clearOf(rows, record.key, bucket);
    if (clear !== undefined && notAfter(record, clear)) return true;
    // Only a row older than the grace can be at or below a final expiry.
    return kind !== RowKind.Header && record.hlc.wallMs < graceStartMs && this.markerRows[bucket]! > 0 && this.finallyExpired(rows, record, graceStartMs);
  }

  /** True if the row's key is marked expired, finally (nothing can undo it), at or after the row. */
  private finallyExpired(rows: RowWrites, record: VersionedRecord, graceStartMs: number): boolean {
    const userKey = rowUserKey(record.key);
    const header = userKey === undefined ? undefined : rows.get(headerRowKey(userKey));
    return header !== undefined && isExpiryMarker(header, RowKind.Header) && expiryFinal(header, graceStartMs) && diesByExpiry(record, header);
  }

  /**
   * LWW-merge remote rows into local state: the ones that won, once per row. Clears go
   * first, so a batch's rows meet the clears of the same batch whatever their order.
   */
  merge(records: readonly VersionedRecord[], nowMs: number): MergeResult {
    const refusedPurged: VersionedRecord[] = [];
    const rows = new RowWrites(this.view);
    const graceStartMs = nowMs - this.config.tombstoneGraceMs;
    const later: VersionedRecord[] = [];
    // Rows this merge added (none stored before), by bucket. With no clear or flush in the
    // batch nothing is removed, so while they are all of a bucket's rows the bucket held
    // none before: a row of it that `rows` does not hold is absent, with no read.
    const added = new Map<number, number>();
    let onlyAdds = false;
    for (let pass = 0; pass < 2; pass++) {
      if (pass === 1) onlyAdds = later.length === records.length;
      for (const incoming of pass === 0 ? records : later) {
        const kind = kindOf(incoming.key);
        // An expired header is stored as the marker the sweep would make of it (same version).
        const record = isExpiredHeader(incoming, kind, nowMs) ? expiryMarker(incoming) : incoming;
        const actsOnOthers = kind === RowKind.Clear || kind === FLUSH_KIND;
        if (pass === 0 && !actsOnOthers) {
          later.push(record);
          continue;
        }
        // An expiry marker is kept one grace longer than other tombstones (expiry.ts).
        if (record.value === null && tombstoneTimeMs(record) < (isExpiryMarker(record, kind) ? graceStartMs - this.config.tombstoneGraceMs : graceStartMs)) {
          // Everyone purged this tombstone already; storing it again would only resurrect work.
          this.counters.old_tombstones_refused!++;
          continue;
        }
        // One map key per row for every lookup and note of this merge.
        const mapKey = bytesToMapKey(record.key);
        if (this.tombstones.wasPurged(record, nowMs, mapKey)) {
          this.counters.purged_tombstones_refused!++;
          if (record.value === null) refusedPurged.push(record);
          continue;
        }
        const bucket = rowBucket(record.key);
        const addedToBucket = added.get(bucket) ?? 0;
        const local = onlyAdds && this.bucketRows[bucket] === addedToBucket ? rows.written(mapKey) : rows.get(record.key, mapKey);
        const cleared = this.cleared(rows, record, kind, bucket, graceStartMs);
        if (!cleared && kind === RowKind.Header && isTypeConflict(record, local, nowMs)) this.counters.type_conflicts!++;
        if ((local !== undefined && compareVersions(record, local) <= 0) || cleared) {
          this.counters.records_stale_in!++;
          continue;
        }
        if (local === undefined) added.set(bucket, addedToBucket + 1);
        this.store(rows, record, kind, local, mapKey, bucket);
      }
    }
    const changes = this.changesOf(rows);
    this.counters.records_merged_in! += changes.records.length;
    return { ...changes, refusedPurged };
  }

  /** Forget every record older than horizonMs (resync), one page at a time: each page's keys go to onPage. */
  dropOlderThan(horizonMs: number, onPage: (keys: Uint8Array[]) => void): number {
    let dropped = 0;
    this.forEachPage((records) => {
      const stale = records.filter((record) => record.hlc.wallMs < horizonMs);
      for (const record of stale) this.track(record, undefined);
      if (stale.length > 0) onPage(stale.map((record) => record.key));
      dropped += stale.length;
    });
    return dropped;
  }

  /** Of these tombstone versions, the ones that are still the stored version: no longer tracked. */
  takeExactTombstones(records: readonly VersionedRecord[]): VersionedRecord[] {
    const purged: VersionedRecord[] = [];
    for (const record of records) {
      const local = this.view.get(record.key);
      if (record.value !== null || local === undefined || local.value !== null || compareVersions(local, record) !== 0) continue;
      this.track(local, undefined);
      purged.push(local);
    }
    return purged;
  }

  /**
   * A finally expired key (expiry.ts): remove its rows up to the expiry, and its marker
   * once one more grace has passed. Returns how many rows went.
   */
  private removeExpiredRows(rows: RowWrites, header: VersionedRecord, graceStartMs: number): number {
    const prefix = keyPrefix(rowUserKey(header.key)!);
    let removed = 0;
    let after: Uint8Array | undefined;
    for (;;) {
      const page = this.view.scanRows(prefix, after, SCAN_PAGE_RECORDS);
      for (const stored of page.records) {
        const current = rows.get(stored.key);
        if (current === undefined || kindOf(stored.key) === RowKind.Header || !diesByExpiry(current, header)) continue;
        rows.remove(current);
        this.track(current, undefined);
        removed++;
      }
      if (page.done || page.records.length === 0) break;
      after = page.records[page.records.length - 1]!.key;
    }
    const marker = rows.get(header.key);
    if (marker !== undefined && tombstoneTimeMs(marker) < graceStartMs - this.config.tombstoneGraceMs) {
      rows.remove(marker);
      this.track(marker, undefined);
      removed++;
    }
    return removed;
  }

  /** The first bucket from `from` on that holds a row the sweep acts on (sweepRows), if any. */
  private nextSweepBucket(from: number): number | undefined {
    if (this.sweepRowsTotal === 0) return undefined;
    for (let bucket = from; bucket < KEY_BUCKET_COUNT; bucket++) if (this.sweepRows[bucket]! > 0) return bucket;
    return undefined;
  }

  /** True when the last sweep slice ended the pass over every bucket (the next starts again at 0). */
  sweepWrapped(): boolean {
    return this.sweepBucket === 0 && this.sweepAfter === undefined;
  }

  /**
   * One bounded slice of the sweep: expired headers become their markers, the rows of a
   * marked key up to its expiry go once the expiry is final and the marker one grace
   * later (expiry.ts), tombstones past the grace period go. The next call continues after
   * this slice.
   */
  sweepSlice(nowMs: number): Changes {
    if (this.sweepAfter === undefined) {
      // Start at the next bucket holding a row the sweep acts on; past the last, the pass is over.
      const bucket = this.nextSweepBucket(this.sweepBucket);
      this.sweepBucket = bucket ?? 0;
      if (bucket === undefined) return new RowWrites(this.view).changes();
    }
    // Pages stop inside a bucket: a hash of a million fields is swept a slice at a time.
    const page = this.view.scanFrom(this.sweepBucket, this.sweepAfter, this.config.sweepKeysMax);
    this.sweepBucket = page.nextBucket >= KEY_BUCKET_COUNT ? 0 : page.nextBucket;
    this.sweepAfter = page.nextAfter;
    const rows = new RowWrites(this.view);
    const graceStartMs = nowMs - this.config.tombstoneGraceMs;
    let expired = 0;
    let purged = 0;
    for (const scanned of page.records) {
      // The scan read the row already: only a change earlier in this slice (a clear of its key) is newer.
      const record = rows.current(scanned, bytesToMapKey(scanned.key));
      if (record === undefined) continue; // removed by a clear earlier in this slice
      const kind = kindOf(record.key);
      if (isExpired(record, kind, nowMs)) {
        if (record.value !== null) {
          this.store(rows, expiryMarker(record), kind, record);
          expired++;
        }
        if (expiryFinal(record, graceStartMs)) purged += this.removeExpiredRows(rows, record, graceStartMs);
      } else if (record.value === null && record.hlc.wallMs < graceStartMs) {
        rows.remove(record);
        this.track(record, undefined);
        purged++;
      }
    }
    this.counters.expired_swept! += expired;
    this.counters.tombstones_purged! += purged;
    return this.changesOf(rows);
  }
}

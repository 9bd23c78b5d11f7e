// The node's stored records as the core sees them: what each change does (stamp a local
// write, LWW-merge a remote record, expire, purge) and the Merkle tree and key counts kept
// in step with every change. It reads the store and decides; the node core turns the
// decisions into persist effects.
import { bytesToMapKey, KEY_BUCKET_COUNT } from './bytes.js';
import type { CoreConfig } from './config.js';
import { nextHlc, type HlcClock } from './hlc.js';
import type { ClientWrite } from './io.js';
import type { MerkleTree } from './merkle.js';
import { compareVersions, expiredToTombstone } from './record.js';
import type { TombstoneTracker } from './tombstones.js';
import type { NodeId, VersionedRecord } from './types.js';
import type { StoreView } from '../storage/store.js';

/** Records that changed, each with the version it replaced (same index; undefined = new key). */
export interface Changes {
  readonly records: VersionedRecord[];
  readonly previous: (VersionedRecord | undefined)[];
}

/** What a merge did: the records that won, and the tombstones refused because this node purged them. */
export interface MergeResult extends Changes {
  readonly refusedPurged: VersionedRecord[];
}

/** What one sweep slice found: expired records turned into tombstones, and tombstones past the grace. */
export interface SweepResult extends Changes {
  readonly purgeKeys: Uint8Array[];
}

/** Records per page when the whole keyspace is read (tree load, resync). */
const SCAN_PAGE_RECORDS = 4096;

export class Keyspace {
  /** Keys with a value (expired but unswept included), and those of them with an expiry. */
  liveKeys = 0;
  keysWithExpiry = 0;
  private sweepBucket = 0;

  constructor(
    private readonly view: StoreView,
    readonly tree: MerkleTree,
    private readonly tombstones: TombstoneTracker,
    private readonly config: CoreConfig,
    /** The node core's counters: this module adds to the merge, sweep and purge ones. */
    private readonly counters: Record<string, number>,
  ) {}

  /** Build the tree and counts from what is stored (at start). */
  load(): void {
    let bucket = 0;
    while (bucket < KEY_BUCKET_COUNT) {
      const page = this.view.scanBuckets(bucket, KEY_BUCKET_COUNT, SCAN_PAGE_RECORDS);
      for (const record of page.records) this.track(undefined, record);
      bucket = page.nextBucket;
    }
  }

  /** Keep the Merkle tree and key counts in step with one stored change. */
  track(before: VersionedRecord | undefined, after: VersionedRecord | undefined): void {
    this.tree.update((after ?? before)!.key, before, after);
    if (before !== undefined && before.value !== null) {
      this.liveKeys--;
      if (before.expiresAtMs !== 0) this.keysWithExpiry--;
    }
    if (after !== undefined && after.value !== null) {
      this.liveKeys++;
      if (after.expiresAtMs !== 0) this.keysWithExpiry++;
    }
  }

  /** Client writes stamped by our clock: always the newest version of their keys. */
  stamp(writes: readonly ClientWrite[], clock: HlcClock, origin: NodeId, nowMs: number): Changes {
    const unique = writes.length > 1 ? lastWritePerKey(writes) : writes;
    const records: VersionedRecord[] = new Array(unique.length);
    const previous: (VersionedRecord | undefined)[] = new Array(unique.length);
    for (let index = 0; index < unique.length; index++) {
      const write = unique[index]!;
      const record: VersionedRecord = { key: write.key, value: write.value, hlc: nextHlc(clock, nowMs), origin, expiresAtMs: write.expiresAtMs };
      const before = this.view.get(write.key);
      this.track(before, record);
      records[index] = record;
      previous[index] = before;
    }
    this.counters.client_writes! += records.length;
    return { records, previous };
  }

  /** LWW-merge remote records into local state: the ones that won, once per key. */
  merge(records: readonly VersionedRecord[], nowMs: number): MergeResult {
    const refusedPurged: VersionedRecord[] = [];
    const winners: VersionedRecord[] = [];
    const previous: (VersionedRecord | undefined)[] = [];
    const batch = records.length > 1 ? new Map<string, VersionedRecord>() : undefined;
    const graceStartMs = nowMs - this.config.tombstoneGraceMs;
    for (const incoming of records) {
      const expired = incoming.value !== null && incoming.expiresAtMs !== 0 && incoming.expiresAtMs <= nowMs;
      const record = expired ? expiredToTombstone(incoming) : incoming;
      if (record.value === null && record.hlc.wallMs < graceStartMs) {
        // Everyone purged this tombstone already; storing it again would only resurrect work.
        this.counters.old_tombstones_refused!++;
        continue;
      }
      if (this.tombstones.wasPurged(record, nowMs)) {
        this.counters.purged_tombstones_refused!++;
        if (record.value === null) refusedPurged.push(record);
        continue;
      }
      const mapKey = batch === undefined ? '' : bytesToMapKey(record.key);
      const local = batch?.get(mapKey) ?? this.view.get(record.key);
      if (local !== undefined && compareVersions(record, local) <= 0) {
        this.counters.records_stale_in!++;
        continue;
      }
      this.track(local, record);
      batch?.set(mapKey, record);
      winners.push(record);
      previous.push(local);
    }
    const unique = dedupeLast(winners, previous, batch);
    this.counters.records_merged_in! += unique.records.length;
    return { ...unique, refusedPurged };
  }

  /** Forget every record older than horizonMs (resync), one page at a time: each page's keys go to onPage. */
  dropOlderThan(horizonMs: number, onPage: (keys: Uint8Array[]) => void): number {
    let dropped = 0;
    let bucket = 0;
    while (bucket < KEY_BUCKET_COUNT) {
      const page = this.view.scanBuckets(bucket, KEY_BUCKET_COUNT, SCAN_PAGE_RECORDS);
      const stale = page.records.filter((record) => record.hlc.wallMs < horizonMs);
      for (const record of stale) this.track(record, undefined);
      if (stale.length > 0) onPage(stale.map((record) => record.key));
      dropped += stale.length;
      bucket = page.nextBucket;
    }
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
   * One bounded slice of the sweep: expired records become tombstones of the same version,
   * tombstones past the grace period go. The next call continues after this slice.
   */
  sweepSlice(nowMs: number): SweepResult {
    const page = this.view.scanBuckets(this.sweepBucket, KEY_BUCKET_COUNT, this.config.sweepKeysMax);
    this.sweepBucket = page.nextBucket >= KEY_BUCKET_COUNT ? 0 : page.nextBucket;
    const records: VersionedRecord[] = [];
    const previous: VersionedRecord[] = [];
    const purgeKeys: Uint8Array[] = [];
    const graceStartMs = nowMs - this.config.tombstoneGraceMs;
    for (const record of page.records) {
      if (record.value !== null && record.expiresAtMs !== 0 && record.expiresAtMs <= nowMs) {
        const tombstone = expiredToTombstone(record);
        this.track(record, tombstone);
        records.push(tombstone);
        previous.push(record);
      } else if (record.value === null && record.hlc.wallMs < graceStartMs) {
        this.track(record, undefined);
        purgeKeys.push(record.key);
      }
    }
    this.counters.expired_swept! += records.length;
    this.counters.tombstones_purged! += purgeKeys.length;
    return { records, previous, purgeKeys };
  }
}

/** Writes of one request to the same key: only the last counts (MSET k 1 k 2 sets 2). */
function lastWritePerKey(writes: readonly ClientWrite[]): ClientWrite[] {
  const byKey = new Map<string, ClientWrite>();
  for (const write of writes) {
    const mapKey = bytesToMapKey(write.key);
    byKey.delete(mapKey);
    byKey.set(mapKey, write);
  }
  return [...byKey.values()];
}

/** Several winners for one key in a batch: keep only the final one (previous: what the first replaced). */
function dedupeLast(winners: VersionedRecord[], previous: (VersionedRecord | undefined)[], batch: Map<string, VersionedRecord> | undefined): Changes {
  if (batch === undefined || batch.size === winners.length) return { records: winners, previous };
  const firstPrevious = new Map<string, VersionedRecord | undefined>();
  const records: VersionedRecord[] = [];
  const kept: (VersionedRecord | undefined)[] = [];
  winners.forEach((record, index) => {
    const mapKey = bytesToMapKey(record.key);
    if (!firstPrevious.has(mapKey)) firstPrevious.set(mapKey, previous[index]);
    if (batch.get(mapKey) !== record) return;
    records.push(record);
    kept.push(firstPrevious.get(mapKey));
  });
  return { records, previous: kept };
}

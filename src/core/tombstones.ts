// Safe early purge of tombstones. A tombstone this node wrote may be removed before the
// grace period once every member seen within the grace period acknowledged it; the
// purge then spreads to peers. For a while after, any version of the key no newer than
// the purged tombstone is refused: an older write may still be in flight on another
// link (links to dead members are reset, which bounds that window), and must not bring
// the key back. Everything else waits for the grace period.
import { bytesToMapKey, fromUtf8, utf8 } from './bytes.js';
import { compareVersions } from './record.js';
import { clearRowKey, rowKindOf, RowKind, rowUserKey } from './rows.js';
import type { NodeId, VersionedRecord } from './types.js';
import { isNodeId, isUint } from './validate.js';

/** Local tombstones awaiting acknowledgement; beyond this they simply wait for the grace. */
export const PENDING_TOMBSTONES_MAX = 100_000;
/**
 * A tombstone is never purged early before this age: members that this node has not
 * heard of yet (gossip still spreading) get the time to show up in the watcher set.
 */
export const EARLY_PURGE_AGE_MIN_MS = 10_000;
/** How long a purged key refuses versions up to the purged one (older writes in flight). */
export const PURGED_MEMORY_MS = 10 * 60 * 1000;
export const PURGED_MEMORY_ENTRIES_MAX = 1_000_000;

interface PendingTombstones {
  readonly writeSeq: number;
  readonly records: readonly VersionedRecord[];
}

/** Whether `peer` stored every local write up to writeSeq (answered by the node core). */
export type AckCheck = (peer: NodeId, writeSeq: number) => boolean;

export class TombstoneTracker {
  /** Members that must acknowledge before an early purge: everyone seen within the grace. */
  private readonly watchers = new Map<NodeId, number>();
  private readonly pending: PendingTombstones[] = [];
  private readonly purged = new Map<string, { readonly version: VersionedRecord; readonly atMs: number }>();

  constructor(
    private readonly self: NodeId,
    private readonly graceMs: number,
  ) {}

  /**
   * Restore the watcher set saved by encodeWatchers (tolerates garbage: starts empty).
   * Returns how many members the saved set named, stale ones included: whether this node
   * ever had peers.
   */
  loadWatchers(saved: Uint8Array | undefined, nowMs: number): number {
    if (saved === undefined) return 0;
    let named = 0;
    try {
      const parsed: unknown = JSON.parse(fromUtf8(saved));
      if (typeof parsed !== 'object' || parsed === null) return 0;
      for (const [id, seenMs] of Object.entries(parsed)) {
        if (!isNodeId(id) || !isUint(seenMs)) continue;
        named++;
        if (seenMs > nowMs - this.graceMs) this.watchers.set(id, seenMs);
      }
    } catch {
      // A damaged entry only delays early purges until the grace period; nothing to repair.
    }
    return named;
  }

  encodeWatchers(): Uint8Array {
    const entries = [...this.watchers.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
    return utf8(JSON.stringify(Object.fromEntries(entries)));
  }

  /** Note that a member exists; true when it is new (the caller then saves the set). */
  noteMember(id: NodeId, nowMs: number): boolean {
    if (id === this.self) return false;
    const known = this.watchers.has(id);
    this.watchers.set(id, nowMs);
    return !known;
  }

  noteLocalWrite(writeSeq: number, records: readonly VersionedRecord[]): void {
    let any = false;
    for (let index = 0; !any && index < records.length; index++) any = records[index]!.value === null;
    if (!any) return; // most writes write no tombstone: no array for them
    const tombstones = records.filter((record) => record.value === null);
    if (tombstones.length === 0 || this.pending.length >= PENDING_TOMBSTONES_MAX) return;
    this.pending.push({ writeSeq, records: tombstones });
  }

  hasPending(): boolean {
    return this.pending.length > 0;
  }

  /**
   * Tombstones old enough that every watcher has acknowledged, removed from tracking,
   * oldest first. With no watcher at all nothing is purged early: a node alone (or not
   * yet in touch with anyone) cannot know who else still holds the old value.
   */
  takeAcknowledged(nowMs: number, acked: AckCheck): VersionedRecord[] {
    const ready: VersionedRecord[] = [];
    this.forgetStaleWatchers(nowMs);
    if (this.watchers.size === 0) return ready;
    while (this.pending.length > 0) {
      const head = this.pending[0]!;
      if (head.records[0]!.hlc.wallMs > nowMs - EARLY_PURGE_AGE_MIN_MS) return ready;
      for (const watcher of this.watchers.keys()) if (!acked(watcher, head.writeSeq)) return ready;
      this.pending.shift();
      ready.push(...head.records);
    }
    return ready;
  }

  rememberPurged(records: readonly VersionedRecord[], nowMs: number): void {
    this.expirePurged(nowMs);
    for (const record of records) {
      if (this.purged.size >= PURGED_MEMORY_ENTRIES_MAX) this.expirePurged(nowMs, true);
      const mapKey = bytesToMapKey(record.key);
      const known = this.purged.get(mapKey);
      if (known !== undefined && compareVersions(known.version, record) >= 0) continue;
      this.purged.delete(mapKey);
      this.purged.set(mapKey, { version: record, atMs: nowMs });
    }
  }

  /** True if a tombstone newer than or equal to this version was purged recently: refuse it (mapKey: bytesToMapKey(record.key)). */
  wasPurged(record: VersionedRecord, nowMs: number, mapKey: string): boolean {
    if (this.purged.size === 0) return false;
    if (this.refusedBy(mapKey, record, nowMs)) return true;
    // A row of a key whose clear row was purged: the clear removed it everywhere, so a
    // late copy stamped at or below that clear must not come back either.
    const userKey = record.value === null && rowKindOf(record.key) === RowKind.Clear ? undefined : rowUserKey(record.key);
    return userKey !== undefined && this.refusedBy(bytesToMapKey(clearRowKey(userKey)), record, nowMs);
  }

  private refusedBy(mapKey: string, record: VersionedRecord, nowMs: number): boolean {
    const known = this.purged.get(mapKey);
    return known !== undefined && nowMs - known.atMs < PURGED_MEMORY_MS && compareVersions(record, known.version) <= 0;
  }

  /** Drop remembered purges past their memory window (the oldest half when forced). */
  expirePurged(nowMs: number, force = false): void {
    for (const [key, entry] of this.purged) {
      if (nowMs - entry.atMs < PURGED_MEMORY_MS && !force) break;
      this.purged.delete(key);
      if (force && this.purged.size < PURGED_MEMORY_ENTRIES_MAX / 2) break;
    }
  }

  private forgetStaleWatchers(nowMs: number): void {
    for (const [id, seenMs] of this.watchers) if (seenMs <= nowMs - this.graceMs) this.watchers.delete(id);
  }
}

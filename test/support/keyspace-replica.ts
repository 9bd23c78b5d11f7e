// One node's keyspace over a MemoryStore, with the runtime's part done by hand: every
// change the core decides is written to the store at once and the step settled, as the
// node runtime does after each step. For unit and property tests of Keyspace.
import { DEFAULT_CORE_CONFIG, type CoreConfig } from '../../src/core/config.js';
import { createHlcClock, HLC_ZERO, type HlcClock } from '../../src/core/hlc.js';
import type { ClientWrite } from '../../src/core/io.js';
import { Keyspace, type Changes } from '../../src/core/keyspace.js';
import { MerkleTree } from '../../src/core/merkle.js';
import { TombstoneTracker } from '../../src/core/tombstones.js';
import type { NodeId, VersionedRecord } from '../../src/core/types.js';
import { MemoryStore } from '../../src/storage/memory-store.js';

const COUNTER_NAMES = [
  'client_writes',
  'records_merged_in',
  'records_stale_in',
  'expired_swept',
  'tombstones_purged',
  'old_tombstones_refused',
  'purged_tombstones_refused',
  'rows_cleared',
  'clears_deferred',
];

export class KeyspaceReplica {
  readonly store = new MemoryStore();
  readonly tree = new MerkleTree();
  readonly tombstones: TombstoneTracker;
  readonly counters: Record<string, number> = Object.fromEntries(COUNTER_NAMES.map((name) => [name, 0]));
  readonly keyspace: Keyspace;
  readonly clock: HlcClock;

  constructor(
    readonly id: NodeId,
    config: CoreConfig = DEFAULT_CORE_CONFIG,
  ) {
    this.tombstones = new TombstoneTracker(id, config.tombstoneGraceMs);
    this.keyspace = new Keyspace(this.store, this.tree, this.tombstones, config, this.counters);
    this.clock = createHlcClock(HLC_ZERO, config.hlcMaxOffsetMs);
  }

  /** A client write stamped here; returns the rows it persisted (to replicate). */
  write(writes: readonly ClientWrite[], nowMs: number): VersionedRecord[] {
    return this.apply(this.keyspace.stamp(writes, this.clock, this.id, nowMs)).records;
  }

  /** Rows from a peer. */
  merge(records: readonly VersionedRecord[], nowMs: number): Changes {
    return this.apply(this.keyspace.merge(records, nowMs));
  }

  sweep(nowMs: number): Changes {
    return this.apply(this.keyspace.sweepSlice(nowMs));
  }

  /** Every stored row in (bucket, key) order, tombstones included. */
  rows(): VersionedRecord[] {
    return this.store.scanBuckets(0, 65_536, 1 << 30).records;
  }

  /** True when the incrementally kept tree equals one built from the stored rows. */
  treeMatchesStore(): boolean {
    return this.tree.equals(MerkleTree.build(this.rows()));
  }

  private apply<T extends Changes>(changes: T): T {
    void this.store.write({ records: changes.records, purgeKeys: changes.purgeKeys });
    this.keyspace.settle();
    return changes;
  }
}

// Deliberate bugs, injected without touching src/core (a config change or a wrapper on
// a NodeCore or Keyspace method), to show that the simulator's seed budget catches them.
import type { CoreConfig } from '../../src/core/config.js';
import { compareHlc } from '../../src/core/hlc.js';
import { Keyspace } from '../../src/core/keyspace.js';
import { NodeCore } from '../../src/core/node.js';
import { decodeSlotTotal, parseRow, parseSlotElement, RowKind, slotPrefix } from '../../src/core/rows.js';
import type { NodeId, VersionedRecord } from '../../src/core/types.js';
import type { StoreView } from '../../src/core/store-view.js';

export interface Mutation {
  readonly name: string;
  readonly description: string;
  readonly config?: (config: CoreConfig) => CoreConfig;
  /** Patch the core in this process; returns the undo. */
  readonly install?: () => () => void;
}

type MergeIncoming = (from: NodeId, records: readonly VersionedRecord[], nowMs: number, out: unknown[]) => unknown;
interface MergeInternals {
  mergeIncoming: MergeIncoming;
  view: StoreView;
}

/** A wrapper that no longer fits the method it wraps must fail loudly, not pass as "caught". */
function assertRecords(records: unknown, method: string): asserts records is readonly VersionedRecord[] {
  if (!Array.isArray(records)) throw new Error(`mutation: ${method} no longer takes the records where it did: update the mutation`);
}

/**
 * LWW merge that forgets the origin tie-break: an incoming version with the same HLC as
 * the stored one but another origin is treated as stale, so two nodes that stamped the
 * same key at the same HLC keep different winners forever.
 */
function installMergeIgnoresOrigin(): () => void {
  const prototype = NodeCore.prototype as unknown as MergeInternals;
  const original = prototype.mergeIncoming;
  if (typeof original !== 'function' || original.length !== 4) throw new Error('NodeCore.mergeIncoming(from, records, nowMs, out) is gone: update the mutation');
  prototype.mergeIncoming = function (this: MergeInternals, from, records, nowMs, out) {
    assertRecords(records, 'NodeCore.mergeIncoming');
    const kept = records.filter((record) => {
      const local = this.view.get(record.key);
      return !(local !== undefined && local.origin !== record.origin && compareHlc(local.hlc, record.hlc) === 0);
    });
    return original.call(this, from, kept, nowMs, out);
  };
  return () => {
    prototype.mergeIncoming = original;
  };
}

type KeyspaceMerge = (records: readonly VersionedRecord[], nowMs: number) => unknown;
interface KeyspaceInternals {
  merge: KeyspaceMerge;
  view: StoreView;
}

/**
 * Counter merge that takes the max instead of keeping per-origin slots: an incoming slot
 * row is dropped unless its running total beats every slot of that counter held here, as
 * if a counter were one max-register. Concurrent increments on other nodes are lost.
 */
function installCounterMergeMax(): () => void {
  const prototype = Keyspace.prototype as unknown as KeyspaceInternals;
  const original = prototype.merge;
  if (typeof original !== 'function' || original.length !== 2) throw new Error('Keyspace.merge(records, nowMs) is gone: update the mutation');
  prototype.merge = function (this: KeyspaceInternals, records, nowMs) {
    assertRecords(records, 'Keyspace.merge');
    const kept = records.filter((record) => {
      const row = parseRow(record.key);
      if (row?.kind !== RowKind.Slot || record.value === null) return true;
      const slot = parseSlotElement(row.element);
      const total = decodeSlotTotal(record.value);
      if (slot === undefined || total === undefined) return true;
      const held = this.view.scanRows(slotPrefix(row.key, slot.counted), undefined, 1 << 20).records;
      return held.every((other) => other.value === null || (decodeSlotTotal(other.value)?.integer ?? 0n) < total.integer);
    });
    return original.call(this, kept, nowMs);
  };
  return () => {
    prototype.merge = original;
  };
}

/**
 * Set merge that is add-wins instead of last-writer-wins: an incoming remove (tombstone)
 * of a member that is present here (a Field row with the empty value SADD writes) is
 * dropped, so a member removed on one node stays on every node that had it.
 */
function installSetMergeAddWins(): () => void {
  const prototype = Keyspace.prototype as unknown as KeyspaceInternals;
  const original = prototype.merge;
  if (typeof original !== 'function' || original.length !== 2) throw new Error('Keyspace.merge(records, nowMs) is gone: update the mutation');
  prototype.merge = function (this: KeyspaceInternals, records, nowMs) {
    assertRecords(records, 'Keyspace.merge');
    const kept = records.filter((record) => {
      if (record.value !== null || parseRow(record.key)?.kind !== RowKind.Field) return true;
      const local = this.view.get(record.key);
      return !(local !== undefined && local.value !== null && local.value.length === 0);
    });
    return original.call(this, kept, nowMs);
  };
  return () => {
    prototype.merge = original;
  };
}

export const MUTATIONS: readonly Mutation[] = [
  {
    name: 'grace-0',
    description: 'tombstone grace of 0 ms: the sweep purges every tombstone at once and merges refuse tombstones',
    config: (config) => ({ ...config, tombstoneGraceMs: 0 }),
  },
  {
    name: 'grace-short',
    description: 'tombstone grace of 2 s: tombstones are purged while a partitioned or crashed node still holds the old value',
    config: (config) => ({ ...config, tombstoneGraceMs: 2_000 }),
  },
  {
    name: 'merge-ignores-origin',
    description: 'LWW merge ignores the origin tie-break between equal HLC stamps',
    install: installMergeIgnoresOrigin,
  },
  {
    name: 'counter-merge-max',
    description: 'counter merge keeps the largest slot instead of one slot per origin (remote increments below it are dropped)',
    install: installCounterMergeMax,
  },
  {
    name: 'set-merge-add-wins',
    description: 'set member merge is add-wins: a remote SREM of a member present here is dropped',
    install: installSetMergeAddWins,
  },
];

export function findMutation(name: string): Mutation | undefined {
  return MUTATIONS.find((mutation) => mutation.name === name);
}

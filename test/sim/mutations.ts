// Deliberate bugs, injected without touching src/core (a config change or a wrapper on
// a NodeCore method), to show that the simulator's seed budget catches them.
import type { CoreConfig } from '../../src/core/config.js';
import { compareHlc } from '../../src/core/hlc.js';
import { NodeCore } from '../../src/core/node.js';
import type { VersionedRecord } from '../../src/core/types.js';
import type { StoreView } from '../../src/core/store-view.js';

export interface Mutation {
  readonly name: string;
  readonly description: string;
  readonly config?: (config: CoreConfig) => CoreConfig;
  /** Patch the core in this process; returns the undo. */
  readonly install?: () => () => void;
}

type MergeIncoming = (records: readonly VersionedRecord[], nowMs: number, out: unknown[]) => VersionedRecord[];
interface MergeInternals {
  mergeIncoming: MergeIncoming;
  view: StoreView;
}

/**
 * LWW merge that forgets the origin tie-break: an incoming version with the same HLC as
 * the stored one but another origin is treated as stale, so two nodes that stamped the
 * same key at the same HLC keep different winners forever.
 */
function installMergeIgnoresOrigin(): () => void {
  const prototype = NodeCore.prototype as unknown as MergeInternals;
  const original = prototype.mergeIncoming;
  if (typeof original !== 'function') throw new Error('NodeCore.mergeIncoming is gone: update the mutation');
  prototype.mergeIncoming = function (this: MergeInternals, records, nowMs, out) {
    const kept = records.filter((record) => {
      const local = this.view.get(record.key);
      return !(local !== undefined && local.origin !== record.origin && compareHlc(local.hlc, record.hlc) === 0);
    });
    return original.call(this, kept, nowMs, out);
  };
  return () => {
    prototype.mergeIncoming = original;
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
];

export function findMutation(name: string): Mutation | undefined {
  return MUTATIONS.find((mutation) => mutation.name === name);
}

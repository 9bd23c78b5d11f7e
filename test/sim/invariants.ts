// What must hold in every run, whatever the faults: recorded while the run goes on
// (acknowledged writes, every committed version) and checked at each step and at the end.
import { bytesToMapKey, fromUtf8 } from '../../src/core/bytes.js';
import { compareHlc } from '../../src/core/hlc.js';
import { MerkleTree } from '../../src/core/merkle.js';
import { compareVersions, isAbsent } from '../../src/core/record.js';
import type { Hlc, NodeId, VersionedRecord } from '../../src/core/types.js';
import { describeRecord } from './trace.js';

export interface SimFailure {
  /** Stable name of the invariant, e.g. 'lost-write'. */
  readonly invariant: string;
  readonly atMs: number;
  readonly detail: string;
}

/** Failures kept per invariant; the first one is what matters for a replay. */
const FAILURES_PER_INVARIANT_MAX = 3;

/** The final state of one node as the end-of-run checks see it. */
export interface FinalNode {
  readonly name: string;
  readonly id: NodeId;
  readonly records: readonly VersionedRecord[];
  readonly treeRoot: [number, number];
  readonly tree: MerkleTree;
  readonly nowMs: number;
}

function contentOf(record: VersionedRecord): string {
  return record.value === null ? 'T' : `${fromUtf8(record.value)}|${record.expiresAtMs}`;
}

function versionId(record: VersionedRecord): string {
  return `${bytesToMapKey(record.key)}\u0000${record.hlc.wallMs}.${record.hlc.logical}\u0000${record.origin}`;
}

export class History {
  readonly failures: SimFailure[] = [];
  private readonly failureCounts = new Map<string, number>();
  /** Content of every version ever committed anywhere: a version must mean one thing. */
  private readonly versions = new Map<string, string>();
  /** Newest version ever committed anywhere, per key. */
  private readonly newest = new Map<string, VersionedRecord>();
  /** Newest tombstone ever committed anywhere, per key: absence up to it may be a purge. */
  private readonly newestTombstone = new Map<string, VersionedRecord>();
  /** Acknowledged client writes per key (every one, in ack order). */
  private readonly acked = new Map<string, { record: VersionedRecord; node: string; atMs: number }[]>();
  /** Newest stamp of each origin committed anywhere: a node must never issue it again. */
  private readonly newestByOrigin = new Map<NodeId, Hlc>();
  ackedCount = 0;

  fail(invariant: string, atMs: number, detail: string): void {
    const count = this.failureCounts.get(invariant) ?? 0;
    this.failureCounts.set(invariant, count + 1);
    if (count < FAILURES_PER_INVARIANT_MAX) this.failures.push({ invariant, atMs, detail });
  }

  failed(): boolean {
    return this.failures.length > 0;
  }

  /** A node committed records (its own writes, merges, expiry tombstones). */
  noteCommitted(node: string, records: readonly VersionedRecord[], atMs: number): void {
    for (const record of records) {
      const id = versionId(record);
      const content = contentOf(record);
      const known = this.versions.get(id);
      if (known === undefined) {
        this.versions.set(id, content);
      } else if (known !== content) {
        // An expired record and the tombstone it was swept into are the same version.
        const expiredPair = (known === 'T' && record.expiresAtMs !== 0) || (content === 'T' && !known.endsWith('|0'));
        if (!expiredPair) this.fail('version-conflict', atMs, `${node} committed ${describeRecord(record)} but that version was committed elsewhere as ${JSON.stringify(known)}`);
        if (content !== 'T') this.versions.set(id, content);
      }
      const ownNewest = this.newestByOrigin.get(record.origin);
      if (ownNewest === undefined || compareHlc(record.hlc, ownNewest) > 0) this.newestByOrigin.set(record.origin, record.hlc);
      const mapKey = bytesToMapKey(record.key);
      const newest = this.newest.get(mapKey);
      if (newest === undefined || compareVersions(record, newest) > 0) this.newest.set(mapKey, record);
      if (record.value === null) {
        const tombstone = this.newestTombstone.get(mapKey);
        if (tombstone === undefined || compareVersionIds(record, tombstone) > 0) this.newestTombstone.set(mapKey, record);
      }
    }
  }

  /**
   * May a replica legitimately hold nothing for this key although `version` was stored?
   * Yes if a tombstone at least as new was committed somewhere (it may have been purged
   * since), or the version itself reads as absent by now.
   */
  absenceExplained(key: Uint8Array, version: VersionedRecord, nowMs: number): boolean {
    if (isAbsent(version, nowMs)) return true;
    const tombstone = this.newestTombstone.get(bytesToMapKey(key));
    return tombstone !== undefined && compareVersionIds(tombstone, version) >= 0;
  }

  newestStampOf(origin: NodeId): Hlc | undefined {
    return this.newestByOrigin.get(origin);
  }

  noteAcked(node: string, records: readonly VersionedRecord[], atMs: number): void {
    for (const record of records) {
      const mapKey = bytesToMapKey(record.key);
      let list = this.acked.get(mapKey);
      if (list === undefined) this.acked.set(mapKey, (list = []));
      list.push({ record, node, atMs });
      this.ackedCount++;
    }
  }

  /** Newest acknowledged version per key. */
  newestAcked(): Map<string, VersionedRecord> {
    const result = new Map<string, VersionedRecord>();
    for (const [mapKey, list] of this.acked) {
      let best = list[0]!.record;
      for (const entry of list) if (compareVersions(entry.record, best) > 0) best = entry.record;
      result.set(mapKey, best);
    }
    return result;
  }

  /** End of run: every replica identical, nothing acknowledged lost, no delete undone. */
  checkFinal(nodes: readonly FinalNode[], atMs: number): void {
    this.checkIdentical(nodes, atMs);
    for (const node of nodes) {
      const byKey = new Map<string, VersionedRecord>();
      for (const record of node.records) byKey.set(bytesToMapKey(record.key), record);
      if (!node.tree.equals(MerkleTree.build(node.records))) this.fail('merkle-tree', atMs, `${node.name}: its Merkle tree differs from one built from its store`);
      for (const [mapKey, list] of this.acked) {
        const stored = byKey.get(mapKey);
        for (const { record, node: writer } of list) this.checkKept(node, stored, record, writer, atMs);
      }
      for (const [mapKey, newest] of this.newest) {
        const stored = byKey.get(mapKey);
        if (stored === undefined ? !this.absenceExplained(newest.key, newest, node.nowMs) : compareVersionIds(stored, newest) < 0) {
          this.fail('not-newest', atMs, `${node.name} ends with ${stored ? describeRecord(stored) : 'nothing'} for a key whose newest committed version is ${describeRecord(newest)}`);
        }
        const tombstone = this.newestTombstone.get(mapKey);
        if (stored !== undefined && !isAbsent(stored, node.nowMs) && tombstone !== undefined && compareVersionIds(tombstone, stored) > 0) {
          this.fail('resurrection', atMs, `${node.name} ends with ${describeRecord(stored)} although ${describeRecord(tombstone)} deleted it`);
        }
      }
    }
  }

  private checkKept(node: FinalNode, stored: VersionedRecord | undefined, acked: VersionedRecord, writer: string, atMs: number): void {
    if (stored === undefined ? this.absenceExplained(acked.key, acked, node.nowMs) : compareVersions(stored, acked) >= 0) return;
    this.fail('lost-write', atMs, `${node.name} ends with ${stored ? describeRecord(stored) : 'nothing'} but ${writer} acknowledged ${describeRecord(acked)}`);
  }

  private checkIdentical(nodes: readonly FinalNode[], atMs: number): void {
    const first = nodes[0]!;
    const reference = normalise(first);
    for (const node of nodes.slice(1)) {
      const other = normalise(node);
      if (other.join('\n') !== reference.join('\n')) {
        const difference = firstDifference(reference, other);
        this.fail('divergence', atMs, `${first.name} and ${node.name} differ: ${difference}`);
      }
      if (node.treeRoot[0] !== first.treeRoot[0] || node.treeRoot[1] !== first.treeRoot[1]) {
        this.fail('merkle-root', atMs, `${first.name} root ${first.treeRoot.join(':')} != ${node.name} root ${node.treeRoot.join(':')}`);
      }
    }
  }
}

/** Order of versions by (hlc, origin) only: an expired value and its tombstone tie. */
export function compareVersionIds(a: VersionedRecord, b: VersionedRecord): number {
  const byClock = compareHlc(a.hlc, b.hlc);
  if (byClock !== 0) return byClock;
  return a.origin < b.origin ? -1 : a.origin > b.origin ? 1 : 0;
}

/**
 * Live records as comparable lines. Tombstones and expired records are left out: one
 * replica may have purged a tombstone that another still holds (the Merkle roots, which
 * cover tombstones, are compared separately).
 */
export function normalise(node: FinalNode): string[] {
  const lines: string[] = [];
  for (const record of node.records) {
    if (isAbsent(record, node.nowMs)) continue;
    lines.push(`${fromUtf8(record.key)} ${record.hlc.wallMs}.${record.hlc.logical} ${record.origin} ${contentOf(record)}`);
  }
  return lines;
}

function firstDifference(a: readonly string[], b: readonly string[]): string {
  const inA = new Set(a);
  const inB = new Set(b);
  const onlyA = a.filter((line) => !inB.has(line));
  const onlyB = b.filter((line) => !inA.has(line));
  return `only in first [${onlyA.slice(0, 3).join('; ')}]${onlyA.length > 3 ? ` +${onlyA.length - 3}` : ''}, only in second [${onlyB.slice(0, 3).join('; ')}]${onlyB.length > 3 ? ` +${onlyB.length - 3}` : ''}`;
}

export function hlcText(hlc: Hlc): string {
  return `${hlc.wallMs}.${hlc.logical}`;
}

export function hlcBefore(a: Hlc, b: Hlc): boolean {
  return compareHlc(a, b) < 0;
}

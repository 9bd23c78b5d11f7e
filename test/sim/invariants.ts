// What must hold in every run, whatever the faults: recorded while the run goes on
// (acknowledged writes, every committed version) and checked at each step and at the end.
import { bytesToMapKey, toHex } from '../../src/core/bytes.js';
import { compareHlc } from '../../src/core/hlc.js';
import { MerkleTree } from '../../src/core/merkle.js';
import { compareVersions, isAbsent } from '../../src/core/record.js';
import { rowKindOf, RowKind } from '../../src/core/rows.js';
import type { Hlc, NodeId, VersionedRecord } from '../../src/core/types.js';
import { Ledger, versionId } from './ledger.js';
import { describeRecord } from './trace.js';
import { checkTyped, ClearIndex, type ClearScope, type TypedCheckStats } from './typed-invariants.js';
import { checkCollections, type CollectionCheckStats } from './collection-invariants.js';

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
  return record.value === null ? 'T' : `${toHex(record.value)}|${record.expiresAtMs}`;
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
  /** What clients were told of typed commands (increments, observations, clears). */
  readonly ledger = new Ledger();
  /** Every committed clear, flush and header, for what may explain a row's absence. */
  readonly clears = new ClearIndex(this.ledger.clientClearIds);
  typedStats: TypedCheckStats = { counterChecks: 0, scoreChecks: 0, fieldChecks: 0 };
  collectionStats: CollectionCheckStats = { listChecks: 0, orderChecks: 0 };

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
      this.clears.note(record);
      this.ledger.noteCommitted(record);
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
      // A clear the core derives from an expiry carries the header's origin and the expiry
      // time as its stamp: not a stamp that origin's clock issued.
      const ownNewest = this.newestByOrigin.get(record.origin);
      if ((ownNewest === undefined || compareHlc(record.hlc, ownNewest) > 0) && !this.isDerivedClear(record)) this.newestByOrigin.set(record.origin, record.hlc);
      const mapKey = bytesToMapKey(record.key);
      const newest = this.newest.get(mapKey);
      if (newest === undefined || compareVersions(record, newest) > 0) this.newest.set(mapKey, record);
      if (record.value === null) {
        const tombstone = this.newestTombstone.get(mapKey);
        if (tombstone === undefined || compareVersionIds(record, tombstone) > 0) this.newestTombstone.set(mapKey, record);
      }
    }
  }

  /** A clear row the core derived from an expiry (not one a client wrote). */
  isDerivedClear(record: VersionedRecord): boolean {
    return record.value === null && rowKindOf(record.key) === RowKind.Clear && !this.ledger.clientClearIds.has(versionId(record));
  }

  /**
   * May a replica legitimately hold nothing for this key although `version` was stored?
   * Yes if a tombstone at least as new was committed somewhere (it may have been purged
   * since), the version itself reads as absent by now, or a committed clear of its key (or
   * the flush) at or above it removed it: at the end of the run only a clear in `scope`
   * (typed-invariants.ts ClearScope), during it any.
   */
  absenceExplained(key: Uint8Array, version: VersionedRecord, nowMs: number, scope: ClearScope = 'any'): boolean {
    if (isAbsent(version, nowMs)) return true;
    const tombstone = this.newestTombstone.get(bytesToMapKey(key));
    if (tombstone !== undefined && compareVersionIds(tombstone, version) >= 0) return true;
    return this.clears.removes(version, scope);
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

  typeConflicts(): number {
    return this.clears.typeConflicts();
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

  /** End of run: every replica identical, nothing acknowledged lost, no delete undone, the typed-row invariants. */
  checkFinal(nodes: readonly FinalNode[], atMs: number): void {
    this.checkIdentical(nodes, atMs);
    this.typedStats = checkTyped(nodes, this.ledger, this.clears, (invariant, detail) => this.fail(invariant, atMs, detail));
    this.collectionStats = checkCollections(nodes, this.ledger, (invariant, detail) => this.fail(invariant, atMs, detail));
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
        if (stored === undefined && !this.absenceExplained(newest.key, newest, node.nowMs, 'legitimate') && this.absenceExplained(newest.key, newest, node.nowMs, 'expiry')) {
          this.fail('expiry-superseded', atMs, `${node.name} ends with nothing for ${describeRecord(newest)}: the expiry of an older header removed it, though a newer header was written before that expiry`);
        } else if (stored === undefined ? !this.absenceExplained(newest.key, newest, node.nowMs, 'legitimate') : compareVersionIds(stored, newest) < 0) {
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
    if (stored === undefined ? this.absenceExplained(acked.key, acked, node.nowMs, 'legitimate') : compareVersions(stored, acked) >= 0) return;
    // Reported once per key as expiry-superseded (see checkFinal).
    if (stored === undefined && this.absenceExplained(acked.key, acked, node.nowMs, 'expiry')) return;
    this.fail('lost-write', atMs, `${node.name} ends with ${stored ? describeRecord(stored) : 'nothing'} but ${writer} acknowledged ${describeRecord(acked)}`);
  }

  private checkIdentical(nodes: readonly FinalNode[], atMs: number): void {
    const first = nodes[0]!;
    const reference = normalise(first).join('\n');
    for (const node of nodes.slice(1)) {
      if (normalise(node).join('\n') !== reference) {
        const difference = firstDifference(first, node);
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
 * Live records as comparable lines (lossless, not for reading: see describeLine).
 * Tombstones and expired records are left out: one replica may have purged a tombstone
 * that another still holds (the Merkle roots, which cover tombstones, are compared separately).
 */
export function normalise(node: FinalNode): string[] {
  const lines: string[] = [];
  for (const record of node.records) {
    if (isAbsent(record, node.nowMs)) continue;
    lines.push(lineOf(record));
  }
  return lines;
}

function lineOf(record: VersionedRecord): string {
  return `${bytesToMapKey(record.key)}\u0000${record.hlc.wallMs}.${record.hlc.logical}\u0000${record.origin}\u0000${record.value === null ? 'T' : bytesToMapKey(record.value)}|${record.expiresAtMs}`;
}

/** The first few live records that one node holds and the other does not, readable. */
function firstDifference(first: FinalNode, second: FinalNode): string {
  const describe = (node: FinalNode, other: FinalNode): string => {
    const theirs = new Set(normalise(other));
    const only = node.records.filter((record) => !isAbsent(record, node.nowMs) && !theirs.has(lineOf(record)));
    return `[${only.slice(0, 3).map(describeRecord).join('; ')}]${only.length > 3 ? ` +${only.length - 3}` : ''}`;
  };
  return `only in first ${describe(first, second)}, only in second ${describe(second, first)}`;
}

export function hlcText(hlc: Hlc): string {
  return `${hlc.wallMs}.${hlc.logical}`;
}

export function hlcBefore(a: Hlc, b: Hlc): boolean {
  return compareHlc(a, b) < 0;
}

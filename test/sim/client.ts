// The simulated clients: drive the workload on every node during the chaos phase (typed
// commands turned into rows on the node, as its server would), keep what each node
// acknowledged (the ledger), and check what clients can see directly (their reads and WAIT
// answers) at the moment they see it.
import { bytesToMapKey } from '../../src/core/bytes.js';
import { compareHlc } from '../../src/core/hlc.js';
import { compareVersions, isAbsent } from '../../src/core/record.js';
import { clearRowKey, FLUSH_ROW_KEY, headerRowKey, rowUserKey } from '../../src/core/rows.js';
import { isClearRow } from './ledger.js';
import type { VersionedRecord } from '../../src/core/types.js';
import type { Simulator, SimNode } from './harness.js';
import { hlcText } from './invariants.js';
import { clearedBy } from './typed-invariants.js';
import { describeRecord } from './trace.js';
import { TypedBatchBuilder, type TypedOp } from './typed-ops.js';
import type { Workload } from './workload.js';

/** list-rows.ts SEQUENCE_PER_MS: positions a node's clock gives per wall-clock ms. */
const POSITIONS_PER_MS = 1024;

interface PendingWait {
  readonly records: readonly VersionedRecord[];
  readonly writeSeq: number;
}

export class ClientDriver {
  reads = 0;
  private requestCounter = 0;
  /** Newest version acknowledged by each node per row key: its reads may never be older. */
  private readonly acked: Map<string, VersionedRecord>[];
  /** The row keys of acked, in first-ack order (reads pick one). */
  private readonly ackedKeys: Uint8Array[][];
  private readonly waits: Map<number, PendingWait>[];
  /** Each node's list position clock (list-rows.ts lastSequence): process memory, so 0 after a crash. */
  private readonly lastPositions: number[];

  constructor(
    private readonly sim: Simulator,
    private readonly workload: Workload,
  ) {
    this.acked = sim.nodes.map(() => new Map());
    this.ackedKeys = sim.nodes.map(() => []);
    this.waits = sim.nodes.map(() => new Map());
    this.lastPositions = sim.nodes.map(() => 0);
  }

  start(): void {
    for (const node of this.sim.nodes) this.schedule(node);
    this.scheduleConflict();
  }

  private scheduleConflict(): void {
    const gapMs = this.workload.nextConflictGapMs();
    if (Number.isFinite(gapMs)) this.sim.queue.push(this.sim.nowMs + gapMs, () => this.conflict());
  }

  /**
   * Two running nodes create one key that neither holds, one as a string and one as a
   * hash, at the same wall-clock ms: the header stamps tie on the clock more often than
   * not, so the origin decides (and both types' rows meet in every merge).
   */
  private conflict(): void {
    const sim = this.sim;
    if (sim.phase !== 'chaos') return;
    this.scheduleConflict();
    const ready = sim.nodes.filter((node) => node.core !== undefined && node.frozenUntilMs <= sim.nowMs);
    if (ready.length < 2) return;
    const first = ready.splice(this.workload.pickIndex(ready.length), 1)[0]!;
    const second = ready[this.workload.pickIndex(ready.length)]!;
    const key = this.workload.keysFromRandom().find((candidate) => !hasLiveHeader(first, candidate, sim.nodeNowMs(first)) && !hasLiveHeader(second, candidate, sim.nodeNowMs(second)));
    if (key === undefined) return;
    const [asString, asHash] = this.workload.conflictOps(key, first.index, second.index);
    const wallMs = sim.nodeNowMs(first);
    this.write(first, [asString]);
    const epoch = second.epoch;
    sim.queue.push(sim.nowMs + Math.max(0, wallMs - sim.nodeNowMs(second)), () => {
      if (sim.phase === 'chaos' && second.epoch === epoch && second.core !== undefined && second.frozenUntilMs <= sim.nowMs) this.write(second, [asHash]);
    });
  }

  private schedule(node: SimNode): void {
    this.sim.queue.push(this.sim.nowMs + this.workload.nextGapMs(), () => this.operate(node));
  }

  private operate(node: SimNode): void {
    const sim = this.sim;
    if (sim.phase !== 'chaos') return;
    this.schedule(node);
    if (node.core === undefined || node.frozenUntilMs > sim.nowMs) return;
    const op = this.workload.nextOp(node.index);
    if (op.kind === 'read') {
      this.read(node);
      return;
    }
    this.write(node, op.ops);
  }

  /** Turn typed commands into one client write on the node, as its server would. */
  private write(node: SimNode, ops: readonly TypedOp[]): void {
    const sim = this.sim;
    const nowMs = sim.nodeNowMs(node);
    const positions = {
      next: (wallMs: number): number => (this.lastPositions[node.index] = Math.max(this.lastPositions[node.index]! + 1, wallMs * POSITIONS_PER_MS)),
    };
    const builder = new TypedBatchBuilder(node.store, nowMs, node.id, sim.history.ledger, positions);
    for (const typed of ops) builder.add(typed);
    const batch = builder.finish();
    if (batch.writes.length === 0) {
      sim.history.ledger.skippedCommands += batch.skipped;
      return;
    }
    const requestId = ++this.requestCounter;
    sim.history.ledger.issue(node.name, requestId, batch);
    sim.step(node, { kind: 'clientWrite', nowMs, requestId, writes: batch.writes });
  }

  /** Read one row this node acknowledged: it is there, at least as new, or a delete explains its absence. */
  private read(node: SimNode): void {
    this.reads++;
    const keys = this.ackedKeys[node.index]!;
    if (keys.length === 0) return;
    const key = keys[this.workload.pickIndex(keys.length)]!;
    const stored = node.store.get(key);
    const acked = this.acked[node.index]!.get(bytesToMapKey(key))!;
    const nowMs = this.sim.nodeNowMs(node);
    // Reading absent is right when a delete at least as new as the acknowledged write exists.
    const absent = stored === undefined || isAbsent(stored, nowMs);
    const fine = compareVersionsOrUndefined(stored, acked) >= 0 || (absent && (this.sim.history.absenceExplained(key, acked, nowMs) || this.clearedHere(node, acked)));
    if (!fine) {
      this.sim.history.fail('read-your-writes', this.sim.nowMs, `${node.name} read ${stored ? describeRecord(stored) : 'nothing'} after acknowledging ${describeRecord(acked)}`);
    }
  }

  /** A clear or flush this node holds (perhaps not committed yet) removed the row. */
  private clearedHere(node: SimNode, row: VersionedRecord): boolean {
    const userKey = rowUserKey(row.key);
    const clear = userKey === undefined ? undefined : node.store.get(clearRowKey(userKey));
    return clearedBy(row, clear) || clearedBy(row, node.store.get(FLUSH_ROW_KEY));
  }

  /** A node stamped client records: each stamp must exceed all its earlier committed ones. */
  onLocalStamps(node: SimNode, requestId: number, records: readonly VersionedRecord[]): void {
    this.sim.history.ledger.stamped(node.name, requestId, node.id, records);
    const newest = this.sim.history.newestStampOf(node.id);
    if (newest === undefined) return;
    for (const record of records) {
      if (this.sim.history.isDerivedClear(record)) continue; // stamped by the expiry, not the clock
      if (isClearRow(record.key) && !this.sim.history.ledger.batchWritesClear(node.name, requestId, record.key)) continue;
      if (compareHlc(record.hlc, newest) <= 0) {
        this.sim.history.fail('hlc-monotonic', this.sim.nowMs, `${node.name} stamped ${describeRecord(record)}, not above its own committed stamp ${hlcText(newest)} (stamp reused after restart?)`);
      }
    }
  }

  onAcked(node: SimNode, requestId: number, records: readonly VersionedRecord[], writeSeq: number): void {
    const sim = this.sim;
    sim.history.ledger.acked(node.name, requestId);
    sim.history.noteAcked(node.name, records, sim.nowMs);
    const acked = this.acked[node.index]!;
    for (const record of records) {
      const mapKey = bytesToMapKey(record.key);
      const held = acked.get(mapKey);
      if (held === undefined) this.ackedKeys[node.index]!.push(record.key);
      if (held === undefined || compareVersions(record, held) > 0) acked.set(mapKey, record);
    }
    if (sim.phase !== 'chaos' || !this.workload.wantsWait()) return;
    const { replicas, timeoutMs } = this.workload.drawWait(sim.nodes.length - 1);
    const waitId = ++this.requestCounter;
    this.waits[node.index]!.set(waitId, { records, writeSeq });
    const nowMs = sim.nodeNowMs(node);
    sim.deliver(node, sim.nowMs, () => ({ kind: 'wait', nowMs: 0, requestId: waitId, writeSeq, replicas, deadlineMs: nowMs + timeoutMs }));
  }

  /** WAIT said `replicas` peers hold the write: at least that many must have it committed. */
  onWaitDone(node: SimNode, requestId: number, replicas: number): void {
    const wait = this.waits[node.index]!.get(requestId);
    if (wait === undefined) return;
    this.waits[node.index]!.delete(requestId);
    let holders = 0;
    for (const other of this.sim.nodes) {
      if (other === node) continue;
      const holds = wait.records.every((record) => {
        const stored = other.store.getCommitted(record.key);
        if (stored === undefined) return this.sim.history.absenceExplained(record.key, record, this.sim.nodeNowMs(other));
        return compareVersions(stored, record) >= 0;
      });
      if (holds) holders++;
    }
    if (replicas > holders) {
      const what = wait.records.map(describeRecord).join(' ');
      this.sim.history.fail('wait-replicas', this.sim.nowMs, `${node.name} WAIT for seq ${wait.writeSeq} (${what}) answered ${replicas} but only ${holders} peers committed it`);
    }
  }

  onCrash(node: SimNode): void {
    this.waits[node.index]!.clear();
    this.lastPositions[node.index] = 0;
    this.sim.history.ledger.forgetPending(node.name);
  }
}

function hasLiveHeader(node: SimNode, key: Uint8Array, nowMs: number): boolean {
  return !isAbsent(node.store.get(headerRowKey(key)), nowMs);
}

function compareVersionsOrUndefined(stored: VersionedRecord | undefined, acked: VersionedRecord): number {
  return stored === undefined ? -1 : compareVersions(stored, acked);
}

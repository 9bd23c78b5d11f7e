// The simulated clients: drive the workload on every node during the chaos phase, keep
// what each node acknowledged, and check what clients can see directly (their reads and
// WAIT answers) at the moment they see it.
import { bytesToMapKey } from '../../src/core/bytes.js';
import { compareHlc } from '../../src/core/hlc.js';
import { compareVersions, isAbsent } from '../../src/core/record.js';
import type { VersionedRecord } from '../../src/core/types.js';
import type { Simulator, SimNode } from './harness.js';
import { hlcText } from './invariants.js';
import { describeRecord } from './trace.js';
import type { Workload } from './workload.js';

interface PendingWait {
  readonly records: readonly VersionedRecord[];
  readonly writeSeq: number;
}

export class ClientDriver {
  reads = 0;
  private requestCounter = 0;
  /** Newest version acknowledged by each node per key: its reads may never be older. */
  private readonly acked: Map<string, VersionedRecord>[];
  private readonly waits: Map<number, PendingWait>[];

  constructor(
    private readonly sim: Simulator,
    private readonly workload: Workload,
  ) {
    this.acked = sim.nodes.map(() => new Map());
    this.waits = sim.nodes.map(() => new Map());
  }

  start(): void {
    for (const node of this.sim.nodes) this.schedule(node);
  }

  private schedule(node: SimNode): void {
    this.sim.queue.push(this.sim.nowMs + this.workload.nextGapMs(), () => this.operate(node));
  }

  private operate(node: SimNode): void {
    const sim = this.sim;
    if (sim.phase !== 'chaos') return;
    this.schedule(node);
    if (node.core === undefined || node.frozenUntilMs > sim.nowMs) return;
    const op = this.workload.nextOp(node.index, sim.nodeNowMs(node));
    if (op.kind === 'read') {
      this.read(node, op.key);
      return;
    }
    const requestId = ++this.requestCounter;
    sim.step(node, { kind: 'clientWrite', nowMs: sim.nodeNowMs(node), requestId, writes: op.writes });
  }

  private read(node: SimNode, key: Uint8Array): void {
    this.reads++;
    const stored = node.store.get(key);
    const acked = this.acked[node.index]!.get(bytesToMapKey(key));
    if (acked === undefined) return;
    const nowMs = this.sim.nodeNowMs(node);
    // Reading absent is right when a delete at least as new as the acknowledged write exists.
    const absent = stored === undefined || isAbsent(stored, nowMs);
    const fine = compareVersionsOrUndefined(stored, acked) >= 0 || (absent && this.sim.history.absenceExplained(key, acked, nowMs));
    if (!fine) {
      this.sim.history.fail('read-your-writes', this.sim.nowMs, `${node.name} read ${stored ? describeRecord(stored) : 'nothing'} after acknowledging ${describeRecord(acked)}`);
    }
  }

  /** A node stamped client records: each stamp must exceed all its earlier committed ones. */
  onLocalStamps(node: SimNode, records: readonly VersionedRecord[]): void {
    const newest = this.sim.history.newestStampOf(node.id);
    if (newest === undefined) return;
    for (const record of records) {
      if (compareHlc(record.hlc, newest) <= 0) {
        this.sim.history.fail('hlc-monotonic', this.sim.nowMs, `${node.name} stamped ${describeRecord(record)}, not above its own committed stamp ${hlcText(newest)} (stamp reused after restart?)`);
      }
    }
  }

  onAcked(node: SimNode, records: readonly VersionedRecord[], writeSeq: number): void {
    const sim = this.sim;
    sim.history.noteAcked(node.name, records, sim.nowMs);
    const acked = this.acked[node.index]!;
    for (const record of records) {
      const mapKey = bytesToMapKey(record.key);
      const held = acked.get(mapKey);
      if (held === undefined || compareVersions(record, held) > 0) acked.set(mapKey, record);
    }
    if (sim.phase !== 'chaos' || !this.workload.wantsWait()) return;
    const { replicas, timeoutMs } = this.workload.drawWait(sim.nodes.length - 1);
    const requestId = ++this.requestCounter;
    this.waits[node.index]!.set(requestId, { records, writeSeq });
    const nowMs = sim.nodeNowMs(node);
    sim.deliver(node, sim.nowMs, () => ({ kind: 'wait', nowMs: 0, requestId, writeSeq, replicas, deadlineMs: nowMs + timeoutMs }));
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
  }
}

function compareVersionsOrUndefined(stored: VersionedRecord | undefined, acked: VersionedRecord): number {
  return stored === undefined ? -1 : compareVersions(stored, acked);
}

// Quorum reads (`peerkv get --quorum`): ask every linked peer for a key, answer with the
// newest version once a majority of members (this node included) replied, and repair
// the replicas that answered with something older.
import type { Effect } from './io.js';
import { compareVersions } from './record.js';
import type { NodeId, VersionedRecord } from './types.js';

/** Concurrent quorum reads per node; more are refused at once rather than queued. */
export const QUORUM_READS_MAX = 10_000;
const HLC_UNSET = { wallMs: 0, logical: 0 };

interface PendingRead {
  readonly requestId: number;
  readonly needed: number;
  readonly deadlineMs: number;
  readonly answers: Map<NodeId, VersionedRecord | null>;
  newest: VersionedRecord | undefined;
}

export class QuorumReads {
  private readonly pending = new Map<number, PendingRead>();
  private nextId = 1;

  constructor(private readonly self: NodeId) {}

  /**
   * Start a read. `local` is this node's own version (one answer); `memberCount` counts
   * every listed member, this node included, so dead members still raise the bar.
   */
  start(requestId: number, key: Uint8Array, local: VersionedRecord | undefined, peers: readonly NodeId[], memberCount: number, deadlineMs: number, out: Effect[]): void {
    const needed = Math.floor(memberCount / 2) + 1;
    const read: PendingRead = { requestId, needed, deadlineMs, answers: new Map([[this.self, local ?? null]]), newest: local };
    if (this.pending.size >= QUORUM_READS_MAX) {
      out.push({ kind: 'quorumReadDone', requestId, ok: false, record: undefined, replies: 1, needed });
      return;
    }
    const id = this.nextId++;
    this.pending.set(id, read);
    for (const peer of peers) out.push({ kind: 'send', to: peer, hlc: HLC_UNSET, message: { type: 'readRequest', id, key } });
    this.finishIfDone(id, read, Number.NEGATIVE_INFINITY, out);
  }

  /** A peer's answer; returns a newer version this node must merge, if the read completed with one. */
  onReply(from: NodeId, id: number, record: VersionedRecord | null, nowMs: number, out: Effect[]): VersionedRecord | undefined {
    const read = this.pending.get(id);
    if (read === undefined || read.answers.has(from)) return undefined;
    read.answers.set(from, record);
    if (record !== null && (read.newest === undefined || compareVersions(record, read.newest) > 0)) read.newest = record;
    return this.finishIfDone(id, read, nowMs, out);
  }

  onTick(nowMs: number, out: Effect[]): void {
    for (const [id, read] of this.pending) this.finishIfDone(id, read, nowMs, out);
  }

  nextDeadlineMs(): number {
    let deadline = Infinity;
    for (const read of this.pending.values()) if (read.deadlineMs < deadline) deadline = read.deadlineMs;
    return deadline;
  }

  private finishIfDone(id: number, read: PendingRead, nowMs: number, out: Effect[]): VersionedRecord | undefined {
    const replies = read.answers.size;
    const ok = replies >= read.needed;
    if (!ok && nowMs < read.deadlineMs) return undefined;
    this.pending.delete(id);
    out.push({ kind: 'quorumReadDone', requestId: read.requestId, ok, record: ok ? read.newest : undefined, replies, needed: read.needed });
    const newest = read.newest;
    if (!ok || newest === undefined) return undefined;
    let localIsStale = false;
    for (const [peer, answer] of read.answers) {
      if (answer !== null && compareVersions(answer, newest) >= 0) continue;
      if (peer === this.self) localIsStale = true;
      else out.push({ kind: 'send', to: peer, hlc: HLC_UNSET, message: { type: 'repair', records: [newest] } });
    }
    return localIsStale ? newest : undefined;
  }
}

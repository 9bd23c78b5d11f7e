// Per-link replication state: what each linked peer acknowledged, the records queued
// for it, the part of a client write received so far, and the WAIT requests counting
// those acknowledgements. Acks are cumulative and only mean something on the link they
// arrived on, so the state lives and dies with the link.
//
// A client write (one SET, one MSET, one MULTI/EXEC) is one batch of records that every
// peer must apply in one transaction: frames are cut only between client writes, and a
// client write too big for one frame travels in frames marked `more` that the receiver
// holds until the last one arrives, then merges all of them together.
import { compareHlc } from './hlc.js';
import type { Effect } from './io.js';
import type { PeerMessage } from './messages.js';
import { REPLICATE_RECORDS_MAX, type ReplicationMessage } from './replication.js';
import type { Hlc, NodeId, VersionedRecord } from './types.js';

/** Pending waits are answered at their deadline at the latest; bound them anyway. */
export const PENDING_WAITS_MAX = 100_000;
/** Bytes per record beyond key and value in a batch size estimate. */
const RECORD_OVERHEAD_BYTES = 48;
/**
 * A link holds new records while REPLICATE_FLUSHES_IN_FLIGHT_MAX of its sends are
 * unacknowledged (Nagle's algorithm with a window), so a peer that falls behind gets
 * what was written meanwhile in one frame, and sender and receiver pay per-frame costs
 * (a socket write, an LMDB transaction) once per batch instead of once per event-loop
 * turn. Frames leave once per commit of the writer at most, and an ack comes after the
 * peer's commit, so the window is wide enough that a peer keeping up is never waited
 * for: with a window of two, at 10,000 writes/s the third frame usually waited for an
 * ack and the median replication delay was 1.8-2.9 ms against 1.4-1.9 with sixteen
 * (same machine, interleaved runs; cluster write throughput the same). A full batch
 * goes without waiting, and a hold ends after this long even if no ack comes (a peer
 * that stopped acking, see receiveGap): the node wakes then to send.
 */
export const REPLICATE_HOLD_MAX_MS = 20;
/** Sends (one flush of a link's queue each) that may await their ack before the link holds. */
export const REPLICATE_FLUSHES_IN_FLIGHT_MAX = 16;
const HLC_UNSET: Hlc = { wallMs: 0, logical: 0 };
/**
 * Estimated bytes of the unfinished client write a receiver holds from one link. The
 * biggest transaction a client can queue (MULTI_QUEUED_BYTES_MAX, 1 GiB) fits; past this
 * the link stops acknowledging (receiveGap) and anti-entropy brings the rows instead.
 */
export const REPLICATE_PARTIAL_BYTES_MAX = 2 * 1024 * 1024 * 1024;

export interface PeerLink {
  /** Highest write sequence the peer acknowledged on this link. */
  ackedSeq: number;
  /** Our write sequence when the link came up: earlier writes were not pushed on it. */
  readonly linkStartSeq: number;
  /**
   * The peer's clock when the link came up on its side (its syncHello): it pushes on this
   * link every write it stamps later. Undefined until that hello arrives.
   */
  pushedAfter: Hlc | undefined;
  outbox: VersionedRecord[];
  /** Where each client write queued in the outbox ends (exclusive indices, ascending), and its write sequence. */
  outboxWriteEnds: number[];
  outboxWriteSeqs: number[];
  outboxSeq: number;
  /** Estimated bytes of the outbox. */
  outboxBytes: number;
  /** Sequence of the last replicate frame sent on this link, and when it was sent. */
  sentSeq: number;
  sentAtMs: number;
  /** The seqs of the last REPLICATE_FLUSHES_IN_FLIGHT_MAX sends, oldest first (those above ackedSeq are in flight). */
  sentSeqs: number[];
  /**
   * We dropped a replicate frame from this peer on this link (clock too far ahead), so
   * our acks, being cumulative, would vouch for writes we never stored: stop acking.
   */
  receiveGap: boolean;
  /** Records of a client write whose last frame has not arrived yet (frames marked `more`). */
  partial: VersionedRecord[];
  partialBytes: number;
  /** A frame of the client write being received was dropped: drop the rest of it too. */
  partialDropped: boolean;
}

interface PendingWait {
  readonly requestId: number;
  readonly writeSeq: number;
  readonly replicas: number;
  readonly deadlineMs: number;
}

/** A send effect; the node core stamps the frame with its clock. */
export function sendEffect(to: NodeId, message: PeerMessage): Effect {
  return { kind: 'send', to, hlc: HLC_UNSET, message };
}

/** Whether REPLICATE_FLUSHES_IN_FLIGHT_MAX sends await their ack (seqs grow: the oldest kept decides). */
function windowFull(link: PeerLink): boolean {
  return link.sentSeqs.length === REPLICATE_FLUSHES_IN_FLIGHT_MAX && link.sentSeqs[0]! > link.ackedSeq;
}

function sameRecords(a: readonly VersionedRecord[], b: readonly VersionedRecord[]): boolean {
  if (a.length !== b.length) return false;
  for (let index = 0; index < a.length; index++) if (a[index] !== b[index]) return false;
  return true;
}

export function recordBytes(record: VersionedRecord): number {
  return record.key.length + (record.value?.length ?? 0) + RECORD_OVERHEAD_BYTES;
}

/**
 * Anti-entropy leaves a row to replication (arrivesByReplication) only while it is this
 * recent: long enough for a frame under load to arrive (replication delay p99 is ~10 ms),
 * short enough that the next round or two repairs a row whose frame was lost.
 */
export const REPLICATION_PRIORITY_WINDOW_MS = 5_000;

export class ReplicationLinks {
  private readonly links = new Map<NodeId, PeerLink>();
  private readonly waits: PendingWait[] = [];
  recordsSent = 0;

  constructor(private readonly batchBytesMax: number) {}

  open(peer: NodeId, writeSeq: number): void {
    this.links.set(peer, {
      ackedSeq: 0,
      linkStartSeq: writeSeq,
      pushedAfter: undefined,
      outbox: [],
      outboxWriteEnds: [],
      outboxWriteSeqs: [],
      outboxSeq: 0,
      outboxBytes: 0,
      sentSeq: 0,
      sentAtMs: 0,
      sentSeqs: [],
      receiveGap: false,
      partial: [],
      partialBytes: 0,
      partialDropped: false,
    });
  }

  close(peer: NodeId): void {
    this.links.delete(peer);
  }

  get(peer: NodeId): PeerLink | undefined {
    return this.links.get(peer);
  }

  has(peer: NodeId): boolean {
    return this.links.has(peer);
  }

  peers(): NodeId[] {
    return [...this.links.keys()].sort();
  }

  /** Queue the records of one committed client write for every linked peer; flush sends them. */
  queueLocal(records: readonly VersionedRecord[], writeSeq: number): void {
    if (records.length === 0) return;
    let bytes = 0;
    for (const record of records) bytes += recordBytes(record);
    for (const link of this.links.values()) {
      for (const record of records) link.outbox.push(record);
      link.outboxWriteEnds.push(link.outbox.length);
      link.outboxWriteSeqs.push(writeSeq);
      link.outboxSeq = writeSeq;
      link.outboxBytes += bytes;
    }
  }

  /** Whether a link keeps its queue for now: its window of sends is unacknowledged, the last recent, and the queue not full. */
  private holds(link: PeerLink, nowMs: number): boolean {
    return (
      windowFull(link) &&
      nowMs - link.sentAtMs < REPLICATE_HOLD_MAX_MS &&
      link.outboxBytes < this.batchBytesMax &&
      link.outbox.length < REPLICATE_RECORDS_MAX
    );
  }

  /**
   * One replicate frame per peer per call (split only past the batch bounds), except to
   * peers that hold (see REPLICATE_HOLD_MAX_MS). Peers with the same queue (the usual
   * case) share the message objects, so the transport encodes each frame once for all.
   */
  flush(nowMs: number, out: Effect[]): void {
    let shared: { readonly records: readonly VersionedRecord[]; readonly seq: number; readonly messages: PeerMessage[] } | undefined;
    for (const [peer, link] of this.links) {
      const records = link.outbox;
      if (records.length === 0 || this.holds(link, nowMs)) continue;
      if (shared === undefined || shared.seq !== link.outboxSeq || !sameRecords(shared.records, records)) {
        shared = { records, seq: link.outboxSeq, messages: this.batches(records, link.outboxWriteEnds, link.outboxWriteSeqs) };
      }
      for (const message of shared.messages) out.push(sendEffect(peer, message));
      this.recordsSent += records.length;
      link.outbox = [];
      link.outboxWriteEnds = [];
      link.outboxWriteSeqs = [];
      link.outboxBytes = 0;
      link.sentSeq = link.outboxSeq;
      link.sentAtMs = nowMs;
      link.sentSeqs.push(link.outboxSeq);
      if (link.sentSeqs.length > REPLICATE_FLUSHES_IN_FLIGHT_MAX) link.sentSeqs.shift();
    }
  }

  /**
   * Frames within the batch bounds, cut only between client writes: a write that does not
   * fit in what is left of a frame starts the next one. A write bigger than a whole frame
   * is cut inside, and every frame but its last is marked `more` (the receiver holds them).
   * Each frame's seq is that of the last write it ends, so an ack never vouches for a
   * write still in a later frame.
   */
  private batches(records: readonly VersionedRecord[], writeEnds: readonly number[], writeSeqs: readonly number[]): PeerMessage[] {
    const messages: PeerMessage[] = [];
    let start = 0;
    let bytes = 0;
    let seq = 0;
    const cut = (end: number, more: boolean) => {
      const batch = start === 0 && end === records.length ? records : records.slice(start, end);
      messages.push(more ? { type: 'replicate', seq, records: batch, more: true } : { type: 'replicate', seq, records: batch });
      start = end;
      bytes = 0;
    };
    let writeStart = 0;
    for (let write = 0; write < writeEnds.length; write++) {
      const writeEnd = writeEnds[write]!;
      let writeBytes = 0;
      for (let index = writeStart; index < writeEnd; index++) writeBytes += recordBytes(records[index]!);
      if (writeStart > start && (bytes + writeBytes > this.batchBytesMax || writeEnd - start > REPLICATE_RECORDS_MAX)) cut(writeStart, false);
      seq = writeSeqs[write]!;
      let split = false;
      for (let index = writeStart; index < writeEnd; index++) {
        const size = recordBytes(records[index]!);
        // Only a write too big for a frame of its own gets here with a full frame.
        if (index > start && (bytes + size > this.batchBytesMax || index - start >= REPLICATE_RECORDS_MAX)) {
          cut(index, true);
          split = true;
        }
        bytes += size;
      }
      // The last frame of a split write holds nothing else (a receiver that dropped part
      // of the write drops that frame too, and nothing more).
      if (split) cut(writeEnd, false);
      writeStart = writeEnd;
    }
    if (start < records.length) cut(records.length, false);
    return messages;
  }

  /**
   * The records of a replicate frame that are ready to merge: a frame marked `more` is
   * held (undefined) until the frame that ends its client write, which returns them all.
   * A held write past REPLICATE_PARTIAL_BYTES_MAX is dropped and the link stops acking.
   */
  receive(peer: NodeId, message: Extract<ReplicationMessage, { type: 'replicate' }>): readonly VersionedRecord[] | undefined {
    const link = this.links.get(peer);
    if (link === undefined) return undefined;
    if (link.partialDropped) {
      // The rest of a client write one of whose frames was dropped: never half of it.
      if (message.more !== true) link.partialDropped = false;
      return undefined;
    }
    if (message.more !== true && link.partial.length === 0) return message.records;
    for (const record of message.records) {
      link.partial.push(record);
      link.partialBytes += recordBytes(record);
    }
    if (link.partialBytes > REPLICATE_PARTIAL_BYTES_MAX) {
      this.dropped(peer, message);
      return undefined;
    }
    if (message.more === true) return undefined;
    const whole = link.partial;
    link.partial = [];
    link.partialBytes = 0;
    return whole;
  }

  /**
   * A replicate frame from peer was not stored (clock too far ahead, partial write too
   * big): acks would vouch for it, so the link stops acking; a client write it belonged to
   * is dropped whole (anti-entropy brings its rows).
   */
  dropped(peer: NodeId, message: Extract<ReplicationMessage, { type: 'replicate' }>): void {
    const link = this.links.get(peer);
    if (link === undefined) return;
    link.receiveGap = true;
    link.partialDropped = message.more === true;
    link.partial = [];
    link.partialBytes = 0;
  }

  /** The peer's syncHello: from `pushedAfter` on (its clock), it pushes all it writes on this link. */
  notePushedAfter(peer: NodeId, pushedAfter: Hlc | undefined): void {
    const link = this.links.get(peer);
    if (link !== undefined) link.pushedAfter = pushedAfter;
  }

  /**
   * Whether a row will reach us from its origin over their live link: stamped after the
   * link came up on the origin's side, and the link lost nothing so far. Anti-entropy leaves
   * such rows to replication: merged on their own, they could show part of a client write
   * (a MULTI/EXEC) before the rest of it arrives.
   */
  arrivesByReplication(record: VersionedRecord, nowMs: number): boolean {
    // Only recent rows: a frame that never arrived (a link that lost it without going
    // down) must not keep anti-entropy from repairing the row for ever.
    if (record.hlc.wallMs < nowMs - REPLICATION_PRIORITY_WINDOW_MS) return false;
    const link = this.links.get(record.origin);
    return link?.pushedAfter !== undefined && !link.receiveGap && !link.partialDropped && compareHlc(record.hlc, link.pushedAfter) > 0;
  }


  /** Record a cumulative ack; false when stale or claiming writes we never issued. */
  acknowledge(peer: NodeId, seq: number, writeSeq: number): boolean {
    const link = this.links.get(peer);
    if (link === undefined || seq <= link.ackedSeq || seq > writeSeq) return false;
    link.ackedSeq = seq;
    return true;
  }

  /** Whether the peer stored every local write up to writeSeq, as acknowledged on its current link. */
  hasStored(peer: NodeId, writeSeq: number): boolean {
    const link = this.links.get(peer);
    return link !== undefined && link.ackedSeq >= writeSeq && writeSeq > link.linkStartSeq;
  }

  /** Peers that acknowledged every write up to writeSeq on their current link. */
  replicasHaving(writeSeq: number): number {
    let count = 0;
    for (const peer of this.links.keys()) if (this.hasStored(peer, writeSeq)) count++;
    return count;
  }

  wait(requestId: number, writeSeq: number, replicas: number, deadlineMs: number, nowMs: number, out: Effect[]): void {
    const count = this.replicasHaving(writeSeq);
    if (count >= replicas || deadlineMs <= nowMs || this.waits.length >= PENDING_WAITS_MAX) {
      out.push({ kind: 'waitDone', requestId, replicas: count });
      return;
    }
    this.waits.push({ requestId, writeSeq, replicas, deadlineMs });
  }

  answerWaits(nowMs: number, out: Effect[]): void {
    if (this.waits.length === 0) return;
    let kept = 0;
    for (const wait of this.waits) {
      const count = this.replicasHaving(wait.writeSeq);
      if (count >= wait.replicas || wait.deadlineMs <= nowMs) out.push({ kind: 'waitDone', requestId: wait.requestId, replicas: count });
      else this.waits[kept++] = wait;
    }
    this.waits.length = kept;
  }

  /** When the earliest hold ends without an ack (the node wakes then to send what it held). */
  nextHoldDeadlineMs(): number {
    let deadline = Infinity;
    for (const link of this.links.values()) {
      if (link.outbox.length > 0 && windowFull(link)) deadline = Math.min(deadline, link.sentAtMs + REPLICATE_HOLD_MAX_MS);
    }
    return deadline;
  }

  nextWaitDeadlineMs(): number {
    let deadline = Infinity;
    for (const wait of this.waits) if (wait.deadlineMs < deadline) deadline = wait.deadlineMs;
    return deadline;
  }
}

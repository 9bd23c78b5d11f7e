// Anti-entropy: peers compare Merkle trees over the key-hash buckets and exchange the
// records of the buckets that differ (DESIGN.md section 3).
//
// A round between A (initiator) and B:
//   A -> B aeRoot          equal roots: B -> A aeInSync, done (one small round trip)
//   B -> A aeNodes L1      children of the root
//   A -> B aeNodes L2      children of the level-1 nodes that differ, and so on, each side
//   B -> A aeNodes L3      descending only into differing subtrees, in chunks of at most
//   A -> B aeNodes L4      AE_NODES_PARENTS_PER_MESSAGE_MAX parents
//   B -> A aeDiff          the differing buckets (B compared the leaves)
//   both   aeRecords/aeAck each side streams its records of those buckets (push-pull) in
//                          bounded batches, with at most AE_BATCHES_IN_FLIGHT_MAX unacked
// A round ends on each side once its own stream is acknowledged and the peer's is done.
// At most one round per peer pair: on link-up only the lower node id starts one, and when
// both sides start one at once anyway (periodic rounds), the lower id's round wins and the
// other side gives its own up.
import { KEY_BUCKET_COUNT } from './bytes.js';
import type { CoreConfig } from './config.js';
import { HLC_ZERO } from './hlc.js';
import type { Effect } from './io.js';
import {
  MERKLE_FANOUT,
  MERKLE_HASH_BYTES,
  MERKLE_LEAF_LEVEL,
  MerkleTree,
  bitmapHasAny,
  bitmapToRanges,
  bucketDigestIndex,
  clearBitmapBit,
  differingDigests,
  isBitmapSet,
  findClearBit,
  findSetBit,
  merkleNodeCount,
  rangesToBitmap,
  setBitmapBit,
} from './merkle.js';
import type { NodeId, VersionedRecord } from './types.js';
import { scanBucketPage, type StoreView } from './store-view.js';
import { messageBytesEstimate, newSession, recordBytesEstimate, type AntiEntropyStatus, type PeerState, type Session } from './antientropy-session.js';
import {
  AE_NODES_PARENTS_PER_MESSAGE_MAX,
  AE_RECORDS_PER_MESSAGE_MAX,
  CHILD_HASHES_BYTES,
  type AntiEntropyMessage,
} from './antientropy-messages.js';

export { AE_NODES_PARENTS_PER_MESSAGE_MAX, AE_RECORDS_PER_MESSAGE_MAX, isAntiEntropyMessage, type AntiEntropyMessage } from './antientropy-messages.js';
export type { AntiEntropyStatus } from './antientropy-session.js';

/**
 * A differing bucket with at least this many rows is compared by sub-digests before its
 * rows travel (aeBucketDigest): one changed field of a million-field hash sends a few
 * hundred rows, not the hash. Below it, sending the rows costs less than the digests.
 */
export const AE_BIG_BUCKET_ROWS_MIN = 2_048;
/** Big buckets compared by digests per round; beyond it they stream whole (bounded digest traffic). */
export const AE_BIG_BUCKETS_PER_ROUND_MAX = 64;

/** Unacknowledged record batches per stream: 2 overlaps the peer's merge with our scan. */
export const AE_BATCHES_IN_FLIGHT_MAX = 2;
/** A session with no message from the peer for this long is given up (the next round repairs). */
export const AE_SESSION_IDLE_TIMEOUT_MS = 30_000;
/** After link-up the higher id waits this long for the lower id's round before starting one. */
export const AE_LINK_UP_ANSWER_GRACE_MS = 2_000;
/**
 * A node runs one round at a time (in-sync answers aside): a node far behind pulls
 * everything once, not once per peer (a new node joining two full peers would otherwise
 * receive every record twice). A round due while another runs is retried after this.
 */
export const AE_BUSY_RETRY_MS = 250;
/**
 * Only a round that heard from its peer this recently counts as under way: one stuck on a
 * peer whose messages do not arrive (a clock too far ahead drops them) must not hold up
 * rounds with everyone else until it times out.
 */
export const AE_BUSY_IDLE_MS = 1_000;
/** The side that answered a round waits this many intervals before starting one itself. */
export const AE_RESPONDER_INTERVAL_FACTOR = 1.5;
/** A long sync logs its progress every this many records moved. */
export const AE_PROGRESS_LOG_RECORDS = 100_000;
/** A finished round that moved at least this many records logs at info, smaller ones at debug. */
export const AE_ROUND_LOG_INFO_RECORDS_MIN = 1_000;
/**
 * The anti-entropy state machine of one node. It reads the tree and the store, never
 * writes them: records it receives are returned from onMessage for the node core to merge
 * (and to feed into tree.update).
 */
export class AntiEntropy {
  private readonly peers = new Map<NodeId, PeerState>();
  private readonly batchRecordsMax: number;
  /** Our sessions are numbered sessionCounter * 2 + parity, so the two initiators of a pair never collide. */
  private sessionCounter = 0;
  private readonly counterValues = {
    rounds: 0,
    rounds_in_sync: 0,
    rounds_deferred_busy: 0,
    rounds_refused_busy: 0,
    big_buckets_compared: 0,
    messages_sent: 0,
    bytes_estimate: 0,
    records_sent: 0,
    records_received: 0,
    messages_ignored: 0,
    sessions_timed_out: 0,
    sessions_aborted: 0,
  };

  constructor(
    private readonly self: NodeId,
    private readonly tree: MerkleTree,
    private readonly view: StoreView,
    private readonly config: CoreConfig,
    nowMs: number,
  ) {
    if (config.antiEntropyBatchRecordsMax < 1) throw new Error('antiEntropyBatchRecordsMax must be at least 1');
    this.batchRecordsMax = Math.min(config.antiEntropyBatchRecordsMax, AE_RECORDS_PER_MESSAGE_MAX);
    void nowMs; // nothing is due before the first link comes up
  }

  onLinkUp(peer: NodeId, nowMs: number, out: Effect[]): void {
    let state = this.peers.get(peer);
    if (state === undefined) {
      state = { peer, linked: true, session: undefined, nextRoundMs: nowMs, peerSessionIdMax: -1, rounds: 0, keysSent: 0, keysReceived: 0 };
      this.peers.set(peer, state);
    }
    state.linked = true;
    state.session = undefined; // a new link: whatever ran on the old one is gone on both sides
    state.peerSessionIdMax = -1; // the peer may have restarted and counts its sessions anew
    // Both ends see the link come up; only the lower id starts, so an in-sync pair costs
    // one round trip. The other starts its own only if none arrived within the grace.
    if (this.self < peer) this.startRound(state, nowMs, out);
    else state.nextRoundMs = nowMs + AE_LINK_UP_ANSWER_GRACE_MS;
  }

  onLinkDown(peer: NodeId): void {
    const state = this.peers.get(peer);
    if (state === undefined) return;
    state.linked = false;
    state.session = undefined;
  }

  onTick(nowMs: number, out: Effect[]): void {
    for (const state of this.peers.values()) {
      if (!state.linked) continue;
      const session = state.session;
      if (session !== undefined && nowMs - session.lastActivityMs >= AE_SESSION_IDLE_TIMEOUT_MS) {
        this.counterValues.sessions_timed_out++;
        this.send(state.peer, { type: 'aeAbort', session: session.id }, out);
        out.push({ kind: 'log', level: 'warn', message: 'anti-entropy round timed out; the next round repairs', fields: { peer: state.peer, session: session.id, phase: session.phase, idleMs: nowMs - session.lastActivityMs } });
        state.session = undefined;
        state.nextRoundMs = nowMs + this.config.antiEntropyIntervalMs;
      }
      if (state.session === undefined && nowMs >= state.nextRoundMs) this.startRound(state, nowMs, out);
    }
  }

  /** Handle one message from a linked peer; returns the records it carried, for the node core to merge. */
  onMessage(from: NodeId, message: AntiEntropyMessage, nowMs: number, out: Effect[]): VersionedRecord[] {
    const state = this.peers.get(from);
    if (state === undefined || !state.linked) return this.ignore();
    if (message.type === 'aeRoot') {
      this.onRoot(state, message, nowMs, out);
      return [];
    }
    const session = state.session;
    if (session === undefined || session.id !== message.session) return this.ignore();
    session.lastActivityMs = nowMs;
    switch (message.type) {
      case 'aeInSync':
        if (!session.initiator || session.phase !== 'root') return this.ignore();
        this.finish(state, session, nowMs, out);
        return [];
      case 'aeNodes':
        if (session.phase === 'stream' || message.level !== session.expectedLevel) return this.ignore();
        this.onNodes(state, session, message, out);
        return [];
      case 'aeDiff':
        if (session.phase === 'stream') return this.ignore();
        rangesToBitmap(message.ranges, session.differing);
        this.startStream(state, session, nowMs, out);
        return [];
      case 'aeRecords':
        return this.onRecords(state, session, message, nowMs, out);
      case 'aeAck':
        if (message.seq < session.batchesAcked || message.seq >= session.batchesSent) return this.ignore();
        session.batchesAcked = message.seq + 1;
        this.pump(state, session, nowMs, out);
        return [];
      case 'aeBucketDigest':
        this.onBucketDigest(state, session, message.bucket, message.hashes, nowMs, out);
        return [];
      case 'aeAbort':
        this.counterValues.sessions_aborted++;
        state.session = undefined;
        state.nextRoundMs = nowMs + this.config.antiEntropyIntervalMs;
        return [];
    }
  }

  /** The earliest time onTick has work: a round due or a session to time out. */
  nextDeadlineMs(): number {
    let deadlineMs = Number.POSITIVE_INFINITY;
    for (const state of this.peers.values()) {
      if (!state.linked) continue;
      const dueMs = state.session === undefined ? state.nextRoundMs : state.session.lastActivityMs + AE_SESSION_IDLE_TIMEOUT_MS;
      if (dueMs < deadlineMs) deadlineMs = dueMs;
    }
    return deadlineMs;
  }

  /** Linked peers, sorted by id; keys counts are totals since start. */
  status(): AntiEntropyStatus[] {
    const result: AntiEntropyStatus[] = [];
    for (const state of this.peers.values()) {
      if (!state.linked) continue;
      result.push({ peer: state.peer, inProgress: state.session !== undefined, keysSent: state.keysSent, keysReceived: state.keysReceived, rounds: state.rounds });
    }
    return result.sort((a, b) => (a.peer < b.peer ? -1 : a.peer > b.peer ? 1 : 0));
  }

  counters(): Record<string, number> {
    return { ...this.counterValues };
  }

  private ignore(): VersionedRecord[] {
    this.counterValues.messages_ignored++;
    return [];
  }

  private send(to: NodeId, message: AntiEntropyMessage, out: Effect[]): void {
    this.counterValues.messages_sent++;
    this.counterValues.bytes_estimate += messageBytesEstimate(message);
    out.push({ kind: 'send', to, hlc: HLC_ZERO, message });
  }

  /** Whether a live round with another peer is under way (see AE_BUSY_RETRY_MS, AE_BUSY_IDLE_MS). */
  private busyWithOther(peer: NodeId, nowMs: number): boolean {
    for (const other of this.peers.values()) {
      if (other.peer !== peer && other.session !== undefined && nowMs - other.session.lastActivityMs < AE_BUSY_IDLE_MS) return true;
    }
    return false;
  }

  private startRound(state: PeerState, nowMs: number, out: Effect[]): void {
    if (this.busyWithOther(state.peer, nowMs)) {
      this.counterValues.rounds_deferred_busy++;
      state.nextRoundMs = nowMs + AE_BUSY_RETRY_MS;
      return;
    }
    this.sessionCounter++;
    const id = this.sessionCounter * 2 + (this.self < state.peer ? 0 : 1);
    state.session = newSession(id, true, nowMs, AE_PROGRESS_LOG_RECORDS);
    const hash = new Uint8Array(MERKLE_HASH_BYTES);
    this.tree.writeNodeHash(0, 0, hash, 0);
    this.send(state.peer, { type: 'aeRoot', session: id, hash }, out);
  }

  private onRoot(state: PeerState, message: { readonly session: number; readonly hash: Uint8Array }, nowMs: number, out: Effect[]): void {
    if (message.session <= state.peerSessionIdMax) return void this.ignore(); // duplicate or stale copy
    const existing = state.session;
    // Both sides started a round at once: the lower id's round wins, the other yields.
    if (existing !== undefined && existing.initiator && existing.phase === 'root' && this.self < state.peer) return void this.ignore();
    state.peerSessionIdMax = message.session;
    if (this.tree.equalsNodeHash(0, 0, message.hash, 0)) {
      this.send(state.peer, { type: 'aeInSync', session: message.session }, out);
      this.countRound(state, nowMs, true, false);
      state.session = undefined;
      return;
    }
    if (this.busyWithOther(state.peer, nowMs)) {
      // The peer retries at its next interval; by then our current round is likely done.
      this.counterValues.rounds_refused_busy++;
      this.send(state.peer, { type: 'aeAbort', session: message.session }, out);
      return;
    }
    const session = newSession(message.session, false, nowMs, AE_PROGRESS_LOG_RECORDS);
    state.session = session;
    setBitmapBit(session.differing, 0); // the root differs: send its children
    this.sendChildLevel(state, session, 0, out);
  }

  private onNodes(state: PeerState, session: Session, message: Extract<AntiEntropyMessage, { type: 'aeNodes' }>, out: Effect[]): void {
    session.phase = 'descend';
    const parentLevel = message.level - 1;
    for (let position = 0; position < message.parents.length; position++) {
      const parent = message.parents[position]!;
      const mask = this.tree.differingChildren(parentLevel, parent, message.hashes, position * CHILD_HASHES_BYTES);
      for (let child = 0; child < MERKLE_FANOUT; child++) if ((mask >>> child) & 1) setBitmapBit(session.differing, parent * MERKLE_FANOUT + child);
    }
    if (!message.done) return;
    if (message.level === MERKLE_LEAF_LEVEL || !bitmapHasAny(session.differing, merkleNodeCount(message.level))) {
      // The differing buckets are known (or nothing differs any more): tell the peer and stream.
      const ranges = message.level === MERKLE_LEAF_LEVEL ? bitmapToRanges(session.differing) : [];
      if (message.level !== MERKLE_LEAF_LEVEL) session.differing.fill(0);
      this.send(state.peer, { type: 'aeDiff', session: session.id, ranges }, out);
      this.startStream(state, session, session.lastActivityMs, out);
      return;
    }
    this.sendChildLevel(state, session, message.level, out);
  }

  /** Send our hashes of the children of every differing node at `level`, then await the level below those. */
  private sendChildLevel(state: PeerState, session: Session, level: number, out: Effect[]): void {
    const parents: number[] = [];
    const nodeCount = merkleNodeCount(level);
    for (let index = findSetBit(session.differing, 0, nodeCount); index < nodeCount; index = findSetBit(session.differing, index + 1, nodeCount)) parents.push(index);
    session.differing.fill(0);
    for (let start = 0; start < parents.length; start += AE_NODES_PARENTS_PER_MESSAGE_MAX) {
      const chunk = parents.slice(start, start + AE_NODES_PARENTS_PER_MESSAGE_MAX);
      const hashes = new Uint8Array(chunk.length * CHILD_HASHES_BYTES);
      for (let position = 0; position < chunk.length; position++) this.tree.writeChildHashes(level, chunk[position]!, hashes, position * CHILD_HASHES_BYTES);
      const done = start + AE_NODES_PARENTS_PER_MESSAGE_MAX >= parents.length;
      this.send(state.peer, { type: 'aeNodes', session: session.id, level: level + 1, parents: chunk, hashes, done }, out);
    }
    session.expectedLevel = level + 2;
  }

  private startStream(state: PeerState, session: Session, nowMs: number, out: Effect[]): void {
    session.phase = 'stream';
    session.cursor = 0;
    // Big buckets leave the plain stream: our digests go first, their rows once the peer's arrive.
    for (let bucket = findSetBit(session.differing, 0, KEY_BUCKET_COUNT); bucket < KEY_BUCKET_COUNT; bucket = findSetBit(session.differing, bucket + 1, KEY_BUCKET_COUNT)) {
      if (session.bigBuckets.size >= AE_BIG_BUCKETS_PER_ROUND_MAX) break;
      if (this.tree.rowsInBucket(bucket) < AE_BIG_BUCKET_ROWS_MIN) continue;
      clearBitmapBit(session.differing, bucket);
      session.bigBuckets.add(bucket);
      this.counterValues.big_buckets_compared++;
      this.send(state.peer, { type: 'aeBucketDigest', session: session.id, bucket, hashes: this.tree.bucketDigests(bucket, this.view) }, out);
    }
    for (const [bucket, hashes] of session.peerDigests) this.resolveBigBucket(session, bucket, hashes);
    session.peerDigests.clear();
    this.pump(state, session, nowMs, out);
  }

  /** The peer's sub-digests of a bucket: stream ours of the differing sub-ranges (if it is one of our big ones). */
  private onBucketDigest(state: PeerState, session: Session, bucket: number, hashes: Uint8Array, nowMs: number, out: Effect[]): void {
    if (session.phase !== 'stream') {
      session.peerDigests.set(bucket, hashes);
      return;
    }
    this.resolveBigBucket(session, bucket, hashes);
    this.pump(state, session, nowMs, out);
  }

  private resolveBigBucket(session: Session, bucket: number, peerHashes: Uint8Array | undefined): void {
    if (!session.bigBuckets.delete(bucket)) return; // streamed whole by us, or already resolved
    const subs = peerHashes === undefined ? undefined : differingDigests(this.tree.bucketDigests(bucket, this.view), peerHashes);
    if (subs === undefined || subs.some((byte) => byte !== 0)) session.bucketScans.push({ bucket, subs, after: undefined });
  }

  private onRecords(state: PeerState, session: Session, message: Extract<AntiEntropyMessage, { type: 'aeRecords' }>, nowMs: number, out: Effect[]): VersionedRecord[] {
    if (session.receivedDone || message.seq !== session.batchesReceived) {
      // A duplicate: acknowledge again so a lost ack cannot stall the sender. A gap: wait for the timeout.
      if (message.seq < session.batchesReceived) this.send(state.peer, { type: 'aeAck', session: session.id, seq: session.batchesReceived - 1 }, out);
      return this.ignore();
    }
    session.batchesReceived++;
    session.receivedDone = message.done;
    if (message.done && session.bigBuckets.size > 0) {
      // The peer's stream ended without digests of these (it streamed them whole, or they were lost): send ours whole.
      for (const bucket of [...session.bigBuckets]) this.resolveBigBucket(session, bucket, undefined);
      this.pump(state, session, nowMs, out);
    }
    const count = message.records.length;
    session.recordsReceived += count;
    state.keysReceived += count;
    this.counterValues.records_received += count;
    // The node core persists what we return in order with later writes, so acking now is safe.
    this.send(state.peer, { type: 'aeAck', session: session.id, seq: message.seq }, out);
    this.logProgress(state, session, out);
    this.finishIfComplete(state, session, nowMs, out);
    return message.records.slice();
  }

  /** Send record batches while the window allows. */
  private pump(state: PeerState, session: Session, nowMs: number, out: Effect[]): void {
    if (session.phase !== 'stream') return;
    while (!session.sentDone && session.batchesSent - session.batchesAcked < AE_BATCHES_IN_FLIGHT_MAX) {
      const records = this.fillBatch(session);
      const done =
        session.pendingIndex >= session.pending.length &&
        findSetBit(session.differing, session.cursor, KEY_BUCKET_COUNT) >= KEY_BUCKET_COUNT &&
        session.bucketScans.length === 0 &&
        session.bigBuckets.size === 0;
      if (records.length === 0 && !done) break; // waiting for the peer's digests
      this.send(state.peer, { type: 'aeRecords', session: session.id, seq: session.batchesSent, records, done }, out);
      session.batchesSent++;
      session.sentDone = done;
      session.recordsSent += records.length;
      state.keysSent += records.length;
      this.counterValues.records_sent += records.length;
      this.logProgress(state, session, out);
    }
    this.finishIfComplete(state, session, nowMs, out);
  }

  /** Up to batchRecordsMax records and about batchBytesMax bytes (one larger record goes alone). */
  private fillBatch(session: Session): VersionedRecord[] {
    const batch: VersionedRecord[] = [];
    let bytes = 0;
    while (batch.length < this.batchRecordsMax) {
      if (session.pendingIndex >= session.pending.length) {
        if (!this.scanMore(session, this.batchRecordsMax - batch.length)) break;
        continue;
      }
      const record = session.pending[session.pendingIndex]!;
      const size = recordBytesEstimate(record);
      if (batch.length > 0 && bytes + size > this.config.batchBytesMax) break;
      session.pendingIndex++;
      batch.push(record);
      bytes += size;
    }
    return batch;
  }

  /** Scan the next run of differing buckets into `pending`; false once every run is scanned. */
  private scanMore(session: Session, limitRecords: number): boolean {
    const from = findSetBit(session.differing, session.cursor, KEY_BUCKET_COUNT);
    if (from >= KEY_BUCKET_COUNT) {
      session.cursor = KEY_BUCKET_COUNT;
      return this.scanBigBucket(session, limitRecords);
    }
    const toExclusive = findClearBit(session.differing, from, KEY_BUCKET_COUNT);
    const result = this.view.scanBuckets(from, toExclusive, limitRecords);
    if (!(result.nextBucket > from && result.nextBucket <= KEY_BUCKET_COUNT)) throw new Error(`scanBuckets made no progress from bucket ${from}`);
    // An exhausted range reports KEY_BUCKET_COUNT: later runs still need scanning.
    session.cursor = Math.min(result.nextBucket, toExclusive);
    session.pending = result.records;
    session.pendingIndex = 0;
    return true;
  }

  /** The next page of the first big bucket to stream (its differing sub-ranges, or all); false when none is left. */
  private scanBigBucket(session: Session, limitRecords: number): boolean {
    const scan = session.bucketScans[0];
    if (scan === undefined) return false;
    const page = scanBucketPage(this.view, scan.bucket, scan.after, limitRecords);
    const subs = scan.subs;
    session.pending = subs === undefined ? page.records : page.records.filter((record) => isBitmapSet(subs, bucketDigestIndex(record.key)));
    session.pendingIndex = 0;
    if (page.done || page.records.length === 0) session.bucketScans.shift();
    else scan.after = page.records[page.records.length - 1]!.key;
    return true;
  }

  private logProgress(state: PeerState, session: Session, out: Effect[]): void {
    const moved = session.recordsSent + session.recordsReceived;
    if (moved < session.nextProgressLogRecords) return;
    session.nextProgressLogRecords = (Math.floor(moved / AE_PROGRESS_LOG_RECORDS) + 1) * AE_PROGRESS_LOG_RECORDS;
    out.push({ kind: 'log', level: 'info', message: 'anti-entropy sync in progress', fields: { peer: state.peer, session: session.id, recordsSent: session.recordsSent, recordsReceived: session.recordsReceived } });
  }

  private finishIfComplete(state: PeerState, session: Session, nowMs: number, out: Effect[]): void {
    if (session.sentDone && session.batchesAcked === session.batchesSent && session.receivedDone) this.finish(state, session, nowMs, out);
  }

  private finish(state: PeerState, session: Session, nowMs: number, out: Effect[]): void {
    const inSync = session.phase === 'root';
    this.countRound(state, nowMs, inSync, session.initiator);
    state.session = undefined;
    const moved = session.recordsSent + session.recordsReceived;
    if (moved > 0) {
      // Writes racing a round make small repairs routine: only a real catch-up is news.
      const level = moved >= AE_ROUND_LOG_INFO_RECORDS_MIN ? 'info' : 'debug';
      out.push({ kind: 'log', level, message: 'anti-entropy round complete', fields: { peer: state.peer, session: session.id, recordsSent: session.recordsSent, recordsReceived: session.recordsReceived, durationMs: nowMs - session.startedMs } });
    }
  }

  private countRound(state: PeerState, nowMs: number, inSync: boolean, initiator: boolean): void {
    state.rounds++;
    this.counterValues.rounds++;
    if (inSync) this.counterValues.rounds_in_sync++;
    // Both ends finish a round within a round trip of each other: with equal intervals their
    // next rounds would start at once and collide (an extra aeRoot each time). The responder
    // waits longer, so the initiator keeps the role and the pair runs one round per interval.
    const factor = initiator ? 1 : AE_RESPONDER_INTERVAL_FACTOR;
    state.nextRoundMs = nowMs + this.config.antiEntropyIntervalMs * factor;
  }
}

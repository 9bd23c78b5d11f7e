// The node core: composes the clock, membership, replication, anti-entropy and the
// expiry sweep behind one step(input) -> effects. It never performs I/O: the runtime
// (or the simulator) carries out the effects, persisting before it acknowledges.
import { AntiEntropy, isAntiEntropyMessage } from './antientropy.js';
import { Keyspace, type Changes } from './keyspace.js';
import type { CoreConfig } from './config.js';
import { compareHlc, createHlcClock, observeHlc, type HlcClock } from './hlc.js';
import type { ClientWrite, Effect, Input, PeerHello } from './io.js';
import { isMembershipMessage, Membership } from './membership.js';
import { MerkleTree } from './merkle.js';
import type { PeerMessage } from './messages.js';
import { QuorumReads } from './quorum-read.js';
import { ReplicationLinks, sendEffect, type PeerLink } from './replication-links.js';
import { Resync } from './resync.js';
import { Rng } from './rng.js';
import { TombstoneTracker } from './tombstones.js';
import type { Hlc, MemberState, NodeId, VersionedRecord } from './types.js';
import type { StoreView } from './store-view.js';

export interface NodeCoreOptions {
  readonly self: PeerHello;
  readonly config: CoreConfig;
  /** The highest stamp this node ever issued or saw (persisted): restarts never reuse one. */
  readonly lastHlc: Hlc;
  readonly seed: number;
  readonly view: StoreView;
  readonly nowMs: number;
  /** The tombstone watcher set saved by an earlier run (saveMeta WATCHERS_META_NAME). */
  readonly savedWatchers?: Uint8Array | undefined;
  /** When this node was last known running (saved periodically); undefined on first start. */
  readonly lastUpMs?: number | undefined;
}

/** Name of the metadata entry holding the members that must acknowledge early purges. */
export const WATCHERS_META_NAME = 'tombstone_watchers';
/** The watcher set is saved when it grows and at this period (keeps last-seen times fresh). */
export const WATCHERS_SAVE_INTERVAL_MS = 60_000;

/** What to do once a persist effect is committed. */
type AfterPersist =
  | { readonly kind: 'local'; readonly records: readonly VersionedRecord[]; readonly writeSeq: number }
  /** Acknowledge seq to `from`, but only on the link it arrived on (`link` identity). */
  | { readonly kind: 'remote'; readonly from: NodeId; readonly seq: number; readonly link: PeerLink }
  | { readonly kind: 'none' };

export class NodeCore {
  readonly self: PeerHello;
  readonly config: CoreConfig;
  readonly clock: HlcClock;
  readonly membership: Membership;
  readonly tree: MerkleTree;
  readonly antiEntropy: AntiEntropy;
  readonly quorumReads: QuorumReads;
  readonly tombstones: TombstoneTracker;
  readonly resync: Resync;
  readonly counters: Record<string, number> = {
    client_writes: 0,
    records_replicated_out: 0,
    records_merged_in: 0,
    records_stale_in: 0,
    clock_offset_drops: 0,
    expired_swept: 0,
    tombstones_purged: 0,
    tombstones_purged_early: 0,
    old_tombstones_refused: 0,
    purged_tombstones_refused: 0,
    rows_cleared: 0,
    clears_deferred: 0,
    type_conflicts: 0,
    publish_relayed_out: 0,
    publish_relayed_in: 0,
    ae_records_left_to_replication: 0,
  };
  readonly keyspace: Keyspace;

  private readonly view: StoreView;
  private readonly peers: ReplicationLinks;
  private readonly afterPersist = new Map<number, AfterPersist>();
  private readonly memberStates = new Map<NodeId, MemberState>();
  private nextToken = 1;
  private writeSeq = 0;
  private nextSweepMs: number;
  private lastClockWarningMs = -Infinity;
  private nextWatchersSaveMs: number;

  constructor(options: NodeCoreOptions) {
    this.self = options.self;
    this.config = options.config;
    this.view = options.view;
    this.peers = new ReplicationLinks(options.config.batchBytesMax);
    this.clock = createHlcClock(options.lastHlc, options.config.hlcMaxOffsetMs);
    const rng = new Rng(options.seed);
    this.membership = new Membership(options.self, options.config, rng, options.nowMs);
    this.tree = new MerkleTree();
    this.tombstones = new TombstoneTracker(options.self.id, options.config.tombstoneGraceMs);
    this.keyspace = new Keyspace(options.view, this.tree, this.tombstones, options.config, this.counters);
    const newestStored = this.keyspace.load();
    // The clock restarts above every stored stamp, not only above the saved bound: a big
    // batch commits in place in a transaction of its own (storage), apart from the bound
    // saved for it, so a crash between the two leaves rows stamped above the bound. A stamp
    // more than the max offset ahead of the wall clock is left out: peers would refuse every
    // frame stamped after it.
    if (compareHlc(newestStored, this.clock.last) > 0 && newestStored.wallMs <= options.nowMs + options.config.hlcMaxOffsetMs) this.clock.last = { wallMs: newestStored.wallMs, logical: newestStored.logical };
    this.antiEntropy = new AntiEntropy(options.self.id, this.tree, options.view, options.config, options.nowMs);
    this.quorumReads = new QuorumReads(options.self.id);
    const knownPeers = this.tombstones.loadWatchers(options.savedWatchers, options.nowMs);
    this.nextWatchersSaveMs = options.nowMs + WATCHERS_SAVE_INTERVAL_MS;
    // A node that never had peers cannot have missed a delete: it never resyncs.
    this.resync = new Resync(knownPeers > 0 ? options.lastUpMs : undefined, options.nowMs, options.config.tombstoneGraceMs);
    this.nextSweepMs = options.nowMs + options.config.sweepIntervalMs;
  }

  /** Keys with a value (expired but unswept included), and those of them with an expiry. */
  get liveKeys(): number {
    return this.keyspace.liveKeys;
  }

  get keysWithExpiry(): number {
    return this.keyspace.keysWithExpiry;
  }

  /** Latest write sequence issued by this node (WAIT counts against it). */
  lastWriteSeq(): number {
    return this.writeSeq;
  }

  linkedPeers(): NodeId[] {
    return this.peers.peers();
  }

  /** Per linked peer, the highest of our write sequences it holds (acknowledged, or older than its link). */
  replicationAcks(): { peer: NodeId; ackedSeq: number }[] {
    return this.peers.peers().map((peer) => {
      const link = this.peers.get(peer)!;
      return { peer, ackedSeq: Math.max(link.ackedSeq, link.linkStartSeq) };
    });
  }

  step(input: Input): Effect[] {
    const out: Effect[] = [];
    const pendingClears = this.keyspace.pendingClearCount;
    this.keyspace.settle(); // the runtime applied the previous step's persist effects
    switch (input.kind) {
      case 'tick':
        this.onTick(input.nowMs, out);
        break;
      case 'clientWrite':
        this.onClientWrite(input.nowMs, input.requestId, input.writes, out);
        break;
      case 'persisted':
        for (const token of input.tokens) this.onPersisted(token, out);
        this.flushReplication(input.nowMs, out);
        // Records held for an unacknowledged frame need a wake-up at the end of the hold.
        return this.finish(out, this.peers.nextHoldDeadlineMs() < Infinity);
      case 'discovered':
        // Our own id too: membership tells our echo from a second node claiming the id.
        this.membership.onDiscovered(input.peer, input.nowMs, out);
        this.reactToMemberChanges(input.nowMs, out);
        break;
      case 'linkUp':
        this.onLinkUp(input.peer, input.nowMs, out);
        this.reactToMemberChanges(input.nowMs, out);
        break;
      case 'linkDown':
        this.peers.close(input.peer);
        this.resync.lose(input.peer);
        this.membership.onLinkDown(input.peer, input.nowMs, out);
        this.antiEntropy.onLinkDown(input.peer);
        this.reactToMemberChanges(input.nowMs, out);
        break;
      case 'peerMessage':
        this.onPeerMessage(input.from, input.hlc, input.message, input.nowMs, out);
        break;
      case 'wait':
        this.peers.wait(input.requestId, input.writeSeq, input.replicas, input.deadlineMs, input.nowMs, out);
        break;
      case 'quorumRead': {
        const members = this.membership.members().length;
        this.quorumReads.start(input.requestId, input.key, this.view.get(input.key), this.linkedPeers(), members, input.deadlineMs, out);
        break;
      }
      case 'publish':
        this.onPublish(input.channel, input.message, out);
        break;
    }
    // Writes and publishes move no deadline (no wakeAt on those hot paths), unless a write
    // left part of a clear for later steps.
    return this.finish(out, (input.kind !== 'clientWrite' && input.kind !== 'publish') || this.keyspace.pendingClearCount > pendingClears);
  }

  private finish(out: Effect[], deadlinesMayHaveMoved: boolean): Effect[] {
    const stamp = this.clock.last;
    for (let index = 0; index < out.length; index++) {
      const effect = out[index]!;
      // Modules leave the frame stamp unset; every frame carries the clock as of this step.
      if (effect.kind === 'send' && effect.hlc.wallMs === 0) out[index] = { ...effect, hlc: stamp };
    }
    if (deadlinesMayHaveMoved) out.push({ kind: 'wakeAt', deadlineMs: this.nextDeadlineMs() });
    return out;
  }

  nextDeadlineMs(): number {
    return Math.min(
      this.membership.nextDeadlineMs(),
      this.antiEntropy.nextDeadlineMs(),
      this.quorumReads.nextDeadlineMs(),
      this.peers.nextWaitDeadlineMs(),
      this.peers.nextHoldDeadlineMs(),
      this.nextSweepMs,
      this.keyspace.pendingClearCount > 0 ? 0 : Infinity, // continue a deferred clear at the next turn
    );
  }

  private onClientWrite(nowMs: number, requestId: number, writes: readonly ClientWrite[], out: Effect[]): void {
    const { records, previous, purgeKeys } = this.keyspace.stamp(writes, this.clock, this.self.id, nowMs);
    const writeSeq = ++this.writeSeq;
    this.tombstones.noteLocalWrite(writeSeq, records);
    const token = this.nextToken++;
    this.afterPersist.set(token, { kind: 'local', records, writeSeq });
    out.push({ kind: 'persist', token, requestId, writeSeq, records, purgeKeys });
    out.push({ kind: 'applied', records, previous, expired: false });
  }

  /** Send what the replication links may send now (see REPLICATE_HOLD_MAX_MS). */
  private flushReplication(nowMs: number, out: Effect[]): void {
    this.peers.flush(nowMs, out);
    this.counters.records_replicated_out = this.peers.recordsSent;
  }

  private onPersisted(token: number, out: Effect[]): void {
    const after = this.afterPersist.get(token);
    if (after === undefined) return;
    this.afterPersist.delete(token);
    if (after.kind === 'local') {
      this.peers.queueLocal(after.records, after.writeSeq);
    } else if (after.kind === 'remote' && this.peers.get(after.from) === after.link && !after.link.receiveGap) {
      // A restarted sender counts its sequence from zero again: an ack from an earlier
      // link would claim writes the new incarnation never sent.
      out.push(sendEffect(after.from, { type: 'replicateAck', seq: after.seq }));
    }
  }

  private onLinkUp(peer: PeerHello, nowMs: number, out: Effect[]): void {
    if (peer.id === this.self.id) {
      this.membership.onLinkUp(peer, nowMs, out);
      return;
    }
    this.peers.open(peer.id, this.writeSeq);
    this.membership.onLinkUp(peer, nowMs, out);
    this.startAntiEntropy(peer.id, nowMs, out);
    // pushedAfter: every write stamped after this one goes to the peer on this link.
    out.push(sendEffect(peer.id, { type: 'syncHello', current: !this.resync.active(), pushedAfter: this.clock.last }));
  }

  private onPeerMessage(from: NodeId, hlc: Hlc, message: PeerMessage, nowMs: number, out: Effect[]): void {
    const observed = observeHlc(this.clock, hlc, nowMs);
    if (!observed.ok) {
      this.counters.clock_offset_drops!++;
      if (message.type === 'replicate') this.peers.dropped(from, message);
      if (nowMs - this.lastClockWarningMs >= 1_000) {
        this.lastClockWarningMs = nowMs;
        out.push({
          kind: 'log',
          level: 'error',
          message: 'peer clock too far ahead: message dropped (check NTP on that host)',
          fields: { peer: from, aheadMs: observed.aheadMs, maxOffsetMs: this.config.hlcMaxOffsetMs, drops: this.counters.clock_offset_drops },
        });
      }
      return;
    }
    if (isMembershipMessage(message)) {
      this.membership.onMessage(from, message, nowMs, out);
      this.reactToMemberChanges(nowMs, out);
    } else if (message.type === 'replicate') {
      const records = this.peers.receive(from, message);
      if (records === undefined) return; // not linked, or a client write whose last frame is still to come
      const winners = this.mergeIncoming(from, records, nowMs, out);
      this.persistChanges(winners, { kind: 'remote', from, seq: message.seq, link: this.peers.get(from)! }, out);
    } else if (message.type === 'replicateAck') {
      if (this.peers.acknowledge(from, message.seq, this.writeSeq)) {
        this.flushReplication(nowMs, out); // records held while the acknowledged frame was in flight
        this.peers.answerWaits(nowMs, out);
        this.purgeAcknowledged(nowMs, out);
      }
    } else if (message.type === 'readRequest') {
      out.push(sendEffect(from, { type: 'readReply', id: message.id, record: this.view.get(message.key) ?? null }));
    } else if (message.type === 'readReply') {
      const newer = this.quorumReads.onReply(from, message.id, message.record, nowMs, out);
      if (newer !== undefined) this.persistChanges(this.mergeIncoming(from, [newer], nowMs, out), { kind: 'none' }, out);
    } else if (message.type === 'syncHello') {
      this.peers.notePushedAfter(from, message.pushedAfter);
      if (this.resync.wantsSourceFrom(message.current)) this.beginResync(from, nowMs, out);
    } else if (message.type === 'purge') {
      this.purgeExact(message.records, nowMs, out);
    } else if (message.type === 'repair') {
      this.persistChanges(this.mergeIncoming(from, message.records, nowMs, out), { kind: 'none' }, out);
    } else if (message.type === 'publish') {
      this.counters.publish_relayed_in!++;
      out.push({ kind: 'published', channel: message.channel, message: message.message });
    } else if (isAntiEntropyMessage(message)) {
      // Until a resync begins, our old records must not travel: they may be forgotten
      // deletes. End the peer's session now rather than leave it to time out.
      if (this.resync.state === 'waiting') {
        if (message.type !== 'aeAbort') out.push(sendEffect(from, { type: 'aeAbort', session: message.session }));
        return;
      }
      const received = this.leftToReplication(this.antiEntropy.onMessage(from, message, nowMs, out), nowMs);
      if (received.length > 0) this.persistChanges(this.mergeIncoming(from, received, nowMs, out), { kind: 'none' }, out);
      if (this.resync.state === 'pulling' && this.resync.peer === from) this.checkResyncDone(from, nowMs, out);
    }
  }

  /**
   * Anti-entropy records without those their origin is replicating to us on a live link:
   * those arrive whole, with the rest of their client write; merged now, one bucket's rows
   * could show part of a MULTI/EXEC. If the link loses anything, the next rounds bring them.
   */
  private leftToReplication(records: VersionedRecord[], nowMs: number): VersionedRecord[] {
    if (records.length === 0) return records;
    const kept = records.filter((record) => !this.peers.arrivesByReplication(record, nowMs));
    this.counters.ae_records_left_to_replication! += records.length - kept.length;
    return kept;
  }

  /** One message object for every peer, so the runtime encodes the frame once. */
  private onPublish(channel: Uint8Array, message: Uint8Array, out: Effect[]): void {
    const relay: PeerMessage = { type: 'publish', channel, message };
    for (const peer of this.peers.peers()) {
      out.push(sendEffect(peer, relay));
      this.counters.publish_relayed_out!++;
    }
  }

  /**
   * LWW-merge records from a peer into local state; returns the records that won. A
   * tombstone we purged comes back when our purge message to that peer was lost (it was
   * not linked then): tell it again, or the two would trade it at every anti-entropy round.
   */
  private mergeIncoming(from: NodeId, records: readonly VersionedRecord[], nowMs: number, out: Effect[]): Changes {
    const merged = this.keyspace.merge(records, nowMs);
    if (merged.records.length > 0) out.push({ kind: 'applied', records: merged.records, previous: merged.previous, expired: false });
    if (merged.refusedPurged.length > 0) out.push(sendEffect(from, { type: 'purge', records: merged.refusedPurged }));
    return merged;
  }

  /** A persist effect for rows and purges that are not client writes; `after` runs once it commits. */
  private persistChanges(changes: Pick<Changes, 'records' | 'purgeKeys'>, after: AfterPersist, out: Effect[]): void {
    const token = this.nextToken++;
    this.afterPersist.set(token, after);
    out.push({ kind: 'persist', token, requestId: 0, writeSeq: 0, records: changes.records, purgeKeys: changes.purgeKeys });
  }

  /**
   * A member declared dead ends its anti-entropy sessions and its link (their messages
   * sit in a dead TCP connection); one that comes back from dead gets a fresh round at once, so a healed
   * partition converges without waiting for the next interval or a session timeout.
   */
  private reactToMemberChanges(nowMs: number, out: Effect[]): void {
    let joined = false;
    const members = this.membership.members();
    for (const member of members) {
      if (member.id === this.self.id) continue;
      const before = this.memberStates.get(member.id);
      if (before === member.state) continue;
      this.memberStates.set(member.id, member.state);
      if (before === undefined) joined = true;
      if (member.state === 'dead') {
        this.antiEntropy.onLinkDown(member.id);
        // Reset the link: frames queued in a TCP connection to an unreachable host could
        // otherwise arrive many minutes later. Keep redialling so it can come back.
        if (this.peers.has(member.id)) {
          out.push({ kind: 'disconnect', peer: member.id });
          out.push({ kind: 'connect', peer: member.id, addr: member.addr });
        }
      } else if (member.state === 'alive' && before === 'dead' && this.peers.has(member.id)) {
        this.antiEntropy.onLinkDown(member.id);
        this.startAntiEntropy(member.id, nowMs, out);
      }
    }
    // Save a new member at once: a node stopped before its next tick must still know,
    // at restart, that it had peers (and may have missed their deletes).
    if (joined) this.noteWatchers(nowMs, out);
    if (this.memberStates.size > members.length) {
      const listed = new Set(members.map((member) => member.id));
      for (const id of this.memberStates.keys()) if (!listed.has(id)) this.memberStates.delete(id);
    }
  }

  private onTick(nowMs: number, out: Effect[]): void {
    this.membership.onTick(nowMs, out);
    this.reactToMemberChanges(nowMs, out);
    this.antiEntropy.onTick(nowMs, out);
    this.quorumReads.onTick(nowMs, out);
    this.peers.answerWaits(nowMs, out);
    this.flushReplication(nowMs, out); // holds that waited too long for an ack
    this.noteWatchers(nowMs, out);
    this.purgeAcknowledged(nowMs, out);
    if (this.resync.state === 'waiting' && nowMs >= this.resync.giveUpAtMs) {
      this.resync.finish();
      out.push({ kind: 'log', level: 'warn', message: 'no current member found after a long absence: serving local data as it is', fields: {} });
      for (const peer of this.linkedPeers()) this.startAntiEntropy(peer, nowMs, out);
    }
    if (nowMs >= this.nextSweepMs) {
      this.sweep(nowMs, out);
      this.nextSweepMs = nowMs + this.config.sweepIntervalMs;
    }
    if (this.keyspace.pendingClearCount > 0) this.purgeClearedSlice(out);
  }

  /** The next slice of a deferred clear's tombstones (Keyspace.applyClear). */
  private purgeClearedSlice(out: Effect[]): void {
    const slice = this.keyspace.purgeClearedSlice();
    if (slice.purgeKeys.length > 0) this.persistChanges(slice, { kind: 'none' }, out);
  }

  /**
   * Start pulling from a current peer: drop every record older than the grace horizon
   * (only those can be deletes the cluster has forgotten), then run a fresh round.
   */
  private beginResync(peer: NodeId, nowMs: number, out: Effect[]): void {
    let dropped = 0;
    if (!this.resync.wiped) {
      dropped = this.keyspace.dropOlderThan(nowMs - this.config.tombstoneGraceMs, (keys) => this.persistChanges({ records: [], purgeKeys: keys }, { kind: 'none' }, out));
    }
    const rounds = this.antiEntropy.status().find((entry) => entry.peer === peer)?.rounds ?? 0;
    this.resync.begin(peer, rounds);
    this.antiEntropy.onLinkDown(peer);
    this.antiEntropy.onLinkUp(peer, nowMs, out);
    out.push({ kind: 'log', level: 'warn', message: 'away longer than the tombstone grace: resyncing from a current peer before serving reads', fields: { peer, droppedRecords: dropped } });
  }

  private checkResyncDone(peer: NodeId, nowMs: number, out: Effect[]): void {
    const status = this.antiEntropy.status().find((entry) => entry.peer === peer);
    if (status === undefined || status.inProgress || status.rounds <= this.resync.roundsAtStart) return;
    this.resync.finish();
    out.push({ kind: 'log', level: 'info', message: 'resync complete: serving reads again', fields: { peer, keysReceived: status.keysReceived } });
    for (const other of this.linkedPeers()) if (other !== peer) this.startAntiEntropy(other, nowMs, out);
  }

  /** Anti-entropy with a peer, except while waiting to resync (our data is not to be shared). */
  private startAntiEntropy(peer: NodeId, nowMs: number, out: Effect[]): void {
    if (this.resync.state !== 'waiting') this.antiEntropy.onLinkUp(peer, nowMs, out);
  }

  /** Every listed member must acknowledge early purges; save the set when it grows. */
  private noteWatchers(nowMs: number, out: Effect[]): void {
    let grew = false;
    for (const member of this.membership.members()) if (this.tombstones.noteMember(member.id, nowMs)) grew = true;
    if (grew || nowMs >= this.nextWatchersSaveMs) {
      this.nextWatchersSaveMs = nowMs + WATCHERS_SAVE_INTERVAL_MS;
      out.push({ kind: 'saveMeta', name: WATCHERS_META_NAME, value: this.tombstones.encodeWatchers() });
    }
  }

  /** Purge local tombstones every watcher stored, here and (by message) on every peer. */
  private purgeAcknowledged(nowMs: number, out: Effect[]): void {
    if (!this.tombstones.hasPending()) return;
    this.noteWatchers(nowMs, out);
    const ready = this.tombstones.takeAcknowledged(nowMs, (peer, writeSeq) => this.peers.hasStored(peer, writeSeq));
    if (ready.length === 0) return;
    const purged = this.purgeExact(ready, nowMs, out);
    this.counters.tombstones_purged_early! += purged.length;
    if (purged.length === 0) return;
    for (const peer of this.peers.peers()) out.push(sendEffect(peer, { type: 'purge', records: purged }));
  }

  /** Remove exactly these tombstone versions where they are still the stored version. */
  private purgeExact(records: readonly VersionedRecord[], nowMs: number, out: Effect[]): VersionedRecord[] {
    const purged = this.keyspace.takeExactTombstones(records);
    this.tombstones.rememberPurged(records, nowMs);
    if (purged.length > 0) this.persistChanges({ records: [], purgeKeys: purged.map((record) => record.key) }, { kind: 'none' }, out);
    return purged;
  }

  /**
   * Turn expired records into tombstones of the same version and purge tombstones past
   * the grace period, a bounded slice of buckets per call.
   */
  private sweep(nowMs: number, out: Effect[]): void {
    const swept = this.keyspace.sweepSlice(nowMs);
    if (swept.records.length === 0 && swept.purgeKeys.length === 0) return;
    this.persistChanges(swept, { kind: 'none' }, out);
    if (swept.records.length > 0) out.push({ kind: 'applied', records: swept.records, previous: swept.previous, expired: true });
  }
}

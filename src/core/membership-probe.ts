// SWIM probing: direct pings, indirect probes through helpers (pingReq), the relays
// we run for others, and their deadlines. Whether a member answers is all it decides;
// what a failed probe means (suspicion) belongs to the Membership that owns it.
import type { CoreConfig } from './config.js';
import type { Effect } from './io.js';
import type { MemberRecord } from './membership-gossip.js';
import type { MemberGossip, MembershipMessage } from './membership-messages.js';
import type { Rng } from './rng.js';
import type { NodeId } from './types.js';

/** pingReq relays in flight at most; beyond it the requester relies on its other helpers. */
export const RELAYS_MAX = 256;

/** What the prober needs from the membership that owns it. */
export interface ProbeHost {
  readonly selfId: NodeId;
  member(id: NodeId): MemberRecord | undefined;
  /** Members we may ask to probe for us: alive, linked, sorted by id. */
  helpers(excluding: NodeId): NodeId[];
  gossipFor(recipient: MemberRecord): MemberGossip[];
  send(to: NodeId, message: MembershipMessage, out: Effect[]): void;
  /** Neither the target nor any helper answered in time. */
  probeFailed(target: NodeId, nowMs: number, out: Effect[]): void;
}

interface Probe {
  readonly seq: number;
  readonly target: NodeId;
  phase: 'direct' | 'indirect';
  deadlineMs: number;
}

/** A ping we make for another member's pingReq. */
interface Relay {
  readonly requester: NodeId;
  readonly requesterSeq: number;
  readonly target: NodeId;
  readonly deadlineMs: number;
}

const PROBE_COUNTER_NAMES = [
  'probes_sent', // direct pings of our own probes
  'acks', // direct acks that answered one of our probes
  'indirect_probes', // pingReqs we sent
  'indirect_acks', // probes answered through a helper
  'ping_reqs_relayed', // pings we made for others
  'relays_dropped', // pingReqs refused: too many in flight
  'stale_acks', // acks and indirect acks matching no pending probe or relay
] as const;

type ProbeCounterName = (typeof PROBE_COUNTER_NAMES)[number];

export class Prober {
  private readonly probes = new Map<number, Probe>();
  private readonly seqByTarget = new Map<NodeId, number>();
  private readonly relays = new Map<number, Relay>();
  private readonly stats = new Map<ProbeCounterName, number>(PROBE_COUNTER_NAMES.map((name) => [name, 0]));
  private nextSeq = 1;

  constructor(
    private readonly host: ProbeHost,
    private readonly config: CoreConfig,
    private readonly rng: Rng,
  ) {}

  isProbing(target: NodeId): boolean {
    return this.seqByTarget.has(target);
  }

  start(target: NodeId, nowMs: number, out: Effect[]): void {
    const member = this.host.member(target);
    if (member === undefined || this.seqByTarget.has(target)) return;
    const probe: Probe = { seq: this.nextSeq++, target, phase: 'direct', deadlineMs: nowMs + this.config.probeTimeoutMs };
    this.probes.set(probe.seq, probe);
    this.seqByTarget.set(target, probe.seq);
    // Without a link a ping would be dropped: go straight to helpers. With no helpers
    // either, wait out the direct timeout (the link may be coming up).
    if (member.linked) this.sendPing(member, probe.seq, out);
    else this.escalate(probe, nowMs, out);
  }

  /**
   * Ping at once with our current gossip: a new probe, or a fresh ping for the pending
   * one (same seq, so either ack settles it; a direct wait restarts from now).
   */
  pingNow(member: MemberRecord, nowMs: number, out: Effect[]): void {
    const probe = this.probeOf(member.id);
    if (probe === undefined) return this.start(member.id, nowMs, out);
    if (!member.linked) return;
    this.sendPing(member, probe.seq, out);
    if (probe.phase === 'direct') probe.deadlineMs = nowMs + this.config.probeTimeoutMs;
  }

  /** The link to target broke: a pending direct ping can no longer be answered. */
  onLinkDown(target: MemberRecord, nowMs: number, out: Effect[]): void {
    const probe = this.probeOf(target.id);
    if (probe === undefined) {
      if (target.state !== 'dead') this.start(target.id, nowMs, out);
    } else if (probe.phase === 'direct') this.escalate(probe, nowMs, out);
  }

  onAck(sender: NodeId, seq: number, out: Effect[]): void {
    const probe = this.probes.get(seq);
    if (probe !== undefined && probe.target === sender) {
      this.finish(probe);
      this.count('acks');
      return;
    }
    const relay = this.relays.get(seq);
    if (relay !== undefined && relay.target === sender) {
      this.relays.delete(seq);
      this.host.send(relay.requester, { type: 'indirectAck', seq: relay.requesterSeq, target: relay.target }, out);
      return;
    }
    this.count('stale_acks'); // a late answer to a probe we already settled
  }

  onIndirectAck(seq: number, target: NodeId): void {
    const probe = this.probes.get(seq);
    if (probe !== undefined && probe.target === target && probe.phase === 'indirect') {
      this.finish(probe);
      this.count('indirect_acks');
    } else this.count('stale_acks');
  }

  onPingReq(requester: NodeId, seq: number, targetId: NodeId, nowMs: number, out: Effect[]): void {
    if (targetId === this.host.selfId) {
      // We are the one in doubt: this message is the proof.
      this.host.send(requester, { type: 'indirectAck', seq, target: targetId }, out);
      return;
    }
    const target = this.host.member(targetId);
    if (target === undefined || targetId === requester || !target.linked) return;
    if (this.relays.size >= RELAYS_MAX) {
      this.count('relays_dropped');
      return;
    }
    const ownSeq = this.nextSeq++;
    this.relays.set(ownSeq, { requester, requesterSeq: seq, target: targetId, deadlineMs: nowMs + this.config.indirectProbeTimeoutMs });
    this.host.send(targetId, { type: 'ping', seq: ownSeq, members: this.host.gossipFor(target) }, out);
    this.count('ping_reqs_relayed');
  }

  runDeadlines(nowMs: number, out: Effect[]): void {
    for (const [seq, relay] of this.relays) if (relay.deadlineMs <= nowMs) this.relays.delete(seq);
    const due = [...this.probes.values()].filter((probe) => probe.deadlineMs <= nowMs);
    for (const probe of due) {
      if (probe.phase === 'direct' && this.escalate(probe, nowMs, out)) continue;
      this.finish(probe);
      this.host.probeFailed(probe.target, nowMs, out);
    }
  }

  /** The member is gone: drop its pending probe. */
  forget(target: NodeId): void {
    const probe = this.probeOf(target);
    if (probe !== undefined) this.finish(probe);
  }

  /**
   * We were not running for lateMs: the silence was ours, so give the targets that long
   * again, and at least until notBeforeMs (the answers may be queued, still unread).
   */
  extendDeadlines(lateMs: number, notBeforeMs: number): void {
    for (const probe of this.probes.values()) probe.deadlineMs = Math.max(probe.deadlineMs + lateMs, notBeforeMs);
  }

  hasPending(): boolean {
    return this.probes.size > 0;
  }

  nextDeadlineMs(): number {
    let deadline = Infinity;
    for (const probe of this.probes.values()) deadline = Math.min(deadline, probe.deadlineMs);
    for (const relay of this.relays.values()) deadline = Math.min(deadline, relay.deadlineMs);
    return deadline;
  }

  counters(): Array<[string, number]> {
    return [...this.stats];
  }

  private probeOf(target: NodeId): Probe | undefined {
    const seq = this.seqByTarget.get(target);
    return seq === undefined ? undefined : this.probes.get(seq);
  }

  private sendPing(member: MemberRecord, seq: number, out: Effect[]): void {
    this.host.send(member.id, { type: 'ping', seq, members: this.host.gossipFor(member) }, out);
    this.count('probes_sent');
  }

  /** Ask up to indirectProbeCount helpers to probe; false if there is nobody to ask. */
  private escalate(probe: Probe, nowMs: number, out: Effect[]): boolean {
    const helpers = this.host.helpers(probe.target);
    if (helpers.length === 0) return false;
    const chosen = this.rng.shuffle(helpers).slice(0, this.config.indirectProbeCount);
    for (const helper of chosen) this.host.send(helper, { type: 'pingReq', seq: probe.seq, target: probe.target }, out);
    this.count('indirect_probes', chosen.length);
    probe.phase = 'indirect';
    probe.deadlineMs = nowMs + this.config.indirectProbeTimeoutMs;
    return true;
  }

  private finish(probe: Probe): void {
    this.probes.delete(probe.seq);
    this.seqByTarget.delete(probe.target);
  }

  private count(name: ProbeCounterName, by = 1): void {
    this.stats.set(name, this.stats.get(name)! + by);
  }
}

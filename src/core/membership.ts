// SWIM membership and failure detection as a pure state machine: who is in the
// cluster, which incarnation of each member we believe in, and whether it is alive,
// suspect or dead. Time arrives as nowMs; work comes back as effects in `out`.
//
// Failure detection: one probe (ping) per probeIntervalMs, round-robin over live
// members; no ack within probeTimeoutMs -> ask up to indirectProbeCount others to
// probe (pingReq); nothing within indirectProbeTimeoutMs -> suspect; suspect for
// suspicionTimeoutMs without a refutation -> dead; dead for deadReapMs -> forgotten.
// A member with no link skips the direct wait (a ping could not reach it anyway).
import type { CoreConfig } from './config.js';
import { HLC_ZERO } from './hlc.js';
import type { Effect, LogLevel, PeerHello } from './io.js';
import { overrides, selectGossip, toGossip, toView, type MemberRecord } from './membership-gossip.js';
import {
  GOSSIP_MEMBERS_MAX,
  INCARNATION_MAX,
  isMemberGossip,
  isMembershipMessage,
  type MemberGossip,
  type MembershipMessage,
} from './membership-messages.js';
import { ProbeRotation } from './membership-rotation.js';
import type { Rng } from './rng.js';
import type { MemberState, MemberView, NodeId } from './types.js';
import { isNodeId } from './validate.js';

export {
  GOSSIP_MEMBERS_MAX,
  INCARNATION_MAX,
  MEMBER_ADDR_LENGTH_MAX,
  MEMBER_NAME_LENGTH_MAX,
  isMemberGossip,
  isMembershipMessage,
  type MemberGossip,
  type MembershipMessage,
} from './membership-messages.js';

/**
 * The frame stamp of every send this module pushes. The node core replaces a zero
 * stamp with its clock when it finishes the step, so membership needs no clock.
 */
export const MEMBERSHIP_SEND_HLC = HLC_ZERO;

/** Members held at most; gossip beyond it is ignored so a flood cannot exhaust memory. */
export const MEMBERS_MAX = 4096;

/** pingReq relays in flight at most; beyond it the requester relies on its other helpers. */
export const RELAYS_MAX = 256;

/**
 * Called this much later than our own earliest deadline, we were not running (SIGSTOP,
 * a long GC, a blocked event loop): the silence we timed was ours, so pending probe
 * and suspicion timeouts are extended by the delay. Normal timer lag stays far below.
 */
export const STALL_TOLERANCE_MS = 100;

/** Distinct (id, addr) duplicate-id conflicts logged; later repeats are only counted. */
export const DUPLICATE_REPORTS_MAX = 64;

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

const COUNTER_NAMES = [
  'probes_sent', // direct pings of our own probes
  'acks', // direct acks that answered one of our probes
  'indirect_probes', // pingReqs we sent
  'indirect_acks', // probes answered through a helper
  'ping_reqs_relayed', // pings we made for others
  'relays_dropped', // pingReqs refused: too many in flight
  'suspicions', // members we came to suspect (own probe or gossip)
  'suspicions_refuted', // suspects that proved alive: false alarms
  'deaths', // members we came to hold dead
  'revivals', // dead members back alive (restart or refutation)
  'refutations', // times we raised our own incarnation to refute
  'joins', // members added
  'reaped', // dead members forgotten
  'stale_acks', // acks and indirect acks matching no pending probe or relay
  'unknown_sender_messages', // messages from members we do not know
  'invalid_inputs', // inputs that failed validation
  'duplicate_ids', // hellos or gossip where two nodes claim one id
  'stalls', // times we found ourselves called late and extended timeouts
] as const;

type CounterName = (typeof COUNTER_NAMES)[number];

export class Membership {
  private readonly self: { readonly id: NodeId; readonly name: string; readonly addr: string };
  private ownIncarnation: number;
  private readonly table = new Map<NodeId, MemberRecord>();
  private readonly probes = new Map<number, Probe>();
  private readonly probeSeqByTarget = new Map<NodeId, number>();
  private readonly relays = new Map<number, Relay>();
  private readonly rotation = new ProbeRotation();
  private readonly duplicateReports = new Set<string>();
  private readonly stats = new Map<CounterName, number>(COUNTER_NAMES.map((name) => [name, 0]));
  private nextSeq = 1;
  private nextProbeMs: number;
  private nextAnnounceMs: number;
  private gossipCursor = 0;
  /** Our earliest deadline when the last input finished: we expect to be called by then. */
  private expectedWakeMs: number;
  private lastNowMs: number;

  constructor(
    self: PeerHello,
    private readonly config: CoreConfig,
    private readonly rng: Rng,
    nowMs: number,
  ) {
    if (!isNodeId(self.id)) throw new Error(`Membership: self.id must be 32 lowercase hex characters, got ${String(self.id)}`);
    this.self = { id: self.id, name: self.name, addr: self.addr };
    this.ownIncarnation = self.incarnation;
    this.nextAnnounceMs = nowMs; // announce on the first tick: DESIGN.md 4, "on start"
    this.nextProbeMs = nowMs + config.probeIntervalMs;
    this.expectedWakeMs = nowMs;
    this.lastNowMs = nowMs;
  }

  // ---- inputs ----

  onTick(nowMs: number, out: Effect[]): void {
    this.enter(nowMs, out);
    if (nowMs >= this.nextAnnounceMs) {
      out.push({ kind: 'announce' });
      this.nextAnnounceMs = nowMs + this.config.announceIntervalMs;
    }
    this.runProbeDeadlines(nowMs, out);
    for (const [seq, relay] of this.relays) if (relay.deadlineMs <= nowMs) this.relays.delete(seq);
    this.runMemberDeadlines(nowMs, out);
    if (nowMs >= this.nextProbeMs) {
      this.nextProbeMs = nowMs + this.config.probeIntervalMs;
      const target = this.rotation.next(
        (id) => this.isProbeable(this.table.get(id)) && !this.probeSeqByTarget.has(id),
        () => [...this.table.keys()].sort(),
        this.rng,
      );
      if (target !== undefined) this.startProbe(target, nowMs, out);
    }
    this.leave();
  }

  /** UDP announce or seed: an unknown member (or a newer incarnation) is added and dialled. */
  onDiscovered(hello: PeerHello, nowMs: number, out: Effect[]): void {
    this.enter(nowMs, out);
    if (this.acceptHello(hello, out)) {
      const member = this.table.get(hello.id);
      if (member === undefined) {
        // Answer at once, so the newcomer learns us within one round trip.
        if (this.addMember(hello, nowMs, out, 'discovery') !== undefined) out.push({ kind: 'announce' });
      } else if (this.helloFromKnown(member, hello, nowMs, out)) {
        out.push({ kind: 'connect', peer: member.id, addr: member.addr });
      }
    }
    this.leave();
  }

  /** An authenticated link is up: the member is alive as of the hello's incarnation. */
  onLinkUp(hello: PeerHello, nowMs: number, out: Effect[]): void {
    this.enter(nowMs, out);
    if (this.acceptHello(hello, out)) {
      let member = this.table.get(hello.id);
      if (member === undefined) member = this.addMember(hello, nowMs, out, 'link');
      else if (this.helloFromKnown(member, hello, nowMs, out)) out.push({ kind: 'connect', peer: member.id, addr: member.addr });
      if (member !== undefined) {
        member.linked = true;
        member.lastSeenMs = nowMs;
        // Probe now: greets it with our member list, and a member we hold suspect or dead
        // hears so and can refute (two nodes that each think the other dead).
        this.pingNow(member, nowMs, out);
      }
    }
    this.leave();
  }

  /** A lost link proves nothing by itself: probe at once, through others since there is no link. */
  onLinkDown(peer: NodeId, nowMs: number, out: Effect[]): void {
    this.enter(nowMs, out);
    const member = this.table.get(peer);
    if (member !== undefined) {
      member.linked = false;
      member.lastSeenMs = nowMs;
      const seq = this.probeSeqByTarget.get(peer);
      const probe = seq === undefined ? undefined : this.probes.get(seq);
      if (probe === undefined) {
        if (member.state !== 'dead') this.startProbe(peer, nowMs, out);
      } else if (probe.phase === 'direct') {
        this.escalate(probe, nowMs, out); // the direct ping can no longer be answered
      }
    }
    this.leave();
  }

  onMessage(from: NodeId, message: MembershipMessage, nowMs: number, out: Effect[]): void {
    this.enter(nowMs, out);
    const sender = this.table.get(from);
    if (!isMembershipMessage(message)) this.count('invalid_inputs');
    else if (sender === undefined) this.count('unknown_sender_messages');
    else {
      sender.lastSeenMs = nowMs;
      switch (message.type) {
        case 'ping': {
          this.mergeGossip(sender, message.members, nowMs, out);
          const members = this.gossipFor(sender);
          this.send(sender.id, { type: 'ack', seq: message.seq, members }, out);
          break;
        }
        case 'ack': {
          const refuted = this.mergeGossip(sender, message.members, nowMs, out);
          this.onAck(sender, message.seq, out);
          if (refuted) this.pingNow(sender, nowMs, out); // carry the refutation back to the accuser
          break;
        }
        case 'pingReq':
          this.onPingReq(sender, message.seq, message.target, nowMs, out);
          break;
        case 'indirectAck': {
          const probe = this.probes.get(message.seq);
          if (probe !== undefined && probe.target === message.target && probe.phase === 'indirect') {
            this.finishProbe(probe);
            this.count('indirect_acks');
          } else this.count('stale_acks');
          break;
        }
      }
    }
    this.leave();
  }

  // ---- queries ----

  /** Earliest pending deadline (local ms), Infinity if none. */
  nextDeadlineMs(): number {
    let deadline = Math.min(this.nextAnnounceMs, this.nextProbeMs);
    for (const probe of this.probes.values()) deadline = Math.min(deadline, probe.deadlineMs);
    for (const relay of this.relays.values()) deadline = Math.min(deadline, relay.deadlineMs);
    for (const member of this.table.values()) deadline = Math.min(deadline, member.suspicionDeadlineMs, member.reapDeadlineMs);
    return deadline;
  }

  /** Every member including this node (always alive), sorted by id. */
  members(): MemberView[] {
    const views = [...this.table.values()].map(toView);
    views.push({ ...this.selfGossip(), lastSeenMs: this.lastNowMs });
    return views.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  memberState(id: NodeId): MemberState | undefined {
    if (id === this.self.id) return 'alive';
    return this.table.get(id)?.state;
  }

  /** Other members currently alive or suspect, sorted by id. */
  liveMembers(): NodeId[] {
    const live: NodeId[] = [];
    for (const member of this.table.values()) if (member.state !== 'dead') live.push(member.id);
    return live.sort();
  }

  /** Our own incarnation; grows when we refute. Worth persisting so a restart starts above it. */
  incarnation(): number {
    return this.ownIncarnation;
  }

  counters(): Record<string, number> {
    return Object.fromEntries(this.stats);
  }

  // ---- probing ----

  private isProbeable(member: MemberRecord | undefined): boolean {
    // A dead member with a link up is running: probing it tells it that it is held
    // dead, so it refutes. Without this two nodes that each hold the other dead would
    // never talk again.
    return member !== undefined && (member.state !== 'dead' || member.linked);
  }

  private startProbe(target: NodeId, nowMs: number, out: Effect[]): void {
    const member = this.table.get(target);
    if (member === undefined || this.probeSeqByTarget.has(target)) return;
    const probe: Probe = { seq: this.nextSeq++, target, phase: 'direct', deadlineMs: nowMs + this.config.probeTimeoutMs };
    this.probes.set(probe.seq, probe);
    this.probeSeqByTarget.set(target, probe.seq);
    // Without a link a ping would be dropped: go straight to helpers. With no helpers
    // either, wait out the direct timeout (the link may be coming up).
    if (member.linked) this.sendPing(member, probe.seq, out);
    else this.escalate(probe, nowMs, out);
  }

  /**
   * Ping at once with our current gossip: a new probe, or a fresh ping for the pending
   * one (same seq, so either ack settles it; a direct wait restarts from now).
   */
  private pingNow(member: MemberRecord, nowMs: number, out: Effect[]): void {
    const seq = this.probeSeqByTarget.get(member.id);
    const probe = seq === undefined ? undefined : this.probes.get(seq);
    if (probe === undefined) return this.startProbe(member.id, nowMs, out);
    if (!member.linked) return;
    this.sendPing(member, probe.seq, out);
    if (probe.phase === 'direct') probe.deadlineMs = nowMs + this.config.probeTimeoutMs;
  }

  private sendPing(member: MemberRecord, seq: number, out: Effect[]): void {
    this.send(member.id, { type: 'ping', seq, members: this.gossipFor(member) }, out);
    this.count('probes_sent');
  }

  /** Ask helpers to probe; false if there is nobody to ask. */
  private escalate(probe: Probe, nowMs: number, out: Effect[]): boolean {
    const helpers: NodeId[] = [];
    for (const member of this.table.values()) {
      if (member.id !== probe.target && member.state === 'alive' && member.linked) helpers.push(member.id);
    }
    if (helpers.length === 0) return false;
    const chosen = this.rng.shuffle(helpers.sort()).slice(0, this.config.indirectProbeCount);
    for (const helper of chosen) this.send(helper, { type: 'pingReq', seq: probe.seq, target: probe.target }, out);
    this.stats.set('indirect_probes', this.stats.get('indirect_probes')! + chosen.length);
    probe.phase = 'indirect';
    probe.deadlineMs = nowMs + this.config.indirectProbeTimeoutMs;
    return true;
  }

  private finishProbe(probe: Probe): void {
    this.probes.delete(probe.seq);
    this.probeSeqByTarget.delete(probe.target);
  }

  private runProbeDeadlines(nowMs: number, out: Effect[]): void {
    const due = [...this.probes.values()].filter((probe) => probe.deadlineMs <= nowMs);
    for (const probe of due) {
      if (probe.phase === 'direct' && this.escalate(probe, nowMs, out)) continue;
      this.finishProbe(probe);
      const member = this.table.get(probe.target);
      if (member !== undefined && member.state === 'alive') this.changeState(member, 'suspect', member.incarnation, nowMs, out);
    }
  }

  private onAck(sender: MemberRecord, seq: number, out: Effect[]): void {
    const probe = this.probes.get(seq);
    if (probe !== undefined && probe.target === sender.id) {
      this.finishProbe(probe);
      this.count('acks');
      return;
    }
    const relay = this.relays.get(seq);
    if (relay !== undefined && relay.target === sender.id) {
      this.relays.delete(seq);
      this.send(relay.requester, { type: 'indirectAck', seq: relay.requesterSeq, target: relay.target }, out);
      return;
    }
    this.count('stale_acks'); // a late answer to a probe we already settled
  }

  private onPingReq(requester: MemberRecord, seq: number, targetId: NodeId, nowMs: number, out: Effect[]): void {
    if (targetId === this.self.id) {
      // We are the one in doubt: this message is the proof.
      this.send(requester.id, { type: 'indirectAck', seq, target: targetId }, out);
      return;
    }
    const target = this.table.get(targetId);
    if (target === undefined || targetId === requester.id || !target.linked) return;
    if (this.relays.size >= RELAYS_MAX) {
      this.count('relays_dropped');
      return;
    }
    const ownSeq = this.nextSeq++;
    this.relays.set(ownSeq, { requester: requester.id, requesterSeq: seq, target: targetId, deadlineMs: nowMs + this.config.indirectProbeTimeoutMs });
    this.send(targetId, { type: 'ping', seq: ownSeq, members: this.gossipFor(target) }, out);
    this.count('ping_reqs_relayed');
  }

  // ---- member states ----

  private runMemberDeadlines(nowMs: number, out: Effect[]): void {
    for (const id of [...this.table.keys()].sort()) {
      const member = this.table.get(id)!;
      if (member.suspicionDeadlineMs <= nowMs) this.changeState(member, 'dead', member.incarnation, nowMs, out);
      else if (member.reapDeadlineMs <= nowMs) {
        this.table.delete(id);
        const seq = this.probeSeqByTarget.get(id);
        if (seq !== undefined) this.finishProbe(this.probes.get(seq)!);
        out.push({ kind: 'disconnect', peer: id });
        this.count('reaped');
        this.log(out, 'info', 'member forgotten', memberFields(member));
      }
    }
  }

  /** Move a member to (state, incarnation), with the timers, counters and log line that go with it. */
  private changeState(member: MemberRecord, state: MemberState, incarnation: number, nowMs: number, out: Effect[]): void {
    const previous = member.state;
    if (previous === state && member.incarnation === incarnation) return;
    member.incarnation = incarnation;
    member.state = state;
    member.changedMs = nowMs;
    if (state === 'alive') {
      member.suspicionDeadlineMs = Infinity;
      member.reapDeadlineMs = Infinity;
      this.rotation.insert(member.id, this.rng);
      if (previous === 'suspect') this.count('suspicions_refuted');
      if (previous === 'dead') this.count('revivals');
      if (previous !== 'alive') this.log(out, 'info', 'member alive', memberFields(member, { previous }));
    } else if (state === 'suspect') {
      member.suspicionDeadlineMs = nowMs + this.config.suspicionTimeoutMs;
      member.reapDeadlineMs = Infinity;
      if (previous !== 'suspect') {
        this.count('suspicions');
        this.log(out, 'warn', 'member suspect', memberFields(member, { previous }));
      }
      // Ping it now: the ping carries the suspicion, so a live member refutes in its ack.
      this.pingNow(member, nowMs, out);
    } else {
      member.suspicionDeadlineMs = Infinity;
      if (previous !== 'dead') {
        member.reapDeadlineMs = nowMs + this.config.deadReapMs;
        this.count('deaths');
        this.log(out, 'info', 'member dead', memberFields(member, { previous }));
      }
    }
  }

  private addMember(hello: PeerHello | MemberGossip, nowMs: number, out: Effect[], via: string): MemberRecord | undefined {
    if (this.table.size >= MEMBERS_MAX) return undefined;
    const member: MemberRecord = {
      id: hello.id,
      name: hello.name,
      addr: hello.addr,
      incarnation: hello.incarnation,
      state: 'alive',
      lastSeenMs: nowMs,
      changedMs: nowMs,
      linked: false,
      suspicionDeadlineMs: Infinity,
      reapDeadlineMs: Infinity,
    };
    this.table.set(member.id, member);
    this.rotation.insert(member.id, this.rng);
    out.push({ kind: 'connect', peer: member.id, addr: member.addr });
    this.count('joins');
    this.log(out, 'info', 'member joined', memberFields(member, { via }));
    return member;
  }

  /** Validate a hello and sort out our own id; true if it is about another member. */
  private acceptHello(hello: PeerHello, out: Effect[]): boolean {
    if (!isMemberGossip({ ...hello, state: 'alive' })) {
      this.count('invalid_inputs');
      return false;
    }
    if (hello.id !== this.self.id) return true;
    // Our own broadcast comes back to us; the same id at another address is a second node.
    if (hello.addr !== this.self.addr) this.reportDuplicate(hello.id, hello.addr, 'error', out);
    return false;
  }

  /**
   * A first-hand hello from a member we know. A higher incarnation is a restart (or a
   * refutation): it replaces the entry, address included; returns true so the caller
   * dials the new address.
   */
  private helloFromKnown(member: MemberRecord, hello: PeerHello, nowMs: number, out: Effect[]): boolean {
    if (hello.incarnation > member.incarnation) {
      member.name = hello.name;
      member.addr = hello.addr;
      member.lastSeenMs = nowMs;
      this.changeState(member, 'alive', hello.incarnation, nowMs, out);
      return true;
    }
    if (hello.addr !== member.addr) this.reportDuplicate(hello.id, hello.addr, 'warn', out);
    else if (hello.incarnation === member.incarnation) member.lastSeenMs = nowMs;
    return false;
  }

  // ---- gossip ----

  /** Merge piggybacked entries; true if we had to refute a suspicion of ourselves. */
  private mergeGossip(sender: MemberRecord, entries: readonly MemberGossip[], nowMs: number, out: Effect[]): boolean {
    let refuted = false;
    for (const entry of entries) {
      if (entry.id === this.self.id) {
        if (this.mergeAboutSelf(entry, sender, out)) refuted = true;
        continue;
      }
      const member = this.table.get(entry.id);
      if (member === undefined) {
        // Only news of life adds a member; a suspicion or death of a stranger is no use.
        if (entry.state === 'alive') this.addMember(entry, nowMs, out, `gossip from ${sender.id}`);
      } else if (overrides(entry, member)) {
        if (entry.incarnation > member.incarnation && entry.addr !== member.addr) {
          member.addr = entry.addr; // restarted elsewhere
          out.push({ kind: 'connect', peer: member.id, addr: member.addr });
        }
        if (entry.incarnation > member.incarnation) member.name = entry.name;
        this.changeState(member, entry.state, entry.incarnation, nowMs, out);
      } else if (entry.incarnation === member.incarnation && entry.addr !== member.addr) {
        this.reportDuplicate(entry.id, entry.addr, 'warn', out);
      }
    }
    return refuted;
  }

  private mergeAboutSelf(entry: MemberGossip, sender: MemberRecord, out: Effect[]): boolean {
    if (entry.addr !== this.self.addr) {
      this.reportDuplicate(entry.id, entry.addr, 'error', out);
      return false;
    }
    if (entry.state === 'alive') {
      // Others know a newer us (a previous life refuted higher): speak at that level.
      if (entry.incarnation > this.ownIncarnation) this.ownIncarnation = entry.incarnation;
      return false;
    }
    if (entry.incarnation < this.ownIncarnation) return false; // already refuted
    this.ownIncarnation = Math.min(entry.incarnation + 1, INCARNATION_MAX);
    this.count('refutations');
    this.log(out, 'info', 'refuting: we are alive', memberFields(this.selfGossip(), { heard: entry.state, from: sender.id }));
    return true;
  }

  private selfGossip(): MemberGossip {
    return { id: this.self.id, name: this.self.name, addr: this.self.addr, incarnation: this.ownIncarnation, state: 'alive' };
  }

  private gossipFor(recipient: MemberRecord): MemberGossip[] {
    const limit = Math.max(1, Math.min(this.config.gossipMembersMax, GOSSIP_MEMBERS_MAX));
    const selection = selectGossip(this.selfGossip(), this.table, recipient, limit, this.gossipCursor);
    this.gossipCursor = selection.cursor;
    return selection.entries;
  }

  // ---- plumbing ----

  private enter(nowMs: number, out: Effect[]): void {
    const lateMs = nowMs - this.expectedWakeMs;
    if (lateMs > STALL_TOLERANCE_MS) {
      for (const probe of this.probes.values()) probe.deadlineMs += lateMs;
      for (const member of this.table.values()) member.suspicionDeadlineMs += lateMs;
      this.count('stalls');
      this.log(out, 'warn', 'node was not running on time: failure timeouts extended', { lateMs });
    }
    this.lastNowMs = nowMs;
  }

  private leave(): void {
    this.expectedWakeMs = this.nextDeadlineMs();
  }

  private send(to: NodeId, message: MembershipMessage, out: Effect[]): void {
    out.push({ kind: 'send', to, hlc: MEMBERSHIP_SEND_HLC, message });
  }

  private count(name: CounterName): void {
    this.stats.set(name, this.stats.get(name)! + 1);
  }

  private reportDuplicate(id: NodeId, addr: string, level: LogLevel, out: Effect[]): void {
    this.count('duplicate_ids');
    const key = `${id} ${addr}`;
    if (this.duplicateReports.has(key) || this.duplicateReports.size >= DUPLICATE_REPORTS_MAX) return;
    this.duplicateReports.add(key);
    const ours = id === this.self.id ? this.self.addr : this.table.get(id)?.addr;
    this.log(out, level, 'duplicate node id: two nodes claim one id; give one a fresh data dir', { id, addr, knownAddr: ours });
  }

  private log(out: Effect[], level: LogLevel, message: string, fields: Record<string, unknown>): void {
    out.push({ kind: 'log', level, message, fields });
  }
}

function memberFields(member: { id: NodeId; name: string; addr: string; incarnation: number }, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { id: member.id, name: member.name, addr: member.addr, incarnation: member.incarnation, ...extra };
}

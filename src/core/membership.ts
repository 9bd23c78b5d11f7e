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
import { overrides, selectGossip, toView, type MemberRecord } from './membership-gossip.js';
import {
  GOSSIP_MEMBERS_MAX,
  INCARNATION_MAX,
  isMemberGossip,
  isMembershipMessage,
  type MemberGossip,
  type MembershipMessage,
} from './membership-messages.js';
import { Prober, type ProbeHost } from './membership-probe.js';
import { log, MemberTable, memberFields } from './membership-table.js';
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
export { MEMBERS_MAX } from './membership-table.js';

/**
 * The frame stamp of every send this module pushes. The node core replaces a zero
 * stamp with its clock when it finishes the step, so membership needs no clock.
 */
export const MEMBERSHIP_SEND_HLC = HLC_ZERO;

/**
 * Called this much later than our own earliest deadline, we were not running (SIGSTOP,
 * a long GC, a blocked event loop): the silence we timed was ours, so pending probe
 * and suspicion timeouts are extended by the delay. Normal timer lag stays far below.
 */
export const STALL_TOLERANCE_MS = 100;

/** Distinct (id, addr) duplicate-id conflicts logged; later repeats are only counted. */
export const DUPLICATE_REPORTS_MAX = 64;

// Counters of member state changes live in MemberTable, of probes in Prober.
const COUNTER_NAMES = [
  'refutations', // times we raised our own incarnation to refute
  'unknown_sender_messages', // messages from members we do not know
  'invalid_inputs', // inputs that failed validation
  'duplicate_ids', // hellos or gossip where two nodes claim one id
  'stalls', // times we found ourselves called late and extended timeouts
] as const;

type CounterName = (typeof COUNTER_NAMES)[number];

export class Membership {
  private readonly self: { readonly id: NodeId; readonly name: string; readonly addr: string };
  private ownIncarnation: number;
  private readonly table: MemberTable;
  private readonly prober: Prober;
  private readonly duplicateReports = new Set<string>();
  private readonly stats = new Map<CounterName, number>(COUNTER_NAMES.map((name) => [name, 0]));
  private nextProbeMs: number;
  private nextAnnounceMs: number;
  private gossipCursor = 0;
  /** Our earliest deadline when the last input finished: we expect to be called by then. */
  private expectedWakeMs: number;
  private lastNowMs: number;

  constructor(
    self: PeerHello,
    private readonly config: CoreConfig,
    rng: Rng,
    nowMs: number,
  ) {
    if (!isNodeId(self.id)) throw new Error(`Membership: self.id must be 32 lowercase hex characters, got ${String(self.id)}`);
    this.self = { id: self.id, name: self.name, addr: self.addr };
    this.ownIncarnation = self.incarnation;
    this.nextAnnounceMs = nowMs; // announce on the first tick: DESIGN.md 4, "on start"
    this.nextProbeMs = nowMs + config.probeIntervalMs;
    this.expectedWakeMs = nowMs;
    this.lastNowMs = nowMs;
    this.table = new MemberTable(
      { pingNow: (member, pingNowMs, out) => this.prober.pingNow(member, pingNowMs, out), forget: (id) => this.prober.forget(id) },
      config,
      rng,
    );
    this.prober = new Prober(this.probeHost(), config, rng);
  }

  // ---- inputs ----

  onTick(nowMs: number, out: Effect[]): void {
    this.enter(nowMs, out);
    if (nowMs >= this.nextAnnounceMs) {
      out.push({ kind: 'announce' });
      this.nextAnnounceMs = nowMs + this.config.announceIntervalMs;
    }
    this.prober.runDeadlines(nowMs, out);
    this.table.runDeadlines(nowMs, out);
    if (nowMs >= this.nextProbeMs) {
      this.nextProbeMs = nowMs + this.config.probeIntervalMs;
      const target = this.table.nextProbeTarget((id) => this.prober.isProbing(id));
      if (target !== undefined) this.prober.start(target, nowMs, out);
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
        if (this.table.add(hello, nowMs, out, 'discovery') !== undefined) out.push({ kind: 'announce' });
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
      if (member === undefined) member = this.table.add(hello, nowMs, out, 'link');
      else if (this.helloFromKnown(member, hello, nowMs, out)) out.push({ kind: 'connect', peer: member.id, addr: member.addr });
      if (member !== undefined) {
        member.linked = true;
        member.lastSeenMs = nowMs;
        // Probe now: greets it with our member list, and a member we hold suspect or dead
        // hears so and can refute (two nodes that each think the other dead).
        this.prober.pingNow(member, nowMs, out);
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
      this.prober.onLinkDown(member, nowMs, out);
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
          this.prober.onAck(sender.id, message.seq, out);
          if (refuted) this.prober.pingNow(sender, nowMs, out); // carry the refutation back to the accuser
          break;
        }
        case 'pingReq':
          this.prober.onPingReq(sender.id, message.seq, message.target, nowMs, out);
          break;
        case 'indirectAck':
          this.prober.onIndirectAck(message.seq, message.target);
          break;
      }
    }
    this.leave();
  }

  // ---- queries ----

  /** Earliest pending deadline (local ms), Infinity if none. */
  nextDeadlineMs(): number {
    return Math.min(this.nextAnnounceMs, this.nextProbeMs, this.prober.nextDeadlineMs(), this.table.nextDeadlineMs());
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
    return this.table.liveIds();
  }

  /** Our own incarnation; grows when we refute. Worth persisting so a restart starts above it. */
  incarnation(): number {
    return this.ownIncarnation;
  }

  counters(): Record<string, number> {
    return Object.fromEntries([...this.stats, ...this.table.counters(), ...this.prober.counters()].sort(([a], [b]) => (a < b ? -1 : 1)));
  }

  // ---- probing ----

  private probeHost(): ProbeHost {
    return {
      selfId: this.self.id,
      member: (id) => this.table.get(id),
      helpers: (excluding) => this.table.helpers(excluding),
      gossipFor: (recipient) => this.gossipFor(recipient),
      send: (to, message, out) => this.send(to, message, out),
      probeFailed: (target, nowMs, out) => {
        const member = this.table.get(target);
        if (member !== undefined && member.state === 'alive') this.table.changeState(member, 'suspect', member.incarnation, nowMs, out);
      },
    };
  }

  // ---- hellos ----

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
      this.table.changeState(member, 'alive', hello.incarnation, nowMs, out);
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
        if (entry.state === 'alive') this.table.add(entry, nowMs, out, `gossip from ${sender.id}`);
      } else if (overrides(entry, member)) {
        if (entry.incarnation > member.incarnation && entry.addr !== member.addr) {
          member.addr = entry.addr; // restarted elsewhere
          out.push({ kind: 'connect', peer: member.id, addr: member.addr });
        }
        if (entry.incarnation > member.incarnation) member.name = entry.name;
        this.table.changeState(member, entry.state, entry.incarnation, nowMs, out);
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
    log(out, 'info', 'refuting: we are alive', memberFields(this.selfGossip(), { heard: entry.state, from: sender.id }));
    return true;
  }

  private selfGossip(): MemberGossip {
    return { id: this.self.id, name: this.self.name, addr: this.self.addr, incarnation: this.ownIncarnation, state: 'alive' };
  }

  private gossipFor(recipient: MemberRecord): MemberGossip[] {
    const limit = Math.max(1, Math.min(this.config.gossipMembersMax, GOSSIP_MEMBERS_MAX));
    const selection = selectGossip(this.selfGossip(), this.table.asMap(), recipient, limit, this.gossipCursor);
    this.gossipCursor = selection.cursor;
    return selection.entries;
  }

  // ---- plumbing ----

  private enter(nowMs: number, out: Effect[]): void {
    this.lastNowMs = nowMs;
    const lateMs = nowMs - this.expectedWakeMs;
    if (lateMs <= STALL_TOLERANCE_MS) return;
    const suspects = [...this.table.values()].filter((member) => member.state === 'suspect');
    if (this.prober.hasPending() || suspects.length > 0) {
      // Answers that arrived while we stood still are queued behind this call: give
      // them STALL_TOLERANCE_MS to be read before any timeout can fire.
      const notBeforeMs = nowMs + STALL_TOLERANCE_MS;
      this.prober.extendDeadlines(lateMs, notBeforeMs);
      for (const member of suspects) member.suspicionDeadlineMs = Math.max(member.suspicionDeadlineMs + lateMs, notBeforeMs);
      this.count('stalls');
      log(out, 'warn', 'node was not running on time: failure timeouts extended', { lateMs });
    }
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
    log(out, level, 'duplicate node id: two nodes claim one id; give one a fresh data dir', { id, addr, knownAddr: ours });
  }
}

// The member table: every other member this node holds, the state transitions
// (joined, alive, suspect, dead, forgotten) with their timers, counters and log lines,
// and the probe order over them.
import type { CoreConfig } from './config.js';
import type { Effect, LogLevel, PeerHello } from './io.js';
import type { MemberRecord } from './membership-gossip.js';
import type { MemberGossip } from './membership-messages.js';
import { ProbeRotation } from './membership-rotation.js';
import type { Rng } from './rng.js';
import type { MemberState, NodeId } from './types.js';

/** Members held at most; gossip beyond it is ignored so a flood cannot exhaust memory. */
export const MEMBERS_MAX = 4096;

/** What the table needs from the membership that owns it. */
export interface MemberTableHost {
  /** Ping the member at once with our gossip (a new probe, or a fresh ping for the pending one). */
  pingNow(member: MemberRecord, nowMs: number, out: Effect[]): void;
  /** The member was forgotten: drop whatever probe is pending for it. */
  forget(id: NodeId): void;
}

const TABLE_COUNTER_NAMES = [
  'suspicions', // members we came to suspect (own probe or gossip)
  'suspicions_refuted', // suspects that proved alive: false alarms
  'deaths', // members we came to hold dead
  'revivals', // dead members back alive (restart or refutation)
  'joins', // members added
  'reaped', // dead members forgotten
] as const;

type TableCounterName = (typeof TABLE_COUNTER_NAMES)[number];

export class MemberTable {
  private readonly records = new Map<NodeId, MemberRecord>();
  private readonly rotation = new ProbeRotation();
  private readonly stats = new Map<TableCounterName, number>(TABLE_COUNTER_NAMES.map((name) => [name, 0]));

  constructor(
    private readonly host: MemberTableHost,
    private readonly config: CoreConfig,
    private readonly rng: Rng,
  ) {}

  get(id: NodeId): MemberRecord | undefined {
    return this.records.get(id);
  }

  /** Members in the order they were added (the order gossip selection and stall checks see). */
  values(): IterableIterator<MemberRecord> {
    return this.records.values();
  }

  /** The table itself, read-only: gossip selection sweeps over it. */
  asMap(): ReadonlyMap<NodeId, MemberRecord> {
    return this.records;
  }

  /** Earliest suspicion or reap deadline (local ms), Infinity if none. */
  nextDeadlineMs(): number {
    let deadline = Infinity;
    for (const member of this.records.values()) deadline = Math.min(deadline, member.suspicionDeadlineMs, member.reapDeadlineMs);
    return deadline;
  }

  /** Other members currently alive or suspect, sorted by id. */
  liveIds(): NodeId[] {
    const live: NodeId[] = [];
    for (const member of this.records.values()) if (member.state !== 'dead') live.push(member.id);
    return live.sort();
  }

  /** Members we may ask to probe for us: alive, linked, sorted by id. */
  helpers(excluding: NodeId): NodeId[] {
    const helpers: NodeId[] = [];
    for (const member of this.records.values()) if (member.id !== excluding && member.state === 'alive' && member.linked) helpers.push(member.id);
    return helpers.sort();
  }

  /** The next member of the probe round that is worth probing and not already being probed. */
  nextProbeTarget(isProbing: (id: NodeId) => boolean): NodeId | undefined {
    return this.rotation.next(
      (id) => isProbeable(this.records.get(id)) && !isProbing(id),
      () => [...this.records.keys()].sort(),
      this.rng,
    );
  }

  counters(): Array<[string, number]> {
    return [...this.stats];
  }

  /** Suspects turn dead and dead members are forgotten once their deadlines pass. */
  runDeadlines(nowMs: number, out: Effect[]): void {
    for (const id of [...this.records.keys()].sort()) {
      const member = this.records.get(id)!;
      if (member.suspicionDeadlineMs <= nowMs) this.changeState(member, 'dead', member.incarnation, nowMs, out);
      else if (member.reapDeadlineMs <= nowMs) {
        this.records.delete(id);
        this.host.forget(id);
        out.push({ kind: 'disconnect', peer: id });
        this.count('reaped');
        log(out, 'info', 'member forgotten', memberFields(member));
      }
    }
  }

  /** Move a member to (state, incarnation), with the timers, counters and log line that go with it. */
  changeState(member: MemberRecord, state: MemberState, incarnation: number, nowMs: number, out: Effect[]): void {
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
      if (previous !== 'alive') log(out, 'info', 'member alive', memberFields(member, { previous }));
    } else if (state === 'suspect') {
      member.suspicionDeadlineMs = nowMs + this.config.suspicionTimeoutMs;
      member.reapDeadlineMs = Infinity;
      if (previous !== 'suspect') {
        this.count('suspicions');
        log(out, 'warn', 'member suspect', memberFields(member, { previous }));
      }
      // Ping it now: the ping carries the suspicion, so a live member refutes in its ack.
      this.host.pingNow(member, nowMs, out);
    } else {
      member.suspicionDeadlineMs = Infinity;
      if (previous !== 'dead') {
        member.reapDeadlineMs = nowMs + this.config.deadReapMs;
        this.count('deaths');
        log(out, 'info', 'member dead', memberFields(member, { previous }));
      }
    }
  }

  /** Add a member we did not know, alive, and dial it; undefined when the table is full. */
  add(hello: PeerHello | MemberGossip, nowMs: number, out: Effect[], via: string): MemberRecord | undefined {
    if (this.records.size >= MEMBERS_MAX) return undefined;
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
    this.records.set(member.id, member);
    this.rotation.insert(member.id, this.rng);
    out.push({ kind: 'connect', peer: member.id, addr: member.addr });
    this.count('joins');
    log(out, 'info', 'member joined', memberFields(member, { via }));
    return member;
  }

  private count(name: TableCounterName): void {
    this.stats.set(name, this.stats.get(name)! + 1);
  }
}

function isProbeable(member: MemberRecord | undefined): boolean {
  // A dead member with a link up is running: probing it tells it that it is held
  // dead, so it refutes. Without this two nodes that each hold the other dead would
  // never talk again.
  return member !== undefined && (member.state !== 'dead' || member.linked);
}

export function log(out: Effect[], level: LogLevel, message: string, fields: Record<string, unknown>): void {
  out.push({ kind: 'log', level, message, fields });
}

/** The fields every log line about a member carries. */
export function memberFields(member: { id: NodeId; name: string; addr: string; incarnation: number }, extra: Record<string, unknown> = {}): Record<string, unknown> {
  // memberName, not name: the logger's own name field says which node is logging.
  return { id: member.id, memberName: member.name, addr: member.addr, incarnation: member.incarnation, ...extra };
}

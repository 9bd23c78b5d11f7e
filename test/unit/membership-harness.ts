// A tiny deterministic world for Membership tests: a virtual clock, FIFO links that
// come up when a node asks to connect, a broadcast domain for announcements, and
// kill / pause / restart. No sockets, no timers, no sleeps: time jumps to the next
// deadline or delivery.
import { DEFAULT_CORE_CONFIG, type CoreConfig } from '../../src/core/config.js';
import type { Effect, PeerHello } from '../../src/core/io.js';
import { Membership } from '../../src/core/membership.js';
import { Rng } from '../../src/core/rng.js';
import type { MemberState, NodeId } from '../../src/core/types.js';

export const START_MS = 1_000_000;

export function nodeId(index: number): NodeId {
  return (index + 1).toString(16).padStart(32, '0');
}

/** Delay of one message from `from` to `to` in ms, or null to lose it. */
export type LatencyModel = (from: NodeId, to: NodeId) => number | null;

export interface WorldOptions {
  readonly seed?: number;
  readonly config?: Partial<CoreConfig>;
  /** Announcements reach every node (UDP broadcast); false: seeds only. */
  readonly broadcast?: boolean;
  readonly latency?: LatencyModel;
}

export interface SimNode {
  readonly hello: PeerHello;
  membership: Membership;
  status: 'running' | 'paused' | 'killed';
  /** Deliveries that arrived while paused, run on resume. */
  inbox: Array<(membership: Membership, nowMs: number, out: Effect[]) => void>;
  logs: Array<Extract<Effect, { kind: 'log' }>>;
}

export interface Transition {
  readonly atMs: number;
  readonly observer: NodeId;
  readonly target: NodeId;
  readonly state: MemberState | 'gone';
  readonly incarnation: number;
}

interface Event {
  readonly atMs: number;
  readonly order: number;
  readonly to: NodeId;
  /** An input for the node at `to` (queued while it is paused)... */
  readonly deliver?: (membership: Membership, nowMs: number, out: Effect[]) => void;
  /** ...or a change of the world itself. */
  readonly control?: () => void;
}

export class World {
  nowMs = START_MS;
  readonly config: CoreConfig;
  readonly nodes = new Map<NodeId, SimNode>();
  readonly transitions: Transition[] = [];
  readonly sent: Array<{ atMs: number; from: NodeId; to: NodeId; type: string }> = [];
  private readonly seed: number;
  private readonly broadcast: boolean;
  private readonly latency: LatencyModel;
  private events: Event[] = [];
  private order = 0;
  /** "a>b" -> addr: a keeps a link to b (connect effect, not yet disconnected). */
  private readonly wanted = new Map<string, string>();
  /** Sorted "a|b" -> epoch of the link now up; messages of an older epoch are lost with it. */
  private readonly links = new Map<string, number>();
  private linkEpoch = 0;
  /** FIFO per direction, as TCP: "a>b" -> when the last message arrives. */
  private readonly lastArrivalMs = new Map<string, number>();
  private readonly lastSeen = new Map<string, string>();
  /** Node id -> partition group; nodes in different groups cannot link or talk. */
  private groups = new Map<NodeId, number>();

  constructor(options: WorldOptions = {}) {
    this.seed = options.seed ?? 1;
    this.config = { ...DEFAULT_CORE_CONFIG, ...options.config };
    this.broadcast = options.broadcast ?? true;
    this.latency = options.latency ?? (() => 1);
  }

  add(index: number, incarnation = 1): SimNode {
    const hello: PeerHello = { id: nodeId(index), name: `node${index}`, addr: `127.0.0.1:${7380 + index * 10}`, incarnation };
    const node: SimNode = { hello, membership: this.create(hello), status: 'running', inbox: [], logs: [] };
    this.nodes.set(hello.id, node);
    return node;
  }

  node(index: number): SimNode {
    return this.nodes.get(nodeId(index))!;
  }

  view(observer: number, target: number): MemberState | undefined {
    return this.node(observer).membership.memberState(nodeId(target));
  }

  /** A --join seed: `index` learns of `seedIndex` as if by a discovery hello. */
  seedWith(index: number, seedIndex: number): void {
    const seed = this.node(seedIndex);
    this.apply(index, (membership, nowMs, out) => membership.onDiscovered(this.helloOf(seed), nowMs, out));
  }

  /** kill -9: the process is gone. Links break at once (the OS resets them) unless silent. */
  kill(index: number, silent = false): void {
    const node = this.node(index);
    node.status = 'killed';
    node.inbox = [];
    if (!silent) this.dropLinksOf(node.hello.id);
  }

  /** SIGSTOP for durationMs: links stay up, deliveries wait, then SIGCONT. */
  pause(index: number, durationMs: number): void {
    const node = this.node(index);
    node.status = 'paused';
    this.push({ atMs: this.nowMs + durationMs, order: this.order++, to: node.hello.id, control: () => this.resume(node.hello.id) });
  }

  /** Start again with the same id and address, a higher incarnation and fresh state. */
  restart(index: number, incarnation: number): void {
    const node = this.node(index);
    if (node.status !== 'killed') this.kill(index);
    const hello = { ...node.hello, incarnation };
    this.nodes.set(hello.id, { hello, membership: this.create(hello), status: 'running', inbox: [], logs: node.logs });
    for (const key of [...this.wanted.keys()]) if (key.startsWith(`${hello.id}>`)) this.wanted.delete(key);
  }

  /** Split the network: links across groups break and cannot form; announcements do not cross. */
  partition(...groups: number[][]): void {
    this.groups = new Map(groups.flatMap((group, at) => group.map((index) => [nodeId(index), at] as const)));
    for (const key of [...this.links.keys()].sort()) {
      const [a, b] = key.split('|') as [NodeId, NodeId];
      if (!this.reachable(a, b)) this.breakLink(a, b);
    }
  }

  heal(): void {
    this.groups = new Map();
  }

  /** Run until virtual time untilMs, jumping from deadline to delivery. */
  run(untilMs: number): void {
    for (;;) {
      let next = this.events.length > 0 ? this.events[0]!.atMs : Infinity;
      for (const node of this.nodes.values()) if (node.status === 'running') next = Math.min(next, node.membership.nextDeadlineMs());
      if (next > untilMs) break;
      this.nowMs = Math.max(this.nowMs, next);
      for (const id of [...this.nodes.keys()].sort()) {
        const node = this.nodes.get(id)!;
        if (node.status === 'running' && node.membership.nextDeadlineMs() <= this.nowMs) this.apply(node, (m, now, out) => m.onTick(now, out));
      }
      while (this.events.length > 0 && this.events[0]!.atMs <= this.nowMs) this.deliver(this.events.shift()!);
      this.connectWanted();
      this.record();
    }
    this.nowMs = Math.max(this.nowMs, untilMs);
  }

  runFor(durationMs: number): void {
    this.run(this.nowMs + durationMs);
  }

  /** Transitions seen by observer about target, in order. */
  history(observer: number, target: number): Transition[] {
    return this.transitions.filter((t) => t.observer === nodeId(observer) && t.target === nodeId(target));
  }

  firstTime(observer: number, target: number, state: MemberState, afterMs = 0): number | undefined {
    return this.history(observer, target).find((t) => t.state === state && t.atMs >= afterMs)?.atMs;
  }

  // ---- internals ----

  private create(hello: PeerHello): Membership {
    const index = parseInt(hello.id, 16);
    return new Membership(hello, this.config, new Rng(this.seed * 7919 + index * 104729 + hello.incarnation), this.nowMs);
  }

  private reachable(a: NodeId, b: NodeId): boolean {
    return (this.groups.get(a) ?? -1) === (this.groups.get(b) ?? -1);
  }

  private helloOf(node: SimNode): PeerHello {
    return { ...node.hello, incarnation: node.membership.incarnation() };
  }

  private schedule(atMs: number, to: NodeId, deliver: NonNullable<Event['deliver']>): void {
    this.push({ atMs, order: this.order++, to, deliver });
  }

  private push(event: Event): void {
    let at = this.events.length;
    while (at > 0 && this.events[at - 1]!.atMs > event.atMs) at--;
    this.events.splice(at, 0, event);
  }

  private resume(id: NodeId): void {
    const node = this.nodes.get(id)!;
    if (node.status !== 'paused') return;
    node.status = 'running';
    // After SIGCONT Node runs due timers before it polls sockets: tick first.
    const inbox = node.inbox;
    node.inbox = [];
    this.apply(node, (m, now, out) => m.onTick(now, out));
    for (const item of inbox) this.apply(node, item);
  }

  private deliver(event: Event): void {
    if (event.control !== undefined) return event.control();
    const node = this.nodes.get(event.to);
    const deliver = event.deliver!;
    if (node === undefined || node.status === 'killed') return;
    if (node.status === 'paused') node.inbox.push(deliver);
    else this.apply(node, deliver);
  }

  private apply(target: SimNode | number, action: (membership: Membership, nowMs: number, out: Effect[]) => void): void {
    const node = typeof target === 'number' ? this.node(target) : target;
    const out: Effect[] = [];
    action(node.membership, this.nowMs, out);
    for (const effect of out) this.carryOut(node, effect);
  }

  private carryOut(node: SimNode, effect: Effect): void {
    const from = node.hello.id;
    switch (effect.kind) {
      case 'send': {
        const epoch = this.links.get(pairKey(from, effect.to));
        const receiver = this.nodes.get(effect.to);
        if (epoch === undefined || receiver === undefined || receiver.status === 'killed') return;
        const delayMs = this.latency(from, effect.to);
        this.sent.push({ atMs: this.nowMs, from, to: effect.to, type: (effect.message as { type: string }).type });
        if (delayMs === null) return;
        const direction = `${from}>${effect.to}`;
        const atMs = Math.max(this.nowMs + Math.max(1, delayMs), this.lastArrivalMs.get(direction) ?? 0);
        this.lastArrivalMs.set(direction, atMs);
        const message = effect.message as Parameters<Membership['onMessage']>[1];
        this.schedule(atMs, effect.to, (m, now, out) => {
          if (this.links.get(pairKey(from, effect.to)) === epoch) m.onMessage(from, message, now, out);
        });
        return;
      }
      case 'connect':
        this.wanted.set(`${from}>${effect.peer}`, effect.addr);
        return;
      case 'disconnect':
        this.wanted.delete(`${from}>${effect.peer}`);
        if (this.links.has(pairKey(from, effect.peer))) this.breakLink(from, effect.peer);
        return;
      case 'announce':
        if (!this.broadcast) return;
        for (const other of [...this.nodes.keys()].sort()) {
          if (other === from || !this.reachable(from, other)) continue;
          const hello = this.helloOf(node);
          this.schedule(this.nowMs + 1, other, (m, now, out) => m.onDiscovered(hello, now, out));
        }
        return;
      case 'log':
        node.logs.push(effect);
        return;
      default:
        throw new Error(`membership pushed an unexpected effect: ${effect.kind}`);
    }
  }

  private connectWanted(): void {
    for (const [key, addr] of [...this.wanted.entries()].sort()) {
      const [fromId, toId] = key.split('>') as [NodeId, NodeId];
      const from = this.nodes.get(fromId)!;
      const to = [...this.nodes.values()].find((node) => node.hello.addr === addr && node.hello.id === toId);
      if (to === undefined || from.status !== 'running' || to.status !== 'running' || this.links.has(pairKey(fromId, toId))) continue;
      if (!this.reachable(fromId, toId)) continue;
      this.links.set(pairKey(fromId, toId), ++this.linkEpoch);
      this.apply(from, (m, now, out) => m.onLinkUp(this.helloOf(to), now, out));
      this.apply(to, (m, now, out) => m.onLinkUp(this.helloOf(from), now, out));
    }
  }

  private dropLinksOf(id: NodeId): void {
    for (const key of [...this.links.keys()].sort()) {
      const [a, b] = key.split('|') as [NodeId, NodeId];
      if (a === id || b === id) this.breakLink(a, b);
    }
  }

  private breakLink(a: NodeId, b: NodeId): void {
    // Both ends see the reset at once, before any new link between them can come up.
    this.links.delete(pairKey(a, b));
    for (const [end, other] of [[a, b], [b, a]] as const) {
      const node = this.nodes.get(end)!;
      if (node.status === 'running') this.apply(node, (m, now, out) => m.onLinkDown(other, now, out));
      else if (node.status === 'paused') node.inbox.push((m, now, out) => m.onLinkDown(other, now, out));
    }
  }

  private record(): void {
    for (const [observer, node] of this.nodes) {
      if (node.status === 'killed') continue;
      const seen = new Set<NodeId>();
      for (const view of node.membership.members()) {
        if (view.id === observer) continue;
        seen.add(view.id);
        const key = `${observer}>${view.id}`;
        const summary = `${view.state}@${view.incarnation}`;
        if (this.lastSeen.get(key) === summary) continue;
        this.lastSeen.set(key, summary);
        this.transitions.push({ atMs: this.nowMs, observer, target: view.id, state: view.state, incarnation: view.incarnation });
      }
      for (const [key, summary] of this.lastSeen) {
        const [seenBy, target] = key.split('>') as [NodeId, NodeId];
        if (seenBy !== observer || seen.has(target) || summary === 'gone') continue;
        this.lastSeen.set(key, 'gone');
        this.transitions.push({ atMs: this.nowMs, observer, target, state: 'gone', incarnation: 0 });
      }
    }
  }
}

function pairKey(a: NodeId, b: NodeId): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}

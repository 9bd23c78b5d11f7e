// Watches the failure detector from outside: every time a node declares a member dead,
// was that member running and mutually reachable with it for longer than detection
// could ever need? Such declarations are false positives; they are counted, not failed.
import type { Simulator, SimNode } from './harness.js';

/** Detail lines kept per run for the report. */
const DETAILS_MAX = 5;
/** Slack on top of the protocol's own timeouts (scheduling, slow nodes, latency). */
const BOUND_SLACK_MS = 1_000;

export class FailureDetectorWatch {
  declarations = 0;
  falsePositives = 0;
  readonly details: string[] = [];
  /** Last virtual time the pair was not in good condition (down, cut, paused, unlinked). */
  private readonly lastBadMs: number[][];
  private readonly good: boolean[][];

  constructor(private readonly sim: Simulator) {
    const count = sim.nodes.length;
    this.lastBadMs = Array.from({ length: count }, () => new Array<number>(count).fill(0));
    this.good = Array.from({ length: count }, () => new Array<boolean>(count).fill(false));
  }

  /** Longest a live, reachable member can take to be declared dead by a correct detector. */
  boundMs(): number {
    const config = this.sim.config;
    const probeRoundMs = config.probeIntervalMs * Math.max(1, this.sim.nodes.length - 1);
    return probeRoundMs + config.probeTimeoutMs + config.indirectProbeTimeoutMs + config.suspicionTimeoutMs + BOUND_SLACK_MS;
  }

  private pairGood(a: number, b: number): boolean {
    const sim = this.sim;
    const nodeA = sim.nodes[a]!;
    const nodeB = sim.nodes[b]!;
    return (
      nodeA.core !== undefined &&
      nodeB.core !== undefined &&
      nodeA.frozenUntilMs <= sim.nowMs &&
      nodeB.frozenUntilMs <= sim.nowMs &&
      sim.network.isUp(a, b) &&
      !sim.isBlocked(a, b) &&
      !sim.isBlocked(b, a)
    );
  }

  /** Call after (and, through the previous state, in effect before) any reachability change. */
  refresh(): void {
    const count = this.sim.nodes.length;
    for (let a = 0; a < count; a++) {
      for (let b = a + 1; b < count; b++) {
        const good = this.pairGood(a, b);
        if (!good || !this.good[a]![b]) {
          this.lastBadMs[a]![b] = this.sim.nowMs;
          this.lastBadMs[b]![a] = this.sim.nowMs;
        }
        this.good[a]![b] = good;
      }
    }
  }

  afterStep(node: SimNode): void {
    const core = node.core;
    if (core === undefined) return;
    for (const other of this.sim.nodes) {
      if (other === node) continue;
      const state = core.membership.memberState(other.id);
      if (state === undefined) continue;
      const previous = node.memberStates.get(other.id);
      if (state === previous) continue;
      node.memberStates.set(other.id, state);
      this.sim.note(`${node.name} holds ${other.name} ${previous ?? 'unknown'} -> ${state}`);
      if (state === 'dead') this.declared(node, other);
    }
  }

  private declared(observer: SimNode, member: SimNode): void {
    this.declarations++;
    // A runaway clock makes its frames legitimately refused, and the dead verdicts that
    // node reaches then spread by gossip: none of that is the detector's fault.
    if (this.sim.nodes.some((node) => this.sim.isRunaway(node.index))) return;
    this.refresh();
    const goodForMs = this.sim.nowMs - this.lastBadMs[observer.index]![member.index]!;
    if (goodForMs <= this.boundMs()) return;
    this.falsePositives++;
    const detail = `${observer.name} declared ${member.name} dead at ${this.sim.nowMs} after ${goodForMs}ms of mutual reachability (bound ${this.boundMs()}ms)`;
    this.sim.note(`FALSE POSITIVE: ${detail}`);
    if (this.details.length < DETAILS_MAX) this.details.push(detail);
  }

  summary(): { declarations: number; falsePositives: number; details: string[] } {
    return { declarations: this.declarations, falsePositives: this.falsePositives, details: this.details };
  }
}

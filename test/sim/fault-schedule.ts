// Carries out the seed's fault plan on the simulator: partitions and their healing,
// crashes with restarts, process pauses and random connection resets.
import type { Simulator } from './harness.js';

export class FaultSchedule {
  /** Link resets that hit a link that was up. */
  linkResets = 0;
  /** Partitions blocking each direction (from, to); overlapping partitions add up. */
  private readonly blockedCount: number[][];

  constructor(private readonly sim: Simulator) {
    const count = sim.nodes.length;
    this.blockedCount = Array.from({ length: count }, () => new Array<number>(count).fill(0));
  }

  /** Queue every fault of the plan; each does nothing once the chaos phase is over. */
  schedule(): void {
    const sim = this.sim;
    const plan = sim.plan;
    for (const partition of plan.partitions) {
      const pairs = partitionPairs(partition.kind, partition.nodes, plan.nodeCount);
      sim.queue.push(partition.startMs, () => {
        if (sim.phase !== 'chaos') return;
        sim.note(`PARTITION ${partition.kind} ${partition.nodes.map((index) => `n${index}`).join(',')} until ${partition.endMs}`);
        for (const [from, to] of pairs) this.setBlocked(from, to, +1);
      });
      sim.queue.push(partition.endMs, () => {
        if (sim.phase !== 'chaos') return;
        sim.note(`HEAL ${partition.kind} ${partition.nodes.map((index) => `n${index}`).join(',')}`);
        for (const [from, to] of pairs) this.setBlocked(from, to, -1);
      });
    }
    for (const crash of plan.crashes) {
      const node = sim.nodes[crash.node]!;
      sim.queue.push(crash.atMs, () => {
        if (sim.phase !== 'chaos' || node.core === undefined) return;
        sim.crash(node);
        const restartAtMs = crash.atMs + crash.downMs;
        if (restartAtMs < sim.chaosMs) sim.queue.push(restartAtMs, () => sim.restart(node));
      });
    }
    for (const pause of plan.pauses) {
      const node = sim.nodes[pause.node]!;
      sim.queue.push(pause.atMs, () => {
        if (node.core === undefined || node.frozenUntilMs > sim.nowMs) return;
        node.frozenUntilMs = sim.nowMs + pause.durationMs;
        sim.note(`${node.name} PAUSE for ${pause.durationMs}ms`);
        sim.fd.refresh();
        sim.queue.push(node.frozenUntilMs, () => sim.fd.refresh());
      });
    }
    if (plan.linkResetsPerSecond > 0) this.scheduleLinkReset();
  }

  /** The liveness phase: every partition ends at once. */
  healAll(): void {
    const count = this.sim.nodes.length;
    for (let from = 0; from < count; from++) {
      for (let to = 0; to < count; to++) {
        if (this.blockedCount[from]![to]! > 0) {
          this.blockedCount[from]![to] = 0;
          this.sim.network.setBlocked(from, to, false);
        }
      }
    }
  }

  /** Resets arrive as a Poisson process at the plan's rate, each on a random link. */
  private scheduleLinkReset(): void {
    const sim = this.sim;
    const gapMs = 1 + Math.floor((-Math.log(1 - sim.rng.nextFloat()) * 1000) / sim.plan.linkResetsPerSecond);
    sim.queue.push(sim.nowMs + gapMs, () => {
      if (sim.phase !== 'chaos') return;
      const links = sim.network.allLinks();
      const link = links[sim.rng.nextInt(links.length)]!;
      if (link.up) {
        this.linkResets++;
        const ends = [link.low, link.high].filter((index) => sim.nodes[index]!.core !== undefined);
        sim.network.reset(link.low, link.high, 'connection reset', ends);
      }
      this.scheduleLinkReset();
    });
  }

  private setBlocked(from: number, to: number, delta: number): void {
    const counts = this.blockedCount[from]!;
    counts[to]! += delta;
    this.sim.network.setBlocked(from, to, counts[to]! > 0);
  }
}

/** The directed (from, to) pairs a partition cuts: one pair for 'oneway', else every pair across the sides. */
function partitionPairs(kind: string, nodes: readonly number[], count: number): [number, number][] {
  const pairs: [number, number][] = [];
  if (kind === 'oneway') return [[nodes[0]!, nodes[1]!]];
  const side = new Set(nodes);
  for (let from = 0; from < count; from++) {
    for (let to = 0; to < count; to++) {
      if (from !== to && side.has(from) !== side.has(to)) pairs.push([from, to]);
    }
  }
  return pairs;
}

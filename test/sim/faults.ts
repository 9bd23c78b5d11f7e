// Fault levels and the fault schedule of one seed, all drawn from one Rng up front, so
// a run is a pure function of its seed. About one seed in eight is calm (no faults) to
// keep the happy path covered too.
import type { Rng } from '../../src/core/rng.js';

export type PartitionKind = 'isolate' | 'halves' | 'oneway';

export interface PartitionFault {
  readonly kind: PartitionKind;
  readonly startMs: number;
  readonly endMs: number;
  /** isolate: [node]; halves: one side; oneway: [from, to] (frames from -> to are lost). */
  readonly nodes: readonly number[];
}

export interface CrashFault {
  readonly node: number;
  readonly atMs: number;
  readonly downMs: number;
}

export interface PauseFault {
  readonly node: number;
  readonly atMs: number;
  readonly durationMs: number;
}

/** Wall clock of one node: virtual time plus this offset (during the chaos phase). */
export interface ClockPlan {
  readonly baseOffsetMs: number;
  /** Drift in parts per million of elapsed virtual time. */
  readonly driftPpm: number;
  readonly jumps: readonly { readonly atMs: number; readonly deltaMs: number }[];
  /** One node may run ahead beyond the max offset for a while. */
  readonly runaway: { readonly fromMs: number; readonly aheadMs: number } | undefined;
}

export interface FaultPlan {
  readonly calm: boolean;
  readonly nodeCount: number;
  /** Discovery datagrams: probability each delivery is lost, and that it arrives twice. */
  readonly announceDropRate: number;
  readonly announceDuplicateRate: number;
  /** Link resets (the TCP form of message loss) per second over the whole cluster. */
  readonly linkResetsPerSecond: number;
  readonly latencyBaseMs: number;
  readonly latencyJitterMs: number;
  readonly tcpTimeoutMs: number;
  /** Simulated storage commit latency bound (each persist takes 0..this). */
  readonly commitDelayMaxMs: number;
  /** Per-node probability that a commit stalls (slow disk); 0 for most nodes. */
  readonly diskStallRate: readonly number[];
  /** Per-node extra processing delay for every input (slow nodes); 0 for most. */
  readonly slowMs: readonly number[];
  readonly partitions: readonly PartitionFault[];
  readonly crashes: readonly CrashFault[];
  readonly pauses: readonly PauseFault[];
  readonly clocks: readonly ClockPlan[];
}

function between(rng: Rng, low: number, high: number): number {
  const from = Math.ceil(low);
  return from + rng.nextInt(Math.floor(high) - from + 1);
}

function chance(rng: Rng, probability: number): boolean {
  return rng.nextFloat() < probability;
}

export function drawFaultPlan(rng: Rng, chaosMs: number, maxOffsetMs: number): FaultPlan {
  const calm = chance(rng, 0.125);
  const nodeCount = between(rng, 3, 5);
  const slowMs = Array.from({ length: nodeCount }, () => (!calm && chance(rng, 0.2) ? between(rng, 1, 40) : 0));
  const clocks = drawClocks(rng, nodeCount, chaosMs, maxOffsetMs, calm);
  const diskStallRate = Array.from({ length: nodeCount }, () => (!calm && chance(rng, 0.15) ? rng.nextFloat() * 0.2 : 0));
  if (calm) {
    return {
      calm,
      nodeCount,
      announceDropRate: 0,
      announceDuplicateRate: 0,
      linkResetsPerSecond: 0,
      latencyBaseMs: 1,
      latencyJitterMs: 2,
      tcpTimeoutMs: 5_000,
      commitDelayMaxMs: 5,
      slowMs,
      diskStallRate,
      partitions: [],
      crashes: [],
      pauses: [],
      clocks,
    };
  }
  return {
    calm,
    nodeCount,
    announceDropRate: rng.nextFloat() * 0.3,
    announceDuplicateRate: rng.nextFloat() * 0.5,
    linkResetsPerSecond: rng.nextFloat() * 0.6,
    latencyBaseMs: between(rng, 1, 5),
    latencyJitterMs: between(rng, 0, 40),
    tcpTimeoutMs: between(rng, 500, 10_000),
    commitDelayMaxMs: between(rng, 0, 30),
    slowMs,
    diskStallRate,
    partitions: drawPartitions(rng, nodeCount, chaosMs),
    crashes: drawCrashes(rng, nodeCount, chaosMs),
    pauses: drawPauses(rng, nodeCount, chaosMs),
    clocks,
  };
}

function drawPartitions(rng: Rng, nodeCount: number, chaosMs: number): PartitionFault[] {
  const partitions: PartitionFault[] = [];
  const count = between(rng, 0, 3);
  for (let index = 0; index < count; index++) {
    const startMs = between(rng, 500, chaosMs - 1_000);
    const endMs = Math.min(chaosMs, startMs + between(rng, 300, 8_000));
    const roll = rng.nextInt(3);
    if (roll === 0) {
      partitions.push({ kind: 'isolate', startMs, endMs, nodes: [rng.nextInt(nodeCount)] });
    } else if (roll === 1) {
      const shuffled = rng.shuffle(Array.from({ length: nodeCount }, (_, node) => node));
      partitions.push({ kind: 'halves', startMs, endMs, nodes: shuffled.slice(0, between(rng, 1, nodeCount - 1)).sort() });
    } else {
      const from = rng.nextInt(nodeCount);
      const to = (from + 1 + rng.nextInt(nodeCount - 1)) % nodeCount;
      partitions.push({ kind: 'oneway', startMs, endMs, nodes: [from, to] });
    }
  }
  return partitions;
}

function drawCrashes(rng: Rng, nodeCount: number, chaosMs: number): CrashFault[] {
  const crashes: CrashFault[] = [];
  const count = between(rng, 0, 3);
  for (let index = 0; index < count; index++) {
    crashes.push({ node: rng.nextInt(nodeCount), atMs: between(rng, 300, chaosMs - 500), downMs: between(rng, 200, 6_000) });
  }
  return crashes.sort((a, b) => a.atMs - b.atMs);
}

function drawPauses(rng: Rng, nodeCount: number, chaosMs: number): PauseFault[] {
  const pauses: PauseFault[] = [];
  const count = between(rng, 0, 2);
  for (let index = 0; index < count; index++) {
    pauses.push({ node: rng.nextInt(nodeCount), atMs: between(rng, 300, chaosMs - 500), durationMs: between(rng, 50, 3_000) });
  }
  return pauses;
}

function drawClocks(rng: Rng, nodeCount: number, chaosMs: number, maxOffsetMs: number, calm: boolean): ClockPlan[] {
  // Ordinary clocks stay within a quarter of the max offset of true time, so two of them
  // differ by at most half of it: their frames are never refused.
  const skewMs = Math.floor(maxOffsetMs / 4);
  const runawayNode = !calm && chance(rng, 0.2) ? rng.nextInt(nodeCount) : -1;
  const clocks: ClockPlan[] = [];
  for (let node = 0; node < nodeCount; node++) {
    const baseOffsetMs = calm ? between(rng, -5, 5) : between(rng, -skewMs / 2, skewMs / 2);
    const driftPpm = calm ? 0 : between(rng, -2_000, 2_000);
    const jumps: { atMs: number; deltaMs: number }[] = [];
    const jumpCount = calm ? 0 : between(rng, 0, 2);
    for (let index = 0; index < jumpCount; index++) jumps.push({ atMs: between(rng, 0, chaosMs), deltaMs: between(rng, -skewMs / 4, skewMs / 4) });
    jumps.sort((a, b) => a.atMs - b.atMs);
    const runaway = node === runawayNode ? { fromMs: between(rng, 0, chaosMs - 1_000), aheadMs: maxOffsetMs + between(rng, 50, 3_000) } : undefined;
    clocks.push({ baseOffsetMs, driftPpm, jumps, runaway });
  }
  return clocks;
}

/** The node's clock offset at virtual time t during the chaos phase. */
export function clockOffsetMs(plan: ClockPlan, virtualMs: number): number {
  let offset = plan.baseOffsetMs + Math.trunc((plan.driftPpm * virtualMs) / 1_000_000);
  for (const jump of plan.jumps) if (jump.atMs <= virtualMs) offset += jump.deltaMs;
  if (plan.runaway !== undefined && virtualMs >= plan.runaway.fromMs) offset += plan.runaway.aheadMs;
  return offset;
}

export function describeFaultPlan(plan: FaultPlan): string {
  if (plan.calm) return `calm, ${plan.nodeCount} nodes`;
  const runaway = plan.clocks.findIndex((clock) => clock.runaway !== undefined);
  return [
    `${plan.nodeCount} nodes`,
    `announce drop ${(plan.announceDropRate * 100).toFixed(0)}% dup ${(plan.announceDuplicateRate * 100).toFixed(0)}%`,
    `link resets ${plan.linkResetsPerSecond.toFixed(2)}/s`,
    `latency ${plan.latencyBaseMs}+${plan.latencyJitterMs}ms`,
    `tcp timeout ${plan.tcpTimeoutMs}ms`,
    `commit <=${plan.commitDelayMaxMs}ms`,
    `slow [${plan.slowMs.join(',')}]`,
    `disk stalls [${plan.diskStallRate.map((rate) => rate.toFixed(2)).join(',')}]`,
    `partitions ${plan.partitions.map((p) => `${p.kind}(${p.nodes.join(',')})@${p.startMs}-${p.endMs}`).join(' ') || 'none'}`,
    `crashes ${plan.crashes.map((c) => `n${c.node}@${c.atMs}+${c.downMs}`).join(' ') || 'none'}`,
    `pauses ${plan.pauses.map((p) => `n${p.node}@${p.atMs}+${p.durationMs}`).join(' ') || 'none'}`,
    `runaway clock ${runaway < 0 ? 'none' : `n${runaway} +${plan.clocks[runaway]!.runaway!.aheadMs}ms from ${plan.clocks[runaway]!.runaway!.fromMs}`}`,
  ].join('; ');
}

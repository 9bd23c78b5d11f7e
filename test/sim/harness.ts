// The deterministic simulator: N real NodeCore state machines on one virtual clock.
// It feeds them inputs, carries out their effects against simulated disks and a
// simulated network, injects the seed's faults, drives a client workload, and checks
// the invariants. Everything random comes from one Rng seeded by the run's seed.
// The parts live beside it: sim-node.ts (a node), node-effects.ts (its effects),
// fault-schedule.ts (the faults), convergence.ts (the liveness checks).
import { DEFAULT_CORE_CONFIG, type CoreConfig } from '../../src/core/config.js';
import { compareHlc } from '../../src/core/hlc.js';
import type { Effect, Input, PeerHello } from '../../src/core/io.js';
import { NodeCore, WATCHERS_META_NAME, type NodeCoreOptions } from '../../src/core/node.js';
import { Rng } from '../../src/core/rng.js';
import type { NodeId } from '../../src/core/types.js';
import { ClientDriver } from './client.js';
import { dataConverged, describeDivergence, describeLinks, describeMembership, finalNodes, membershipConverged } from './convergence.js';
import { EventQueue } from './event-queue.js';
import { FaultSchedule } from './fault-schedule.js';
import { clockOffsetMs, describeFaultPlan, drawFaultPlan, type FaultPlan } from './faults.js';
import { FailureDetectorWatch } from './fd-watch.js';
import { History, hlcText, type SimFailure } from './invariants.js';
import { Network, type NetworkHost } from './network.js';
import { NodeEffects } from './node-effects.js';
import { createSimNode, helloOf, type SimNode } from './sim-node.js';
import { describeEffect, describeInput, Trace } from './trace.js';
import { drawWorkloadLevels, Workload } from './workload.js';

export type { SimNode } from './sim-node.js';

export interface SimOptions {
  readonly seed: number;
  /** Keep the readable trace lines (the hash is always computed). */
  readonly trace?: boolean;
  readonly chaosMs?: number;
  /** Virtual time allowed for convergence after the chaos phase. */
  readonly livenessMsMax?: number;
  /** Change the core config of every node (used to inject deliberate bugs). */
  readonly config?: (config: CoreConfig) => CoreConfig;
}

export interface SimStats {
  readonly nodes: number;
  readonly virtualMs: number;
  readonly steps: number;
  readonly ackedWrites: number;
  readonly reads: number;
  readonly crashes: number;
  readonly linkResets: number;
  readonly deadDeclarations: number;
  readonly falsePositives: number;
  readonly falsePositiveDetails: readonly string[];
  /** Typed rows: increments acknowledged, counters and deleted fields checked at the end, concurrent creations as two types. */
  readonly ackedIncrements: number;
  readonly counterChecks: number;
  readonly fieldChecks: number;
  readonly typeConflicts: number;
  /** Lists compared across replicas, element orders checked, set/zset member removals checked. */
  readonly listChecks: number;
  readonly orderChecks: number;
  readonly scoreChecks: number;
  /** Virtual ms from the end of chaos until every replica agreed; -1 if never. */
  readonly convergedAfterMs: number;
  readonly faults: string;
}

export interface SimResult {
  readonly seed: number;
  readonly failures: readonly SimFailure[];
  readonly traceHash: string;
  readonly traceLines: readonly string[];
  readonly stats: SimStats;
}

/** Virtual time 0 on the nodes' wall clocks: a realistic epoch in ms. */
export const SIM_EPOCH_MS = 1_700_000_000_000;
export const CHAOS_MS_DEFAULT = 20_000;
export const LIVENESS_MS_MAX_DEFAULT = 60_000;
/** How often the liveness phase checks for convergence. */
const CONVERGENCE_CHECK_MS = 250;
/** A run with more events than this is stuck in a loop: fail it rather than hang. */
const EVENTS_MAX = 3_000_000;
const NODE_START_SPREAD_MS = 500;

export class Simulator {
  readonly queue = new EventQueue();
  readonly rng: Rng;
  readonly plan: FaultPlan;
  readonly config: CoreConfig;
  readonly nodes: SimNode[] = [];
  readonly network: Network;
  readonly history = new History();
  readonly trace: Trace;
  readonly chaosMs: number;
  readonly livenessMsMax: number;
  readonly fd: FailureDetectorWatch;
  readonly client: ClientDriver;
  nowMs = 0;
  phase: 'chaos' | 'liveness' | 'done' = 'chaos';
  private readonly byId = new Map<NodeId, number>();
  private readonly faults: FaultSchedule;
  private readonly effects: NodeEffects;
  private steps = 0;
  private crashes = 0;
  private convergedAtMs = -1;

  constructor(readonly options: SimOptions) {
    this.rng = new Rng(options.seed);
    this.chaosMs = options.chaosMs ?? CHAOS_MS_DEFAULT;
    this.livenessMsMax = options.livenessMsMax ?? LIVENESS_MS_MAX_DEFAULT;
    // Clears leave the tombstones of a drained key to later steps a few rows at a time, so the
    // small collections of a run take that path too (from the seed: the draws stay as they were).
    this.config = (options.config ?? ((config) => config))({ ...DEFAULT_CORE_CONFIG, clearRowsPerStep: 1 + (options.seed % 4) });
    this.trace = new Trace(options.trace === true);
    this.plan = drawFaultPlan(new Rng(this.rng.nextUint32()), this.chaosMs, this.config.hlcMaxOffsetMs);
    const workload = new Workload(drawWorkloadLevels(this.rng), new Rng(this.rng.nextUint32()));
    const count = this.plan.nodeCount;
    for (let index = 0; index < count; index++) {
      let id = '';
      for (let word = 0; word < 4; word++) id += this.rng.nextUint32().toString(16).padStart(8, '0');
      this.byId.set(id, index);
      this.nodes.push(createSimNode(index, id));
    }
    this.network = new Network(this.networkHost(), count, {
      latencyBaseMs: this.plan.latencyBaseMs,
      latencyJitterMs: this.plan.latencyJitterMs,
      tcpTimeoutMs: this.plan.tcpTimeoutMs,
    });
    this.faults = new FaultSchedule(this);
    this.effects = new NodeEffects(this);
    this.fd = new FailureDetectorWatch(this);
    this.client = new ClientDriver(this, workload);
  }

  note(line: string): void {
    this.trace.add(this.nowMs, line);
  }

  /** The node's wall clock: virtual time plus its offset; offsets vanish once clocks are fixed. */
  nodeNowMs(node: SimNode): number {
    const offset = this.phase === 'chaos' ? clockOffsetMs(this.plan.clocks[node.index]!, this.nowMs) : 0;
    return SIM_EPOCH_MS + this.nowMs + offset;
  }

  isRunaway(index: number): boolean {
    return this.plan.clocks[index]!.runaway !== undefined;
  }

  isBlocked(from: number, to: number): boolean {
    return this.network.isBlocked(from, to);
  }

  indexOf(id: NodeId): number | undefined {
    return this.byId.get(id);
  }

  hello(node: SimNode): PeerHello {
    return helloOf(node);
  }

  describeLinks(): string {
    return describeLinks(this);
  }

  run(): SimResult {
    this.note(`seed ${this.options.seed}: ${describeFaultPlan(this.plan)}`);
    this.note(`config ${JSON.stringify(this.config)}`);
    for (const node of this.nodes) this.queue.push(this.rng.nextInt(NODE_START_SPREAD_MS), () => this.start(node));
    this.faults.schedule();
    this.client.start();
    this.queue.push(this.chaosMs, () => this.beginLiveness());
    let events = 0;
    try {
      while (this.phase !== 'done') {
        const event = this.queue.pop();
        if (event === undefined) break;
        this.nowMs = event.timeMs;
        event.run();
        if (++events > EVENTS_MAX) {
          this.history.fail('runaway-events', this.nowMs, `more than ${EVENTS_MAX} events: something loops`);
          break;
        }
      }
    } catch (error) {
      const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
      this.history.fail('exception', this.nowMs, text.split('\n').slice(0, 6).join(' | '));
    }
    if (this.phase !== 'done') this.finish();
    return this.result();
  }

  /** How the simulated network reaches the nodes: link events and frames become inputs. */
  private networkHost(): NetworkHost {
    return {
      queue: this.queue,
      rng: this.rng,
      nowMs: () => this.nowMs,
      isRunning: (index) => this.nodes[index]!.core !== undefined,
      isResponsive: (index) => this.nodes[index]!.core !== undefined && this.nodes[index]!.frozenUntilMs <= this.nowMs,
      wants: (index, peer) => this.nodes[index]!.wants.has(peer),
      linkUp: (index, peer, session) => {
        const node = this.nodes[index]!;
        this.deliver(node, this.nowMs, () => {
          node.linkSessions.set(peer, session);
          return { kind: 'linkUp', nowMs: 0, peer: this.hello(this.nodes[peer]!) };
        });
      },
      linkDown: (index, peer, session) => {
        const node = this.nodes[index]!;
        this.deliver(node, this.nowMs, () => {
          if (node.linkSessions.get(peer) === session) node.linkSessions.delete(peer);
          return { kind: 'linkDown', nowMs: 0, peer: this.nodes[peer]!.id };
        });
      },
      frame: (from, to, hlc, message) =>
        this.deliver(this.nodes[to]!, this.nowMs, () => ({ kind: 'peerMessage', nowMs: 0, from: this.nodes[from]!.id, hlc, message })),
      reachabilityChanged: () => this.fd.refresh(),
      trace: (line) => this.note(line),
    };
  }

  // ---- node lifecycle ----

  private start(node: SimNode): void {
    node.store.incarnation++;
    node.epoch++;
    const hello = this.hello(node);
    const nowMs = this.nodeNowMs(node);
    // As the runtime does: the clock resumes from the high-water mark saved with the data.
    const lastHlc = node.store.lastCommittedHlc();
    node.core = new NodeCore({
      self: hello,
      config: this.config,
      lastHlc,
      seed: (parseInt(node.id.slice(0, 8), 16) ^ hello.incarnation) >>> 0,
      view: node.store,
      nowMs,
      savedWatchers: node.store.getCommittedMeta(WATCHERS_META_NAME),
    } as NodeCoreOptions);
    node.lastHlc = node.core.clock.last;
    node.executor = this.effects.executorFor(node);
    node.memberStates.clear();
    this.note(`${node.name} start incarnation=${hello.incarnation} lastHlc=${hlcText(lastHlc)} records=${node.store.countRecords()}`);
    this.fd.refresh();
    this.effects.broadcast(node);
    this.deliver(node, this.nowMs, () => ({ kind: 'tick', nowMs: 0 }));
  }

  crash(node: SimNode): void {
    if (node.core === undefined) return;
    this.crashes++;
    this.note(`${node.name} CRASH (${node.store.pendingCount()} uncommitted writes lost)`);
    node.core = undefined;
    node.executor = undefined;
    node.epoch++;
    node.store.crash();
    node.wants.clear();
    node.linkSessions.clear();
    node.lastCommitAtMs = 0;
    node.frozenUntilMs = 0;
    this.client.onCrash(node);
    for (const other of this.nodes) {
      if (other !== node) this.network.reset(node.index, other.index, `${node.name} crashed`, other.core !== undefined ? [other.index] : []);
    }
    this.fd.refresh();
  }

  restart(node: SimNode): void {
    if (node.core !== undefined) return;
    this.start(node);
  }

  // ---- inputs ----

  /** Deliver an input to the node at atMs (plus its slowness), in order, unless it crashed meanwhile. */
  deliver(node: SimNode, atMs: number, make: () => Input): void {
    const epoch = node.epoch;
    this.queue.push(atMs + this.plan.slowMs[node.index]!, () => this.feed(node, epoch, make));
  }

  /** Step the node with the input now, unless it crashed since epoch; a paused node gets it when it resumes. */
  feed(node: SimNode, epoch: number, make: () => Input): void {
    if (node.epoch !== epoch || node.core === undefined) return;
    if (node.frozenUntilMs > this.nowMs) {
      // A paused process: everything waits, in order, until it resumes.
      this.queue.push(node.frozenUntilMs, () => this.feed(node, epoch, make));
      return;
    }
    this.step(node, { ...make(), nowMs: this.nodeNowMs(node) } as Input);
  }

  step(node: SimNode, input: Input): Effect[] {
    const core = node.core!;
    this.note(`${node.name} <- ${describeInput(input)}`);
    const effects = core.step(input);
    this.steps++;
    const last = core.clock.last;
    if (compareHlc(last, node.lastHlc) < 0) {
      this.history.fail('hlc-monotonic', this.nowMs, `${node.name} clock went from ${hlcText(node.lastHlc)} to ${hlcText(last)} on ${input.kind}`);
    }
    node.lastHlc = last;
    for (const effect of effects) this.note(`${node.name} ${describeEffect(effect)}`);
    node.executor!.execute(effects, input);
    this.fd.afterStep(node);
    return effects;
  }

  // ---- liveness phase and the end ----

  private beginLiveness(): void {
    this.phase = 'liveness';
    this.note('LIVENESS: network healed, clocks fixed, crashed nodes restart, clients stop');
    this.faults.healAll();
    for (const node of this.nodes) if (node.core === undefined) this.start(node);
    this.fd.refresh();
    this.queue.push(this.nowMs + CONVERGENCE_CHECK_MS, () => this.checkConvergence());
  }

  private checkConvergence(): void {
    if (this.phase !== 'liveness') return;
    const converged = dataConverged(this) && membershipConverged(this);
    if (converged) {
      this.convergedAtMs = this.nowMs;
      this.note(`CONVERGED after ${this.nowMs - this.chaosMs}ms`);
      this.finish();
      return;
    }
    if (this.nowMs - this.chaosMs >= this.livenessMsMax) {
      if (!dataConverged(this)) {
        this.history.fail('convergence', this.nowMs, `replicas still differ ${this.livenessMsMax}ms after the network healed: ${describeDivergence(this)}`);
      } else {
        this.history.fail('membership-liveness', this.nowMs, `data converged but membership did not: ${describeMembership(this)}`);
      }
      this.finish();
      return;
    }
    this.queue.push(this.nowMs + CONVERGENCE_CHECK_MS, () => this.checkConvergence());
  }

  private finish(): void {
    this.phase = 'done';
    const finals = finalNodes(this);
    if (finals.length === this.nodes.length) this.history.checkFinal(finals, this.nowMs);
    this.note(`END failures=${this.history.failures.map((failure) => failure.invariant).join(',') || 'none'}`);
  }

  private result(): SimResult {
    const fd = this.fd.summary();
    return {
      seed: this.options.seed,
      failures: this.history.failures,
      traceHash: this.trace.hash(),
      traceLines: this.trace.lines,
      stats: {
        nodes: this.nodes.length,
        virtualMs: this.nowMs,
        steps: this.steps,
        ackedWrites: this.history.ackedCount,
        reads: this.client.reads,
        crashes: this.crashes,
        linkResets: this.faults.linkResets,
        deadDeclarations: fd.declarations,
        falsePositives: fd.falsePositives,
        falsePositiveDetails: fd.details,
        ackedIncrements: this.history.ledger.ackedIncrements,
        counterChecks: this.history.typedStats.counterChecks,
        fieldChecks: this.history.typedStats.fieldChecks,
        typeConflicts: this.history.typeConflicts(),
        listChecks: this.history.collectionStats.listChecks,
        orderChecks: this.history.collectionStats.orderChecks,
        scoreChecks: this.history.typedStats.scoreChecks,
        convergedAfterMs: this.convergedAtMs < 0 ? -1 : this.convergedAtMs - this.chaosMs,
        faults: describeFaultPlan(this.plan),
      },
    };
  }
}

/** Run one seed to the end. */
export function runSeed(options: SimOptions): SimResult {
  return new Simulator(options).run();
}

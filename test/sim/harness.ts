// The deterministic simulator: N real NodeCore state machines on one virtual clock.
// It feeds them inputs, carries out their effects against simulated disks and a
// simulated network, injects the seed's faults, drives a client workload, and checks
// the invariants. Everything random comes from one Rng seeded by the run's seed.
import { DEFAULT_CORE_CONFIG, type CoreConfig } from '../../src/core/config.js';
import { compareHlc } from '../../src/core/hlc.js';
import type { Effect, Input, PeerHello } from '../../src/core/io.js';
import { NodeCore, WATCHERS_META_NAME, type NodeCoreOptions } from '../../src/core/node.js';
import { Rng } from '../../src/core/rng.js';
import type { Hlc, MemberState, NodeId, VersionedRecord } from '../../src/core/types.js';
import { EventQueue } from './event-queue.js';
import { clockOffsetMs, describeFaultPlan, drawFaultPlan, type FaultPlan } from './faults.js';
import { History, hlcText, normalise, type FinalNode, type SimFailure } from './invariants.js';
import { Network } from './network.js';
import { SimStore } from './sim-store.js';
import { describeEffect, describeInput, describeRecord, shortId, Trace } from './trace.js';
import { drawWorkloadLevels, Workload } from './workload.js';
import { FailureDetectorWatch } from './fd-watch.js';
import { ClientDriver } from './client.js';

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
/** A stalled commit (fsync behind a busy disk) takes up to this long. */
const DISK_STALL_MS_MAX = 1_500;

export interface SimNode {
  readonly index: number;
  readonly name: string;
  readonly id: NodeId;
  readonly store: SimStore;
  core: NodeCore | undefined;
  /** Bumps on crash: events scheduled for an earlier life are void. */
  epoch: number;
  frozenUntilMs: number;
  wakeDeadlineMs: number;
  wakeToken: number;
  readonly wants: Set<number>;
  /** Link session per peer as this node last heard of it (linkUp); sends go on that one only. */
  readonly linkSessions: Map<number, number>;
  lastCommitAtMs: number;
  lastHlc: Hlc;
  readonly memberStates: Map<NodeId, MemberState>;
}

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
  nowMs = 0;
  phase: 'chaos' | 'liveness' | 'done' = 'chaos';
  private readonly byId = new Map<NodeId, number>();
  private readonly blockedCount: number[][];
  private readonly fd: FailureDetectorWatch;
  private readonly client: ClientDriver;
  private steps = 0;
  private crashes = 0;
  private linkResets = 0;
  private convergedAtMs = -1;

  constructor(readonly options: SimOptions) {
    this.rng = new Rng(options.seed);
    this.chaosMs = options.chaosMs ?? CHAOS_MS_DEFAULT;
    this.livenessMsMax = options.livenessMsMax ?? LIVENESS_MS_MAX_DEFAULT;
    this.config = (options.config ?? ((config) => config))({ ...DEFAULT_CORE_CONFIG });
    this.trace = new Trace(options.trace === true);
    this.plan = drawFaultPlan(new Rng(this.rng.nextUint32()), this.chaosMs, this.config.hlcMaxOffsetMs);
    const workload = new Workload(drawWorkloadLevels(this.rng), new Rng(this.rng.nextUint32()));
    const count = this.plan.nodeCount;
    for (let index = 0; index < count; index++) {
      let id = '';
      for (let word = 0; word < 4; word++) id += this.rng.nextUint32().toString(16).padStart(8, '0');
      this.byId.set(id, index);
      this.nodes.push({
        index,
        name: `n${index}`,
        id,
        store: new SimStore(),
        core: undefined,
        epoch: 0,
        frozenUntilMs: 0,
        wakeDeadlineMs: Infinity,
        wakeToken: 0,
        wants: new Set(),
        linkSessions: new Map(),
        lastCommitAtMs: 0,
        lastHlc: { wallMs: 0, logical: 0 },
        memberStates: new Map(),
      });
    }
    this.blockedCount = Array.from({ length: count }, () => new Array<number>(count).fill(0));
    this.network = new Network(
      {
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
      },
      count,
      { latencyBaseMs: this.plan.latencyBaseMs, latencyJitterMs: this.plan.latencyJitterMs, tcpTimeoutMs: this.plan.tcpTimeoutMs },
    );
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
    return { id: node.id, name: node.name, addr: `${node.name}.sim:7380`, incarnation: node.store.incarnation };
  }

  run(): SimResult {
    this.note(`seed ${this.options.seed}: ${describeFaultPlan(this.plan)}`);
    this.note(`config ${JSON.stringify(this.config)}`);
    for (const node of this.nodes) this.queue.push(this.rng.nextInt(NODE_START_SPREAD_MS), () => this.start(node));
    this.scheduleFaults();
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
    node.wakeDeadlineMs = Infinity;
    node.memberStates.clear();
    this.note(`${node.name} start incarnation=${hello.incarnation} lastHlc=${hlcText(lastHlc)} records=${node.store.countRecords()}`);
    this.fd.refresh();
    this.broadcast(node);
    this.deliver(node, this.nowMs, () => ({ kind: 'tick', nowMs: 0 }));
  }

  crash(node: SimNode): void {
    if (node.core === undefined) return;
    this.crashes++;
    this.note(`${node.name} CRASH (${node.store.pendingCount()} uncommitted writes lost)`);
    node.core = undefined;
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

  private feed(node: SimNode, epoch: number, make: () => Input): void {
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
    for (const effect of effects) {
      this.note(`${node.name} ${describeEffect(effect)}`);
      this.execute(node, input, effect);
    }
    this.fd.afterStep(node);
    return effects;
  }

  private execute(node: SimNode, input: Input, effect: Effect): void {
    switch (effect.kind) {
      case 'send': {
        const to = this.indexOf(effect.to);
        const session = to === undefined ? undefined : node.linkSessions.get(to);
        if (to === undefined || session === undefined || !this.network.send(node.index, to, session, effect.hlc, effect.message)) this.note(`${node.name}    (no link to ${shortId(effect.to)}: dropped)`);
        break;
      }
      case 'connect': {
        const peer = this.indexOf(effect.peer);
        if (peer === undefined || peer === node.index) break;
        node.wants.add(peer);
        this.network.ensureDial(node.index, peer);
        break;
      }
      case 'disconnect': {
        const peer = this.indexOf(effect.peer);
        if (peer === undefined) break;
        node.wants.delete(peer);
        const ends = [node.index, ...(this.nodes[peer]!.core !== undefined ? [peer] : [])];
        this.network.reset(node.index, peer, `${node.name} disconnected`, ends);
        break;
      }
      case 'announce':
        this.broadcast(node);
        break;
      case 'persist':
        this.persist(node, effect);
        break;
      case 'applied':
        if (input.kind === 'peerMessage' && !effect.expired) this.checkNotFromFuture(node, input, effect.records);
        break;
      case 'waitDone':
        this.client.onWaitDone(node, effect.requestId, effect.replicas);
        break;
      case 'wakeAt':
        this.scheduleWake(node, effect.deadlineMs);
        break;
      case 'log':
        break;
      default: {
        // Effects newer than this simulator: metadata saves are modelled, others ignored.
        const other = effect as { kind: string; name?: string; value?: Uint8Array };
        if (other.kind === 'saveMeta' && other.name !== undefined && other.value !== undefined) this.saveMeta(node, other.name, other.value);
      }
    }
  }

  /** A merged record may be at most maxOffset ahead of the receiver's clock (the frame check). */
  private checkNotFromFuture(node: SimNode, input: Input, records: readonly VersionedRecord[]): void {
    for (const record of records) {
      if (record.hlc.wallMs > input.nowMs + this.config.hlcMaxOffsetMs) {
        this.history.fail('future-record', this.nowMs, `${node.name} at ${input.nowMs} merged ${describeRecord(record)}, beyond the max offset`);
      }
    }
  }

  private persist(node: SimNode, effect: Extract<Effect, { kind: 'persist' }>): void {
    const core = node.core!;
    if (effect.requestId > 0) this.client.onLocalStamps(node, effect.records);
    node.store.write(effect.token, effect.records, effect.purgeKeys, core.clock.last);
    this.scheduleCommit(node, effect.token, () => {
      this.history.noteCommitted(node.name, effect.records, this.nowMs);
      if (effect.requestId > 0) this.client.onAcked(node, effect.records, effect.writeSeq);
      this.step(node, { kind: 'persisted', nowMs: this.nodeNowMs(node), tokens: [effect.token] });
    });
  }

  private saveMeta(node: SimNode, name: string, value: Uint8Array): void {
    node.store.writeMeta(name, value, node.core!.clock.last);
    this.scheduleCommit(node, -1, () => undefined);
  }

  /** Commits happen in write order, each after a random storage delay. */
  private scheduleCommit(node: SimNode, token: number, committed: () => void): void {
    const stalled = this.phase === 'chaos' && this.rng.nextFloat() < this.plan.diskStallRate[node.index]!;
    const delayMs = this.rng.nextInt(this.plan.commitDelayMaxMs + 1) + (stalled ? this.rng.nextInt(DISK_STALL_MS_MAX) : 0);
    const commitAtMs = Math.max(node.lastCommitAtMs, this.nowMs + delayMs);
    node.lastCommitAtMs = commitAtMs;
    const epoch = node.epoch;
    const commit = (): void => {
      if (node.epoch !== epoch) return;
      if (node.frozenUntilMs > this.nowMs) {
        this.queue.push(node.frozenUntilMs, commit);
        return;
      }
      const batch = node.store.commitNext();
      if (batch.token !== token) throw new Error(`sim: commit order broken (${batch.token} != ${token})`);
      committed();
    };
    this.queue.push(commitAtMs, commit);
  }

  private scheduleWake(node: SimNode, deadlineMs: number): void {
    // As the runtime: an unchanged deadline keeps its timer; a new one replaces it.
    if (deadlineMs === node.wakeDeadlineMs) return;
    node.wakeDeadlineMs = deadlineMs;
    const token = ++node.wakeToken;
    if (!Number.isFinite(deadlineMs)) return;
    const delayMs = Math.max(0, Math.min(deadlineMs - this.nodeNowMs(node), 60_000));
    const epoch = node.epoch;
    this.queue.push(this.nowMs + delayMs, () => {
      if (node.wakeToken !== token || node.epoch !== epoch) return;
      node.wakeDeadlineMs = Infinity;
      this.feed(node, epoch, () => ({ kind: 'tick', nowMs: 0 }));
    });
  }

  /** UDP discovery: to every node not partitioned away, maybe lost, maybe twice. */
  private broadcast(node: SimNode): void {
    const hello = this.hello(node);
    const chaos = this.phase === 'chaos';
    for (const other of this.nodes) {
      if (other === node || other.core === undefined || this.isBlocked(node.index, other.index)) continue;
      if (chaos && this.rng.nextFloat() < this.plan.announceDropRate) continue;
      const copies = chaos && this.rng.nextFloat() < this.plan.announceDuplicateRate ? 2 : 1;
      for (let copy = 0; copy < copies; copy++) {
        this.deliver(other, this.nowMs + this.network.latencyMs() + copy * this.rng.nextInt(100), () => ({ kind: 'discovered', nowMs: 0, peer: hello }));
      }
    }
  }

  // ---- faults ----

  private scheduleFaults(): void {
    const plan = this.plan;
    for (const partition of plan.partitions) {
      const pairs = partitionPairs(partition.kind, partition.nodes, plan.nodeCount);
      this.queue.push(partition.startMs, () => {
        if (this.phase !== 'chaos') return;
        this.note(`PARTITION ${partition.kind} ${partition.nodes.map((index) => `n${index}`).join(',')} until ${partition.endMs}`);
        for (const [from, to] of pairs) this.setBlocked(from, to, +1);
      });
      this.queue.push(partition.endMs, () => {
        if (this.phase !== 'chaos') return;
        this.note(`HEAL ${partition.kind} ${partition.nodes.map((index) => `n${index}`).join(',')}`);
        for (const [from, to] of pairs) this.setBlocked(from, to, -1);
      });
    }
    for (const crash of plan.crashes) {
      const node = this.nodes[crash.node]!;
      this.queue.push(crash.atMs, () => {
        if (this.phase !== 'chaos' || node.core === undefined) return;
        this.crash(node);
        const restartAtMs = crash.atMs + crash.downMs;
        if (restartAtMs < this.chaosMs) this.queue.push(restartAtMs, () => this.restart(node));
      });
    }
    for (const pause of plan.pauses) {
      const node = this.nodes[pause.node]!;
      this.queue.push(pause.atMs, () => {
        if (node.core === undefined || node.frozenUntilMs > this.nowMs) return;
        node.frozenUntilMs = this.nowMs + pause.durationMs;
        this.note(`${node.name} PAUSE for ${pause.durationMs}ms`);
        this.fd.refresh();
        this.queue.push(node.frozenUntilMs, () => this.fd.refresh());
      });
    }
    if (plan.linkResetsPerSecond > 0) this.scheduleLinkReset();
  }

  private scheduleLinkReset(): void {
    const gapMs = 1 + Math.floor((-Math.log(1 - this.rng.nextFloat()) * 1000) / this.plan.linkResetsPerSecond);
    this.queue.push(this.nowMs + gapMs, () => {
      if (this.phase !== 'chaos') return;
      const links = this.network.allLinks();
      const link = links[this.rng.nextInt(links.length)]!;
      if (link.up) {
        this.linkResets++;
        const ends = [link.low, link.high].filter((index) => this.nodes[index]!.core !== undefined);
        this.network.reset(link.low, link.high, 'connection reset', ends);
      }
      this.scheduleLinkReset();
    });
  }

  private setBlocked(from: number, to: number, delta: number): void {
    const counts = this.blockedCount[from]!;
    counts[to]! += delta;
    this.network.setBlocked(from, to, counts[to]! > 0);
  }

  // ---- liveness phase and the end ----

  private beginLiveness(): void {
    this.phase = 'liveness';
    this.note('LIVENESS: network healed, clocks fixed, crashed nodes restart, clients stop');
    for (let from = 0; from < this.nodes.length; from++) {
      for (let to = 0; to < this.nodes.length; to++) {
        if (this.blockedCount[from]![to]! > 0) {
          this.blockedCount[from]![to] = 0;
          this.network.setBlocked(from, to, false);
        }
      }
    }
    for (const node of this.nodes) if (node.core === undefined) this.start(node);
    this.fd.refresh();
    this.queue.push(this.nowMs + CONVERGENCE_CHECK_MS, () => this.checkConvergence());
  }

  private checkConvergence(): void {
    if (this.phase !== 'liveness') return;
    const converged = this.dataConverged() && this.membershipConverged();
    if (converged) {
      this.convergedAtMs = this.nowMs;
      this.note(`CONVERGED after ${this.nowMs - this.chaosMs}ms`);
      this.finish();
      return;
    }
    if (this.nowMs - this.chaosMs >= this.livenessMsMax) {
      if (!this.dataConverged()) {
        this.history.fail('convergence', this.nowMs, `replicas still differ ${this.livenessMsMax}ms after the network healed: ${this.describeDivergence()}`);
      } else {
        this.history.fail('membership-liveness', this.nowMs, `data converged but membership did not: ${this.describeMembership()}`);
      }
      this.finish();
      return;
    }
    this.queue.push(this.nowMs + CONVERGENCE_CHECK_MS, () => this.checkConvergence());
  }

  private finalNodes(): FinalNode[] {
    return this.nodes
      .filter((node) => node.core !== undefined)
      .map((node) => ({
        name: node.name,
        id: node.id,
        records: node.store.visibleRecords(),
        treeRoot: node.core!.tree.root(),
        tree: node.core!.tree,
        nowMs: this.nodeNowMs(node),
      }));
  }

  private dataConverged(): boolean {
    if (this.nodes.some((node) => node.core === undefined || node.store.pendingCount() > 0)) return false;
    const finals = this.finalNodes();
    const reference = normalise(finals[0]!).join('\n');
    const root = finals[0]!.treeRoot;
    return finals.every((node) => node.treeRoot[0] === root[0] && node.treeRoot[1] === root[1] && normalise(node).join('\n') === reference);
  }

  private membershipConverged(): boolean {
    for (const node of this.nodes) {
      const views = node.core!.membership.members();
      for (const other of this.nodes) {
        if (other === node) continue;
        const view = views.find((member) => member.id === other.id);
        if (view === undefined || view.state !== 'alive') return false;
      }
    }
    return true;
  }

  private describeDivergence(): string {
    const finals = this.finalNodes();
    const pending = this.nodes.map((node) => `${node.name}:${node.store.pendingCount()}`).join(' ');
    const counts = finals.map((node) => `${node.name}:${node.records.length} root=${node.treeRoot.map((part) => part.toString(16)).join('')}`).join(' ');
    return `pending [${pending}] records [${counts}] links [${this.describeLinks()}] members [${this.describeMembership()}]`;
  }

  describeLinks(): string {
    return this.network
      .allLinks()
      .map((link) => `n${link.low}-n${link.high}:${link.up ? 'up' : 'down'}`)
      .join(' ');
  }

  private describeMembership(): string {
    return this.nodes
      .filter((node) => node.core !== undefined)
      .map((node) => `${node.name}{${node.core!.membership.members().filter((member) => member.id !== node.id).map((member) => `n${this.indexOf(member.id)}#${member.incarnation}:${member.state}`).join(',')}}`)
      .join(' ');
  }

  private finish(): void {
    this.phase = 'done';
    const finals = this.finalNodes();
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
        linkResets: this.linkResets,
        deadDeclarations: fd.declarations,
        falsePositives: fd.falsePositives,
        falsePositiveDetails: fd.details,
        convergedAfterMs: this.convergedAtMs < 0 ? -1 : this.convergedAtMs - this.chaosMs,
        faults: describeFaultPlan(this.plan),
      },
    };
  }
}

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

/** Run one seed to the end. */
export function runSeed(options: SimOptions): SimResult {
  return new Simulator(options).run();
}

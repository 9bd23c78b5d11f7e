// A node's I/O in the simulated world, under the runtime's own effect executor: sends and
// dials on the simulated network, persists to the simulated disk with commit delays and
// stalls, wake timers, UDP discovery broadcasts; and checks merged records on the way.
import type { Input, LogLevel } from '../../src/core/io.js';
import type { PeerMessage } from '../../src/core/messages.js';
import type { Hlc, NodeId, VersionedRecord } from '../../src/core/types.js';
import { Commit, EffectExecutor, type AppliedEffect, type EffectIo, type PersistEffect } from '../../src/runtime/effects.js';
import type { Simulator } from './harness.js';
import type { SimNode } from './sim-node.js';
import { describeRecord, shortId } from './trace.js';

/** A stalled commit (fsync behind a busy disk) takes up to this long. */
const DISK_STALL_MS_MAX = 1_500;

/**
 * One life of one node's I/O in the simulated world; the runtime's effect executor
 * (src/runtime/effects.ts) carries out the core's effects on it. Each persist is its own
 * commit, after a random storage delay, in order.
 */
class SimNodeIo implements EffectIo {
  readonly executor = new EffectExecutor(this);
  private wakeToken = 0;

  constructor(
    private readonly effects: NodeEffects,
    private readonly sim: Simulator,
    private readonly node: SimNode,
    private readonly epoch: number,
  ) {}

  nowMs(): number {
    return this.sim.nodeNowMs(this.node);
  }

  /** A paused process gets it when it resumes; a crashed one never. */
  feed(input: Input): void {
    this.sim.feed(this.node, this.epoch, () => input);
  }

  send(to: NodeId, hlc: Hlc, message: PeerMessage): void {
    const sim = this.sim;
    const node = this.node;
    const index = sim.indexOf(to);
    const session = index === undefined ? undefined : node.linkSessions.get(index);
    if (index === undefined || session === undefined || !sim.network.send(node.index, index, session, hlc, message)) sim.note(`${node.name}    (no link to ${shortId(to)}: dropped)`);
  }

  connect(peer: NodeId): void {
    const index = this.sim.indexOf(peer);
    if (index === undefined || index === this.node.index) return;
    this.node.wants.add(index);
    this.sim.network.ensureDial(this.node.index, index);
  }

  disconnect(peer: NodeId): void {
    const sim = this.sim;
    const node = this.node;
    const index = sim.indexOf(peer);
    if (index === undefined) return;
    node.wants.delete(index);
    const ends = [node.index, ...(sim.nodes[index]!.core !== undefined ? [index] : [])];
    sim.network.reset(node.index, index, `${node.name} disconnected`, ends);
  }

  announce(): void {
    this.effects.broadcast(this.node);
  }

  persist(effect: PersistEffect): Commit {
    const sim = this.sim;
    const node = this.node;
    if (effect.requestId > 0) sim.client.onLocalStamps(node, effect.requestId, effect.records);
    node.store.write(effect.token, effect.records, effect.purgeKeys, node.core!.clock.last);
    const commit = new Commit();
    this.effects.scheduleCommit(node, effect.token, () => {
      sim.history.noteCommitted(node.name, effect.records, sim.nowMs);
      if (effect.requestId > 0) sim.client.onAcked(node, effect.requestId, effect.records, effect.writeSeq);
      this.executor.committed(commit);
    });
    return commit;
  }

  saveMeta(name: string, value: Uint8Array): void {
    this.node.store.writeMeta(name, value, this.node.core!.clock.last);
    this.effects.scheduleCommit(this.node, -1, () => undefined);
  }

  applied(effect: AppliedEffect, input: Input): void {
    if (input.kind === 'peerMessage' && !effect.expired) this.effects.checkNotFromFuture(this.node, input, effect.records);
  }

  published(): void {}

  waitDone(requestId: number, replicas: number): void {
    this.sim.client.onWaitDone(this.node, requestId, replicas);
  }

  quorumReadDone(): void {}

  /** As the runtime's: a new deadline replaces the timer. */
  setWakeTimer(delayMs: number | undefined): void {
    const token = ++this.wakeToken;
    if (delayMs === undefined) return;
    this.sim.queue.push(this.sim.nowMs + delayMs, () => {
      if (this.wakeToken !== token || this.node.epoch !== this.epoch) return;
      this.executor.woke();
    });
  }

  log(_level: LogLevel, _message: string, _fields: Readonly<Record<string, unknown>>): void {}
}

export class NodeEffects {
  constructor(private readonly sim: Simulator) {}

  /** The executor of a node's new life (start or restart): its timers and commits die with it. */
  executorFor(node: SimNode): EffectExecutor {
    return new SimNodeIo(this, this.sim, node, node.epoch).executor;
  }

  /** UDP discovery: to every node not partitioned away, maybe lost, maybe twice. */
  broadcast(node: SimNode): void {
    const sim = this.sim;
    const hello = sim.hello(node);
    const chaos = sim.phase === 'chaos';
    for (const other of sim.nodes) {
      if (other === node || other.core === undefined || sim.isBlocked(node.index, other.index)) continue;
      if (chaos && sim.rng.nextFloat() < sim.plan.announceDropRate) continue;
      const copies = chaos && sim.rng.nextFloat() < sim.plan.announceDuplicateRate ? 2 : 1;
      for (let copy = 0; copy < copies; copy++) {
        sim.deliver(other, sim.nowMs + sim.network.latencyMs() + copy * sim.rng.nextInt(100), () => ({ kind: 'discovered', nowMs: 0, peer: hello }));
      }
    }
  }

  /**
   * A merged record may be at most maxOffset ahead of the receiver's clock (the frame check);
   * a clear derived from an expiry is stamped at the expiry time, not by a clock.
   */
  checkNotFromFuture(node: SimNode, input: Input, records: readonly VersionedRecord[]): void {
    for (const record of records) {
      if (this.sim.history.isDerivedClear(record)) continue;
      if (record.hlc.wallMs > input.nowMs + this.sim.config.hlcMaxOffsetMs) {
        this.sim.history.fail('future-record', this.sim.nowMs, `${node.name} at ${input.nowMs} merged ${describeRecord(record)}, beyond the max offset`);
      }
    }
  }

  /** Commits happen in write order, each after a random storage delay. */
  scheduleCommit(node: SimNode, token: number, committed: () => void): void {
    const sim = this.sim;
    const stalled = sim.phase === 'chaos' && sim.rng.nextFloat() < sim.plan.diskStallRate[node.index]!;
    const delayMs = sim.rng.nextInt(sim.plan.commitDelayMaxMs + 1) + (stalled ? sim.rng.nextInt(DISK_STALL_MS_MAX) : 0);
    const commitAtMs = Math.max(node.lastCommitAtMs, sim.nowMs + delayMs);
    node.lastCommitAtMs = commitAtMs;
    const epoch = node.epoch;
    const commit = (): void => {
      if (node.epoch !== epoch) return;
      if (node.frozenUntilMs > sim.nowMs) {
        sim.queue.push(node.frozenUntilMs, commit);
        return;
      }
      const batch = node.store.commitNext();
      if (batch.token !== token) throw new Error(`sim: commit order broken (${batch.token} != ${token})`);
      committed();
    };
    sim.queue.push(commitAtMs, commit);
  }
}

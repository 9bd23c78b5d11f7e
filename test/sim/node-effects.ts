// Carries out a node's effects in the simulated world: sends and dials on the
// simulated network, persists to the simulated disk with commit delays and stalls,
// wake timers, UDP discovery broadcasts; and checks merged records on the way.
import type { Effect, Input } from '../../src/core/io.js';
import type { VersionedRecord } from '../../src/core/types.js';
import type { Simulator } from './harness.js';
import type { SimNode } from './sim-node.js';
import { describeRecord, shortId } from './trace.js';

/** A stalled commit (fsync behind a busy disk) takes up to this long. */
const DISK_STALL_MS_MAX = 1_500;

export class NodeEffects {
  constructor(private readonly sim: Simulator) {}

  execute(node: SimNode, input: Input, effect: Effect): void {
    const sim = this.sim;
    switch (effect.kind) {
      case 'send': {
        const to = sim.indexOf(effect.to);
        const session = to === undefined ? undefined : node.linkSessions.get(to);
        if (to === undefined || session === undefined || !sim.network.send(node.index, to, session, effect.hlc, effect.message)) sim.note(`${node.name}    (no link to ${shortId(effect.to)}: dropped)`);
        break;
      }
      case 'connect': {
        const peer = sim.indexOf(effect.peer);
        if (peer === undefined || peer === node.index) break;
        node.wants.add(peer);
        sim.network.ensureDial(node.index, peer);
        break;
      }
      case 'disconnect': {
        const peer = sim.indexOf(effect.peer);
        if (peer === undefined) break;
        node.wants.delete(peer);
        const ends = [node.index, ...(sim.nodes[peer]!.core !== undefined ? [peer] : [])];
        sim.network.reset(node.index, peer, `${node.name} disconnected`, ends);
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
        sim.client.onWaitDone(node, effect.requestId, effect.replicas);
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
  private checkNotFromFuture(node: SimNode, input: Input, records: readonly VersionedRecord[]): void {
    for (const record of records) {
      if (this.sim.history.isDerivedClear(record)) continue;
      if (record.hlc.wallMs > input.nowMs + this.sim.config.hlcMaxOffsetMs) {
        this.sim.history.fail('future-record', this.sim.nowMs, `${node.name} at ${input.nowMs} merged ${describeRecord(record)}, beyond the max offset`);
      }
    }
  }

  private persist(node: SimNode, effect: Extract<Effect, { kind: 'persist' }>): void {
    const sim = this.sim;
    const core = node.core!;
    if (effect.requestId > 0) sim.client.onLocalStamps(node, effect.requestId, effect.records);
    node.store.write(effect.token, effect.records, effect.purgeKeys, core.clock.last);
    this.scheduleCommit(node, effect.token, () => {
      sim.history.noteCommitted(node.name, effect.records, sim.nowMs);
      if (effect.requestId > 0) sim.client.onAcked(node, effect.requestId, effect.records, effect.writeSeq);
      sim.step(node, { kind: 'persisted', nowMs: sim.nodeNowMs(node), tokens: [effect.token] });
    });
  }

  private saveMeta(node: SimNode, name: string, value: Uint8Array): void {
    node.store.writeMeta(name, value, node.core!.clock.last);
    this.scheduleCommit(node, -1, () => undefined);
  }

  /** Commits happen in write order, each after a random storage delay. */
  private scheduleCommit(node: SimNode, token: number, committed: () => void): void {
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

  private scheduleWake(node: SimNode, deadlineMs: number): void {
    const sim = this.sim;
    // As the runtime: an unchanged deadline keeps its timer; a new one replaces it.
    if (deadlineMs === node.wakeDeadlineMs) return;
    node.wakeDeadlineMs = deadlineMs;
    const token = ++node.wakeToken;
    if (!Number.isFinite(deadlineMs)) return;
    const delayMs = Math.max(0, Math.min(deadlineMs - sim.nodeNowMs(node), 60_000));
    const epoch = node.epoch;
    sim.queue.push(sim.nowMs + delayMs, () => {
      if (node.wakeToken !== token || node.epoch !== epoch) return;
      node.wakeDeadlineMs = Infinity;
      sim.feed(node, epoch, () => ({ kind: 'tick', nowMs: 0 }));
    });
  }
}

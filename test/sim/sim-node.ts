// One simulated node: its disk, its NodeCore while running, and the harness's
// bookkeeping around it (life epoch, pause, links it wants).
import type { PeerHello } from '../../src/core/io.js';
import type { NodeCore } from '../../src/core/node.js';
import type { EffectExecutor } from '../../src/runtime/effects.js';
import type { Hlc, MemberState, NodeId } from '../../src/core/types.js';
import { SimStore } from './sim-store.js';

export interface SimNode {
  readonly index: number;
  readonly name: string;
  readonly id: NodeId;
  readonly store: SimStore;
  core: NodeCore | undefined;
  /** Carries out the core's effects (the runtime's executor on simulated I/O); one per life. */
  executor: EffectExecutor | undefined;
  /** Bumps on crash: events scheduled for an earlier life are void. */
  epoch: number;
  frozenUntilMs: number;
  readonly wants: Set<number>;
  /** Link session per peer as this node last heard of it (linkUp); sends go on that one only. */
  readonly linkSessions: Map<number, number>;
  lastCommitAtMs: number;
  lastHlc: Hlc;
  readonly memberStates: Map<NodeId, MemberState>;
}

/** A node that has never run: empty disk, no core. */
export function createSimNode(index: number, id: NodeId): SimNode {
  return {
    index,
    name: `n${index}`,
    id,
    store: new SimStore(),
    core: undefined,
    executor: undefined,
    epoch: 0,
    frozenUntilMs: 0,
    wants: new Set(),
    linkSessions: new Map(),
    lastCommitAtMs: 0,
    lastHlc: { wallMs: 0, logical: 0 },
    memberStates: new Map(),
  };
}

/** What the node says about itself in discovery and link handshakes. */
export function helloOf(node: SimNode): PeerHello {
  return { id: node.id, name: node.name, addr: `${node.name}.sim:7380`, incarnation: node.store.incarnation };
}

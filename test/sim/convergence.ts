// The liveness phase's questions about a simulator: have the replicas and the member
// lists converged, and if not, a description of how they differ.
import type { Simulator } from './harness.js';
import { normalise, type FinalNode } from './invariants.js';

/** The running nodes' data as the final invariant checks see it. */
export function finalNodes(sim: Simulator): FinalNode[] {
  return sim.nodes
    .filter((node) => node.core !== undefined)
    .map((node) => ({
      name: node.name,
      id: node.id,
      records: node.store.visibleRecords(),
      treeRoot: node.core!.tree.root(),
      tree: node.core!.tree,
      nowMs: sim.nodeNowMs(node),
    }));
}

/** Every node runs, has committed everything, and holds the same records and tree root. */
export function dataConverged(sim: Simulator): boolean {
  if (sim.nodes.some((node) => node.core === undefined || node.store.pendingCount() > 0)) return false;
  const finals = finalNodes(sim);
  const reference = normalise(finals[0]!).join('\n');
  const root = finals[0]!.treeRoot;
  return finals.every((node) => node.treeRoot[0] === root[0] && node.treeRoot[1] === root[1] && normalise(node).join('\n') === reference);
}

/** Every node holds every other node alive. */
export function membershipConverged(sim: Simulator): boolean {
  for (const node of sim.nodes) {
    const views = node.core!.membership.members();
    for (const other of sim.nodes) {
      if (other === node) continue;
      const view = views.find((member) => member.id === other.id);
      if (view === undefined || view.state !== 'alive') return false;
    }
  }
  return true;
}

export function describeDivergence(sim: Simulator): string {
  const finals = finalNodes(sim);
  const pending = sim.nodes.map((node) => `${node.name}:${node.store.pendingCount()}`).join(' ');
  const counts = finals.map((node) => `${node.name}:${node.records.length} root=${node.treeRoot.map((part) => part.toString(16)).join('')}`).join(' ');
  return `pending [${pending}] records [${counts}] links [${describeLinks(sim)}] members [${describeMembership(sim)}]`;
}

export function describeLinks(sim: Simulator): string {
  return sim.network
    .allLinks()
    .map((link) => `n${link.low}-n${link.high}:${link.up ? 'up' : 'down'}`)
    .join(' ');
}

export function describeMembership(sim: Simulator): string {
  return sim.nodes
    .filter((node) => node.core !== undefined)
    .map((node) => `${node.name}{${node.core!.membership.members().filter((member) => member.id !== node.id).map((member) => `n${sim.indexOf(member.id)}#${member.incarnation}:${member.state}`).join(',')}}`)
    .join(' ');
}

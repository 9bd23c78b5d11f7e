// Round-robin probe order (SWIM section 4.3): every live member is probed once per
// round in a freshly shuffled order, so a failed member is found within a bounded
// number of probe intervals, yet no two nodes march through the members in lockstep.
import type { Rng } from './rng.js';
import type { NodeId } from './types.js';

export class ProbeRotation {
  private order: NodeId[] = [];
  private index = 0;

  /**
   * The next member of the round that `eligible` accepts. When the round is used up a
   * new one starts from `candidates()` (shuffled), at most once per call, so a node
   * with nobody to probe returns undefined instead of looping.
   */
  next(eligible: (id: NodeId) => boolean, candidates: () => NodeId[], rng: Rng): NodeId | undefined {
    let refilled = false;
    for (;;) {
      while (this.index < this.order.length) {
        const id = this.order[this.index++]!;
        if (eligible(id)) return id;
      }
      if (refilled) return undefined;
      this.order = rng.shuffle(candidates());
      this.index = 0;
      refilled = true;
    }
  }

  /**
   * A member that just became live joins the rest of this round at a random place
   * (as memberlist does), so it is probed within one round, not after the next reshuffle.
   */
  insert(id: NodeId, rng: Rng): void {
    for (let position = this.index; position < this.order.length; position++) if (this.order[position] === id) return;
    const at = this.index + rng.nextInt(this.order.length - this.index + 1);
    this.order.splice(at, 0, id);
  }
}

// Every seed that ever failed, with what was wrong. Seeds replay exactly only with the
// simulator and core of their time; they stay as cases because each once exposed a
// schedule worth re-running. `open: true` marks a core bug not fixed yet: the test runs
// the seed and reports it as a todo instead of failing the suite. KNOWN_GAPS name the
// invariants that report a gap in the design itself (not a slip in the code): the sweep
// prints how many seeds show each but fails only on the other invariants, until the
// design changes and the gap's seeds pass.

export interface KnownGap {
  /** The invariant that reports it. */
  readonly invariant: string;
  /** What the design gets wrong, and the change that would close it. */
  readonly gap: string;
}

export const KNOWN_GAPS: readonly KnownGap[] = [
  {
    invariant: 'expiry-superseded',
    gap:
      'Narrowed by core/expiry.ts (an expiry no longer becomes a clear: the sweep and the merge keep the rows of an expired key until the expiry is final, and a newer header written before it voids it). Left: a write that creates the key again on a node that saw it expire stores the clear stamped at the expiry (expiryClear, so concurrent re-creations agree); that clear also removes a header written before the expiry by a node that had not seen it expire (and that header\'s rows), if it was still in flight or hidden behind a later header of its writer. ' +
      'Closing it needs that clear to be void once such a header exists anywhere: headers that name the start of the life they continue (so a later header still tells that its life went through the expiry), a re-creation clear void when the key\'s newest header or any header merged continues the expired life, and reads that skip the rows a still-voidable clear kills instead of removing them at once',
  },
  {
    invariant: 'counter-clear-race',
    gap:
      "rows.ts counters: a slot holds its origin's running total and a base records observed totals, with nothing tying either to a clear. A slot row stamped after a DEL the origin had not seen carries the increments from before the DEL (counted again), and a base written by a node that had not seen a DEL subtracts a total that the DEL removed from a running total started again after it (increments lost). " +
      'Closing it needs a running total that names where it started (its first stamp) in slot values and observed entries, and clears that record the totals they observed',
  },
  {
    invariant: 'type-conflict-rows',
    gap:
      'DESIGN.md 6 says that when two nodes create one key as different types concurrently the higher header wins and "the other type\'s rows are dead", but nothing makes them dead: element rows carry no type. A sorted set\'s members and a hash\'s fields are both Field rows, their ZINCRBY and HINCRBY slots both Slot rows of the member/field, so when a hash header wins over a concurrent sorted set (or the reverse) the loser\'s float score slots count in the winner\'s field (HGET reads a float, HINCRBY then refuses it), and its members read as fields; set members (empty Field rows) likewise read as fields or members of the winner, and list items count in LLEN/SCARD of a set header. ' +
      'Closing it needs element rows that name their type (a row kind per collection type, or the type in the slot element), so a merge or read can drop the loser\'s rows (a format change)',
  },
];

export function isKnownGap(invariant: string): boolean {
  return KNOWN_GAPS.some((gap) => gap.invariant === invariant);
}

export interface RegressionSeed {
  readonly seed: number;
  /** The invariant that failed. */
  readonly invariant: string;
  /** What the bug was (core or simulator) and where. */
  readonly bug: string;
  /** True while the core bug is not fixed. */
  readonly open: boolean;
}

export const REGRESSIONS: readonly RegressionSeed[] = [
  {
    seed: 1,
    invariant: 'not-newest',
    bug: 'simulator: the final check ranked a swept expiry (tombstone of the same version) above the stored value; versions now compare by (hlc, origin) only',
    open: false,
  },
  {
    seed: 2,
    invariant: 'read-your-writes',
    bug: 'simulator: reads and final checks treated an acknowledged-then-purged tombstone as a lost write; absence is now explained by any committed tombstone at least as new',
    open: false,
  },
  {
    seed: 36,
    invariant: 'read-your-writes',
    bug: 'simulator: reading an older tombstone after a newer delete was purged is still "absent"; the read check now accepts any absent read that a committed delete explains',
    open: false,
  },
  {
    seed: 237,
    invariant: 'wait-replicas',
    bug: 'simulator: a frame sent after a link broke (but before the sender heard) travelled on the next link session; sends now use the session the sender knows, and handshakes wait for paused processes',
    open: false,
  },
  {
    seed: 269,
    invariant: 'wait-replicas',
    bug: 'core (node.ts onPersisted, remote): a replicateAck for a replicate received on an earlier link session is sent on the current one. After the peer restarts (writeSeq back to 0) the stale ack (seq 93) sets ackedSeq far above its real writes and WAIT over-counts replicas; tombstones may be purged early the same way',
    open: false,
  },
  {
    seed: 99,
    invariant: 'wait-replicas',
    bug: 'core (node.ts noteWatchers only on tick, tombstones.ts takeAcknowledged): right after start the watcher set is empty, so the first local delete counts as acknowledged by everyone; it is purged locally and peers are told to purge before the replicate reaches them, they refuse the tombstone (wasPurged) and keep the old value: the delete is lost on peers and WAIT reports replicas that do not hold it',
    open: false,
  },
  {
    seed: 826,
    invariant: 'read-your-writes',
    bug: 'core (tombstones.ts wasPurged): after an early purge only the exact tombstone version is refused; an older version still in flight (here a write whose commit stalled on a slow disk, then replicated) is accepted into the empty slot: the deleted key comes back',
    open: false,
  },
  {
    seed: 716,
    invariant: 'read-your-writes',
    bug: 'core: same family as 826: an older value arrives after the acknowledged delete was purged early and the key reads present again',
    open: false,
  },
  {
    seed: 1715,
    invariant: 'wait-replicas',
    bug: 'core (node.ts): a replicate frame dropped for a clock beyond the max offset left a hole, and the cumulative ack of a later frame vouched for it: WAIT counted a peer that never stored the write. Fixed: after such a drop the link stops acknowledging (receiveGap)',
    open: false,
  },
  {
    seed: 1884,
    invariant: 'wait-replicas',
    bug: 'core: same as 1715 (runaway clock on the writer, some of its frames dropped, later ones acked)',
    open: false,
  },
  {
    seed: 2481,
    invariant: 'wait-replicas',
    bug: 'core: same as 1715, with 5 nodes',
    open: false,
  },
  {
    seed: 5517,
    invariant: 'convergence',
    bug: 'core: with one anti-entropy round at a time per node, a round stuck on a peer whose frames were dropped (runaway clock +2 s) blocked every other round until its 30 s timeout, forever; now only a round that heard from its peer within AE_BUSY_IDLE_MS counts',
    open: false,
  },
  {
    seed: 34332,
    invariant: 'convergence',
    bug: 'core: a node that purged a tombstone while isolated sent its purge message to no one; the others kept the tombstone and anti-entropy offered it back at every round, refused each time (remembered purge), so replicas differed for the 10-minute purge memory; now a refused purged tombstone is answered with a purge message to its sender',
    open: false,
  },
  // Typed rows (the workload writes rows as the server's commands do, typed-ops.ts).
  {
    seed: 131,
    invariant: 'cleared-row-remains',
    bug: 'core (keyspace.ts applyClear): a clear scanned only storage, so rows written earlier in the same client write (MULTI: HSET k f v, DEL k) survived on the writer while every replica that merged the batch dropped them; divergence and a deleted field back on one node. Fixed: the keyspace reads through StepView, which holds the changes of the current step',
    open: false,
  },
  {
    seed: 27,
    invariant: 'cleared-row-remains',
    bug: 'core (keyspace.ts applyFlush): same as 131 for FLUSHALL in the same write as an INCR before it (the merge had it too: a clear and a later flush in one batch kept the clear, found by test/property/rows.test.ts)',
    open: false,
  },
  {
    seed: 720,
    invariant: 'merkle-tree',
    bug: "core (keyspace.ts): one tick purged a clear row early (takeExactTombstones) and then swept an expired header of the same key; the sweep still read the purged clear from the store (the purge's persist effect is carried out after the step) and removed its hash from the Merkle tree a second time: the tree no longer matched the store and anti-entropy never converged. Fixed by StepView (node.ts settles it at each step)",
    open: false,
  },
  {
    seed: 473,
    invariant: 'merkle-tree',
    bug: 'core: same as 720, with 5 nodes',
    open: false,
  },
  // Sets, sorted sets and lists in the workload (collection-ops.ts).
  {
    seed: 490,
    invariant: 'type-conflict-rows',
    bug: 'design gap (KNOWN_GAPS): a sorted set created with ZINCRBY on one node and the same key created as a hash with HINCRBY of the same field on another at once; the hash header won, the sorted set\'s float slot still counted in the hash field (reads 10 as a float, not an integer)',
    open: true,
  },
  {
    seed: 487,
    invariant: 'hlc-monotonic',
    bug: 'simulator: a node re-creating a key over an expired list stored the clear that expiry implies (stamped at the expiry, logical 0, by the header\'s origin); its writer had stamped a client DEL of that key at that very millisecond, so the two clears were one version and the ledger took the derived one for a client clear stamped below the node\'s clock. A clear the batch\'s commands did not write is now judged derived',
    open: false,
  },
  {
    seed: 1105,
    invariant: 'future-record',
    bug: 'simulator: a node whose clock ran 2.8 s ahead derived the clear of an expired header (stamped at the expiry time, not by its clock) and sent it after its clock was fixed; the check that merged records are within the max offset of the receiver now skips derived clears, as the stamp check of local writes already did (the clear is the expiry every node derives; a newer header it removes is the expiry-superseded gap)',
    open: false,
  },
  {
    seed: 35,
    invariant: 'expiry-superseded',
    bug: 'design gap (KNOWN_GAPS): a header written before an older header expired (by a node that had not seen the old one) is removed by the clear that expiry implies, everywhere. The sweep\'s and merge\'s form is closed by core/expiry.ts; this seed no longer shows the gap (nor did it with the simulator of that change)',
    open: false,
  },
  {
    seed: 16,
    invariant: 'expiry-superseded',
    bug: "design gap (KNOWN_GAPS), the part core/expiry.ts left: n3, cut off, saw k4 (SET with a TTL) expire and SET it again, storing the clear stamped at that expiry; n1 and n4 had written newer headers of k4 before the expiry (SET without TTL), and the clear removes them and a slot row of the old life everywhere",
    open: true,
  },
  {
    seed: 44,
    invariant: 'counter-clear-race',
    bug: 'design gap (KNOWN_GAPS): a slot row stamped after a DEL its origin had not seen carries the increments from before the DEL (counted again); on another key of the seed a base subtracts a running total a DEL removed',
    open: true,
  },
  {
    seed: 127,
    invariant: 'counter-clear-race',
    bug: 'design gap (KNOWN_GAPS): a SET written by a node that had not seen a DEL observed a running total the DEL removed; the origin\'s new running total is then reduced by it (increments lost)',
    open: true,
  },
  {
    seed: 354,
    invariant: 'counter',
    bug: 'found in session 10 when clears of drained keys began going over later steps: their wake-ups moved the schedule (k0, the failing key, is never deferred; the seed passes with clearRowsPerStep 100000). Not diagnosed to the end: n0, which had not seen the EXPIRE of k0 (a counter, expiry at 18796), SET it without TTL after that instant, observing the other origins\' slots; n2 saw the expiry and INCRed k0 anew, storing the clear stamped at the expiry, which removes the old life\'s slots everywhere while the ledger still counts them (reported as counter, lost-write, not-newest). It reads as the expiry-superseded gap in a form its invariant does not name. Session 11, from the trace (npm run sim -- --seed 354 --trace): n1 EXPIREs k0 (header @18512, expiry @18796); n0, before that reaches it, SETs k0 @18916 (after the expiry instant, no TTL, observing the old slots 70/70/148); n2, which saw the EXPIRE and not the SET, INCRBYs 5 @19928 on a new life: the clear @18796, header "0", slot +5. That header is the newest, so every node reads 5 (its base and its own life\'s +5): the clear removed the old life\'s slots, the acknowledged +148 @18039 among them. The ledger counts the old increments (+26/+9/+23) as live, because at n0 the key never expired (n0\'s SET outranks the expiring header). Which is right is the design question of the expiry-superseded gap (core/expiry.ts voids an expiry by a header written before its instant, not after): not a slip in the code',
    open: true,
  },
];

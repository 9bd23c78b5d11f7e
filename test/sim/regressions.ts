// Every seed that ever failed, with what was wrong. Seeds replay exactly only with the
// simulator and core of their time; they stay as cases because each once exposed a
// schedule worth re-running. `open: true` marks a core bug not fixed yet: the test runs
// the seed and reports it as a todo instead of failing the suite.

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
];

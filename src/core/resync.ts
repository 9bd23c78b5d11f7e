// Resync after a long absence. A node that was down longer than the tombstone grace may
// hold values whose deletes the others have already forgotten; pushing them would bring
// deleted keys back. So it refuses reads, waits for a peer that stayed current, drops
// its records older than the grace horizon, pulls everything from that peer in one
// anti-entropy round, and only then serves reads again.
import type { NodeId } from './types.js';

/** If no current peer shows up this long after start, serve the local data as it is. */
export const RESYNC_WAIT_MS = 30_000;

export type ResyncState =
  /** Normal operation: nothing to catch up on (or we gave up waiting). */
  | 'off'
  /** Away too long: reads refused until a current peer is found. */
  | 'waiting'
  /** Old records dropped; an anti-entropy round with `peer` is pulling the rest. */
  | 'pulling';

export class Resync {
  state: ResyncState;
  /** The peer we are pulling from, and its completed anti-entropy rounds when we began. */
  peer: NodeId | undefined;
  roundsAtStart = 0;
  /** Whether the records older than the grace horizon have been dropped already. */
  wiped = false;
  readonly giveUpAtMs: number;

  constructor(lastUpMs: number | undefined, nowMs: number, graceMs: number) {
    this.state = lastUpMs !== undefined && nowMs - lastUpMs > graceMs ? 'waiting' : 'off';
    this.giveUpAtMs = nowMs + RESYNC_WAIT_MS;
  }

  /** Reads are refused while this is true. */
  active(): boolean {
    return this.state !== 'off';
  }

  /** Whether a peer that says it is current (or not) can serve as our source now. */
  wantsSourceFrom(peerIsCurrent: boolean): boolean {
    return peerIsCurrent && (this.state === 'waiting' || (this.state === 'pulling' && this.peer === undefined));
  }

  begin(peer: NodeId, roundsAtStart: number): void {
    this.state = 'pulling';
    this.peer = peer;
    this.roundsAtStart = roundsAtStart;
    this.wiped = true;
  }

  /** The source went away mid-pull: another current peer may finish the job. */
  lose(peer: NodeId): void {
    if (this.state === 'pulling' && this.peer === peer) this.peer = undefined;
  }

  finish(): void {
    this.state = 'off';
    this.peer = undefined;
  }
}

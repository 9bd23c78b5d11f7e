// Holding a socket's writes until the end of the current tick, so everything written in
// one tick leaves in one writev instead of a write(2) each: peer frames, and the pushes a
// client gets (pub/sub messages, keyspace notifications), as Redis writes a client's
// output once per event-loop iteration.
import type { Socket } from 'node:net';

export class TickCork {
  private corked = false;

  constructor(private readonly socket: Socket) {}

  /** Whether writes are held now (they leave together at the next tick). */
  get holding(): boolean {
    return this.corked;
  }

  /** Hold the socket's writes until the next tick; true if this call began the hold. */
  hold(): boolean {
    if (this.corked) return false;
    this.corked = true;
    this.socket.cork();
    process.nextTick(() => {
      this.corked = false;
      this.socket.uncork();
    });
    return true;
  }
}

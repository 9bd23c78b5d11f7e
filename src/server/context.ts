// What a data command's handler uses of its connection: where its reply goes, the data it
// reads and writes (the node's engine, or inside EXEC and scripts the transaction's view),
// the protocol, the stats it moves, and how a reply waits for a commit. Command families
// take this instead of the whole Session, so they depend on neither the session, the
// server state nor the command table: a new family is one file of handlers and specs.
import type { Buffer } from 'node:buffer';
import type { RespOutput, RespVersion } from '../wire/resp.js';
import type { Engine } from './engine.js';

/** The INFO stats counters a data command moves. */
export interface DataCommandStats {
  keyspaceHits: number;
  keyspaceMisses: number;
  protocolErrors: number;
}

export interface CommandContext {
  readonly out: RespOutput;
  readonly engine: Engine;
  readonly protocol: RespVersion;
  readonly stats: DataCommandStats;
  /** Set after a protocol error: the connection closes once this reply is sent. */
  closing: boolean;
  /** The reply from `start` on stands once `write` commits (an error reply replaces it otherwise). */
  deferWrite(write: Promise<number>, start: number): void;
  /** A reply known only later (a blocking pop, WAIT): its bytes go here, between the replies around it. */
  deferReply(reply: Promise<Buffer>): void;
}

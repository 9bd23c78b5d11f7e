// One client connection as the command table sees it: protocol version, auth, name,
// subscriptions, and the replies of the current batch, some of which may still wait
// for a commit (deferred) before the batch is written in order.
import { Buffer } from 'node:buffer';
import { RespOutput, appendError, type RespVersion } from '../wire/resp.js';
import type { AclUser } from './acl-users.js';
import type { CommandContext } from './context.js';
import type { Engine } from './engine.js';
import type { ServerState } from './state.js';
import { WatchedKeys, type QueuedTransaction } from './transaction-state.js';

/** What the network side gives a session: out-of-band delivery for pub/sub pushes. */
export interface SessionTransport {
  /** Write bytes to the client now, outside the request/reply batch. */
  push(data: Buffer): void;
  readonly remoteAddress: string;
  readonly localAddress: string;
  /** Close the connection now, without a reply (its ACL user was deleted). */
  close?(): void;
}

interface PendingReply {
  /** Byte range of `out` holding the reply given on success (empty for deferred replies). */
  readonly start: number;
  readonly end: number;
  /** A write: resolves with its write sequence. A deferred reply: resolves with the encoded reply. */
  readonly promise: Promise<number> | Promise<Buffer>;
  readonly isWrite: boolean;
  /**
   * EXEC's one write: on failure its whole reply [start, end) becomes the error; on success
   * it changes no bytes, and the deferred replies inside the range fill in as usual.
   */
  readonly wholeExec?: boolean;
  /** For wholeExec: how many entries after it belong to the EXEC's commands (deferred replies). */
  readonly nested?: number;
  /** CLIENT REPLY OFF/SKIP: the reply is dropped whatever the outcome. */
  readonly silent?: boolean;
}

/** CLIENT REPLY: on, off, or skip the next command's reply. */
export type ReplyMode = 'on' | 'off' | 'skip';

export class Session implements CommandContext {
  /** The node's engine; during EXEC, the transaction's (transaction-engine.ts). */
  engine: Engine;
  /** Replies of the current batch. */
  readonly out = new RespOutput();
  protocol: RespVersion = 2;
  /** The ACL user this connection runs as (acl-store.ts updates it in place). */
  user: AclUser;
  authenticated: boolean;
  name = '';
  libraryName = '';
  libraryVersion = '';
  readonly createdAtMs = Date.now();
  lastActiveMs = this.createdAtMs;
  lastCommand = '';
  /** Write sequence of this connection's newest committed write (for WAIT). */
  lastWriteSeq = 0;
  /** Set by QUIT or a protocol error: the listener sends what is in `out`, then closes. */
  closing = false;
  /** The client closed its side: a blocked command stops waiting (as Redis frees the client). */
  inputEnded = false;
  /** Subscribed channels and patterns, keyed by their latin1 form. */
  readonly channels = new Map<string, Buffer>();
  readonly patterns = new Map<string, Buffer>();
  /** Commands queued since MULTI; undefined outside a transaction. */
  transaction: QueuedTransaction | undefined;
  /** Keys this connection WATCHes (watch.ts keeps them in step with changes). */
  readonly watched = new WatchedKeys();
  /** CLIENT REPLY mode, and whether the running command set it (table.ts applies it). */
  replyMode: ReplyMode = 'on';
  replyModeChanged = false;
  /** A command's reply is still being computed (a busy script): run no more of the batch until it settles. */
  holdBatch = false;
  /**
   * Set by a handler whose error reply was already counted in INFO errorstats (a script
   * ending with the error of a command it called, counted when that command failed).
   */
  replyErrorCounted = false;
  private pending: PendingReply[] = [];
  /** While EXEC runs its commands: where its pending entry goes, undefined otherwise. */
  private execPendingIndex: number | undefined;

  constructor(
    readonly server: ServerState,
    readonly id: number,
    readonly transport: SessionTransport,
  ) {
    this.engine = server.engine;
    server.acl.refresh(server.sessions.values());
    this.user = server.acl.defaultUser;
    this.authenticated = this.user.noPass && this.user.enabled;
  }

  subscriptionCount(): number {
    return this.channels.size + this.patterns.size;
  }

  /** The server's INFO stats (CommandContext: what data commands move). */
  get stats(): ServerState['stats'] {
    return this.server.stats;
  }

  /**
   * The reply in out[start, out.length) stands only if `write` commits; on failure it is
   * replaced by an error. The write's sequence becomes lastWriteSeq once settled.
   */
  deferWrite(write: Promise<number>, start: number): void {
    if (this.execPendingIndex !== undefined) return; // EXEC's one write stands for it (endExec)
    this.pending.push({ start, end: this.out.length, promise: write, isWrite: true });
  }

  /** EXEC starts running its queued commands: their writes are answered by endExec's one write. */
  beginExec(): void {
    this.execPendingIndex = this.pending.length;
  }

  /**
   * EXEC ran its commands; their replies are out[start, out.length). With `write` (the one
   * write of every row they wrote), the replies stand only if it commits; otherwise the
   * whole EXEC reply is replaced by the error.
   */
  endExec(start: number, write: Promise<number> | undefined): void {
    const index = this.execPendingIndex!;
    this.execPendingIndex = undefined;
    if (write === undefined) return;
    const nested = this.pending.length - index;
    this.pending.splice(index, 0, { start, end: this.out.length, promise: write, isWrite: true, wholeExec: true, nested });
  }

  /** A reply known only later (WAIT): its bytes go here, between the replies around it. */
  deferReply(reply: Promise<Buffer>): void {
    const at = this.out.length;
    this.pending.push({ start: at, end: at, promise: reply, isWrite: false });
  }

  hasPending(): boolean {
    return this.pending.length > 0;
  }

  pendingCount(): number {
    return this.pending.length;
  }

  /**
   * Drop the replies a command made (CLIENT REPLY OFF/SKIP): its bytes from outStart on and
   * its deferred entries from pendingBefore on, which still settle but add nothing.
   */
  silenceRepliesFrom(outStart: number, pendingBefore: number): void {
    for (let index = pendingBefore; index < this.pending.length; index++) {
      this.pending[index] = { ...this.pending[index]!, start: outStart, end: outStart, silent: true };
    }
    this.out.truncate(outStart);
  }

  /** Writes of the current batch that have not settled yet (WAIT waits for them first). */
  pendingWrites(): Promise<number>[] {
    const writes: Promise<number>[] = [];
    for (const entry of this.pending) if (entry.isWrite) writes.push(entry.promise as Promise<number>);
    return writes;
  }

  /** Wait for every deferred reply of the batch; the batch's bytes in order, `out` emptied. */
  settle(): Promise<Buffer> {
    return new Promise((resolve, reject) => this.whenSettled(resolve, reject));
  }

  /**
   * settle() without a promise of its own: `done` gets the batch's bytes. The writes of one
   * batch mostly share one commit (one promise per LMDB transaction, NodeRuntime.write):
   * then the batch waits on that promise once.
   */
  whenSettled(done: (bytes: Buffer) => void, failed: (error: unknown) => void): void {
    const pending = this.pending;
    if (pending.length === 0) return guarded(done, this.out.take(), failed);
    this.pending = [];
    const shared = pending[0]!.promise as Promise<number>;
    let one = pending[0]!.isWrite;
    for (let index = 1; one && index < pending.length; index++) one = pending[index]!.promise === shared && pending[index]!.isWrite;
    if (one) {
      // The node's writes are waited on by a callback of their commit (no promise reaction).
      if (this.server.engine.whenWritten?.(shared, (writeSeq, error) => this.sharedSettled(pending, writeSeq, error, done, failed)) === true) return;
      shared.then(
        (writeSeq) => this.sharedSettled(pending, writeSeq, undefined, done, failed),
        (reason: unknown) => this.sharedSettled(pending, 0, reason ?? new Error('write failed'), done, failed),
      );
      return;
    }
    Promise.allSettled(pending.map((entry) => entry.promise)).then((outcomes) => done(this.settled(pending, outcomes))).catch(failed);
  }

  /** The one commit of the batch settled (whenSettled). */
  private sharedSettled(pending: PendingReply[], writeSeq: number, error: unknown, done: (bytes: Buffer) => void, failed: (error: unknown) => void): void {
    if (error === undefined) {
      if (writeSeq > this.lastWriteSeq) this.lastWriteSeq = writeSeq;
      return guarded(done, this.out.take(), failed);
    }
    let bytes: Buffer;
    try {
      bytes = this.splice(pending, pending.map(() => ({ status: 'rejected', reason: error }) as const));
    } catch (spliceError) {
      return failed(spliceError);
    }
    guarded(done, bytes, failed);
  }

  private settled(pending: PendingReply[], outcomes: PromiseSettledResult<number | Buffer>[]): Buffer {
    let clean = true;
    for (let index = 0; index < pending.length; index++) {
      const outcome = outcomes[index]!;
      if (!pending[index]!.isWrite || outcome.status === 'rejected') clean = false;
      else if ((outcome.value as number) > this.lastWriteSeq) this.lastWriteSeq = outcome.value as number;
    }
    if (clean) return this.out.take();
    return this.splice(pending, outcomes);
  }

  private splice(pending: PendingReply[], outcomes: PromiseSettledResult<number | Buffer>[]): Buffer {
    const parts: Buffer[] = [];
    let cursor = 0;
    for (let index = 0; index < pending.length; index++) {
      const entry = pending[index]!;
      const outcome = outcomes[index]!;
      if (entry.wholeExec === true && outcome.status === 'fulfilled') continue; // its bytes stand; entries inside fill in
      parts.push(this.out.slice(cursor, entry.start));
      if (entry.silent === true) {
        cursor = entry.end;
        continue;
      }
      if (outcome.status === 'rejected') {
        this.server.logger.warn({ err: outcome.reason, client: this.id }, 'deferred reply failed');
        parts.push(encodeError(entry.isWrite ? `ERR write not committed: ${describe(outcome.reason)}` : `ERR ${describe(outcome.reason)}`));
      } else if (entry.isWrite) {
        parts.push(this.out.slice(entry.start, entry.end));
      } else {
        parts.push(outcome.value as Buffer);
      }
      cursor = entry.end;
      if (entry.wholeExec === true) index += entry.nested!; // replaced by the error, with what was inside
    }
    parts.push(this.out.slice(cursor, this.out.length));
    this.out.truncate(0);
    return Buffer.concat(parts);
  }
}

/** done(bytes), and failed(error) if it throws (a throw in a promise reaction would end the process). */
function guarded(done: (bytes: Buffer) => void, bytes: Buffer, failed: (error: unknown) => void): void {
  try {
    done(bytes);
  } catch (error) {
    failed(error);
  }
}

function describe(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason);
}

export function encodeError(message: string): Buffer {
  const out = new RespOutput(64);
  appendError(out, message);
  return out.take();
}

// Blocking pops of lists and sorted sets (BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP BZPOPMIN
// BZPOPMAX BZMPOP), one mechanism for both, as Redis 7.0's blockForKeys and
// handleClientsBlockedOnKeys: a client whose keys hold nothing waits (its reply is
// deferred with session.deferReply). Any keyspace event of a watched key, from a write made
// here or merged from a peer (engine.onKeyspaceEvent sees both), makes the key ready; once
// the write that caused it has been applied in full, each ready key in the order it became
// ready serves its waiters in the order they blocked, each from that key alone. A waiter
// on a key now holding another type keeps waiting, as in Redis. A timeout answers a null
// array; a client that disconnects stops waiting (checked every DISCONNECT_CHECK_MS and
// before it is served, so it never pops an element it cannot receive); CLIENT UNBLOCK ends
// a wait as a timeout or with an error. Inside EXEC a blocking command never waits.
// Across nodes pops are at-least-once: clients blocked on two nodes may both pop what one
// write added.
import { Buffer } from 'node:buffer';
import { bytesToMapKey } from '../core/bytes.js';
import type { ClientWrite } from '../core/io.js';
import type { KeyType } from '../core/rows.js';
import { RespOutput, appendError, appendNullArray } from '../wire/resp.js';
import type { Engine, KeyspaceEvent } from './engine.js';
import type { Session } from './session.js';
import type { ServerState } from './state.js';
import { headerOfType, WRONG_TYPE, WRONGTYPE_ERROR } from './typed-keys.js';

/** How often waiting clients are checked for a closed connection. */
const DISCONNECT_CHECK_MS = 200;
/** Longest timer Node keeps; longer timeouts wait without one (as good as forever). */
const TIMER_MS_MAX = 2 ** 31 - 1;
const UNBLOCKED_ERROR = 'UNBLOCKED client unblocked via CLIENT UNBLOCK';

/** A blocking command's timeout argument (seconds, a float) as whole ms (0: forever), or the error text. */
export function parseTimeout(arg: Uint8Array): number | string {
  const text = Buffer.from(arg).toString('latin1');
  const seconds = /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isFinite(seconds)) return 'ERR timeout is not a float or out of range';
  const ms = Math.ceil(seconds * 1000);
  if (ms > 2 ** 63) return 'ERR timeout is out of range';
  if (ms < 0) return 'ERR timeout is negative';
  return ms;
}

/**
 * One attempt to serve from the first of `keys` that can: appends the reply to `out` and
 * returns the rows to write; undefined when none can (nothing appended); WRONG_TYPE when a
 * key it reads holds another type before one could serve.
 */
export type Attempt = (engine: Engine, keys: readonly Uint8Array[], out: RespOutput, version: Session['protocol']) => ClientWrite[] | undefined | typeof WRONG_TYPE;

/** What a blocking command waits for. */
export interface BlockingPop {
  /** Its keys in argument order (a key may repeat). */
  readonly keys: readonly Uint8Array[];
  /** The type a ready key must hold to serve it. */
  readonly type: KeyType;
  /** 0: forever. */
  readonly timeoutMs: number;
  readonly attempt: Attempt;
  /** The reply when it cannot wait (inside EXEC): what its non-blocking form answers. */
  readonly empty: (out: RespOutput) => void;
}

/** Serve now if possible; inside EXEC answer `empty`; otherwise wait for one of the keys. */
export function blockOrServe(session: Session, pop: BlockingPop): void {
  const start = session.out.length;
  const served = pop.attempt(session.engine, pop.keys, session.out, session.protocol);
  if (served === WRONG_TYPE) return void appendError(session.out, WRONGTYPE_ERROR);
  if (served !== undefined) return void session.deferWrite(session.engine.write(served), start);
  if (session.engine !== session.server.engine) return pop.empty(session.out); // inside EXEC: no wait
  session.deferReply(new Promise<Buffer>((resolve) => registryOf(session.server).block(session, pop, resolve)));
}

interface Waiter {
  readonly session: Session;
  readonly pop: BlockingPop;
  /** Its distinct keys (bytesToMapKey). */
  readonly watched: readonly string[];
  readonly resolve: (reply: Buffer) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
}

const registries = new WeakMap<ServerState, BlockedClients>();

function registryOf(server: ServerState): BlockedClients {
  let registry = registries.get(server);
  if (registry === undefined) registries.set(server, (registry = new BlockedClients(server)));
  return registry;
}

function encoded(out: RespOutput): Buffer {
  return Buffer.from(out.buffer.subarray(0, out.length));
}

/** The waiting clients of one server, by key, and the keys ready to serve them. */
class BlockedClients {
  /** Key -> its waiters in the order they blocked (Set keeps insertion order). */
  private readonly byKey = new Map<string, Set<Waiter>>();
  private readonly waiters = new Set<Waiter>();
  /** Keys made ready since the last pass, in the order they became ready. */
  private readonly ready = new Map<string, Uint8Array>();
  private passScheduled = false;
  private stopEvents: (() => void) | undefined;
  private disconnectCheck: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly server: ServerState) {}

  block(session: Session, pop: BlockingPop, resolve: (reply: Buffer) => void): void {
    const watched = [...new Set(pop.keys.map(bytesToMapKey))];
    const waiter: Waiter = { session, pop, watched, resolve, timer: undefined };
    this.waiters.add(waiter);
    for (const mapKey of watched) {
      let queue = this.byKey.get(mapKey);
      if (queue === undefined) this.byKey.set(mapKey, (queue = new Set()));
      queue.add(waiter);
    }
    this.server.blockedClients++;
    this.server.unblockers.set(session.id, (error) => {
      const out = new RespOutput();
      if (error) appendError(out, UNBLOCKED_ERROR);
      else appendNullArray(out, session.protocol);
      this.finish(waiter, encoded(out));
    });
    if (pop.timeoutMs > 0 && pop.timeoutMs <= TIMER_MS_MAX) {
      waiter.timer = setTimeout(() => {
        const out = new RespOutput();
        appendNullArray(out, session.protocol);
        this.finish(waiter, encoded(out));
      }, pop.timeoutMs);
    }
    this.stopEvents ??= this.server.engine.onKeyspaceEvent((event) => this.onEvent(event));
    if (this.disconnectCheck === undefined) {
      this.disconnectCheck = setInterval(() => this.dropDisconnected(), DISCONNECT_CHECK_MS);
      this.disconnectCheck.unref();
    }
  }

  private onEvent(event: KeyspaceEvent): void {
    const mapKey = bytesToMapKey(event.key);
    if (!this.byKey.has(mapKey) || this.ready.has(mapKey)) return;
    this.ready.set(mapKey, event.key);
    if (this.passScheduled) return;
    this.passScheduled = true;
    setImmediate(() => this.serveReady()); // after the write that made it ready has been applied in full
  }

  /** Serve the ready keys in order; keys that serving makes ready (BLMOVE's destination) join the pass. */
  private serveReady(): void {
    this.passScheduled = false;
    for (const [mapKey, key] of this.ready) {
      this.ready.delete(mapKey);
      const queue = this.byKey.get(mapKey);
      if (queue !== undefined) this.serveKey(key, [...queue]);
    }
  }

  private serveKey(key: Uint8Array, queue: readonly Waiter[]): void {
    const engine = this.server.engine;
    for (const waiter of queue) {
      if (!this.waiters.has(waiter)) continue;
      if (!connected(waiter.session)) {
        this.finish(waiter, Buffer.alloc(0));
        continue;
      }
      const header = headerOfType(engine, key, waiter.pop.type);
      if (header === undefined) return; // gone or empty: no one can be served from it
      if (header === WRONG_TYPE) continue; // this waiter waits for another type
      const out = new RespOutput();
      const served = waiter.pop.attempt(engine, [key], out, waiter.session.protocol);
      if (served === undefined) continue;
      if (served === WRONG_TYPE) {
        appendError(out, WRONGTYPE_ERROR); // BLMOVE's destination holds another type
        this.finish(waiter, encoded(out));
        continue;
      }
      const reply = encoded(out);
      this.finish(
        waiter,
        engine.write(served).then(
          () => reply,
          (error: unknown) => {
            const failed = new RespOutput();
            appendError(failed, `ERR write failed: ${error instanceof Error ? error.message : String(error)}`);
            return encoded(failed);
          },
        ),
      );
    }
  }

  private dropDisconnected(): void {
    for (const waiter of this.waiters) if (!connected(waiter.session)) this.finish(waiter, Buffer.alloc(0));
  }

  /** End a wait with this reply (empty for a closed connection). */
  private finish(waiter: Waiter, reply: Buffer | Promise<Buffer>): void {
    if (!this.waiters.delete(waiter)) return;
    for (const mapKey of waiter.watched) {
      const queue = this.byKey.get(mapKey)!;
      queue.delete(waiter);
      if (queue.size === 0) this.byKey.delete(mapKey);
    }
    this.server.blockedClients--;
    this.server.unblockers.delete(waiter.session.id);
    if (waiter.timer !== undefined) clearTimeout(waiter.timer);
    if (this.waiters.size === 0) {
      this.stopEvents?.();
      this.stopEvents = undefined;
      clearInterval(this.disconnectCheck);
      this.disconnectCheck = undefined;
      this.ready.clear();
    }
    if (reply instanceof Promise) void reply.then(waiter.resolve);
    else waiter.resolve(reply);
  }
}

function connected(session: Session): boolean {
  return session.server.sessions.get(session.id) === session && !session.closing && !session.inputEnded;
}

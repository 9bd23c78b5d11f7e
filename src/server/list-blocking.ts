// Blocking list pops (Redis 7.0 replies and errors): BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP.
// A client whose keys hold no element waits: its reply is deferred (session.deferReply)
// and it retries when the engine reports an `lpush`, `rpush` or `linsert` of one of its
// keys, whether the push was made here or arrived from a peer (engine.onKeyspaceEvent
// sees both). Waiters are served in the order they blocked. A timeout answers a null
// array, as Redis 7.0 does; a client that disconnects stops waiting (checked every
// DISCONNECT_CHECK_MS and before each retry, so it never pops an element it cannot
// receive); CLIENT UNBLOCK ends a wait as a timeout or with an error. Inside EXEC a blocking command acts as its non-blocking form and never waits.
// Across nodes pops are at-least-once: clients blocked on two nodes may both pop the
// element one push made.
import { Buffer } from 'node:buffer';
import { bytesToMapKey } from '../core/bytes.js';
import type { ClientWrite } from '../core/io.js';
import { RespOutput, appendArrayHeader, appendBulk, appendError, appendNull, appendNullArray } from '../wire/resp.js';
import { CommandFlag, SYNTAX_ERROR, command } from './common.js';
import type { Engine } from './engine.js';
import { appendKeyAndItems, moveElement, parseMultiPop, parseSide, popFirstNonEmpty } from './list-edits.js';
import type { Session } from './session.js';
import type { CommandSpec } from './table.js';
import { WRONG_TYPE, WRONGTYPE_ERROR } from './typed-keys.js';

/** How often a waiting client is checked for a closed connection. */
const DISCONNECT_CHECK_MS = 200;
/** Longest timer Node keeps; longer timeouts wait without one (as good as forever). */
const TIMER_MS_MAX = 2 ** 31 - 1;
const WAKING_EVENTS = new Set(['lpush', 'rpush', 'linsert']);

/** Seconds (a float) as whole ms, or the error text. */
function parseTimeout(arg: Uint8Array): number | string {
  const text = Buffer.from(arg).toString('latin1');
  const seconds = /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isFinite(seconds)) return 'ERR timeout is not a float or out of range';
  const ms = Math.ceil(seconds * 1000);
  if (ms > 2 ** 63) return 'ERR timeout is out of range';
  if (ms < 0) return 'ERR timeout is negative';
  return ms;
}

/** One attempt to serve: the reply bytes and rows, undefined when nothing to pop; WRONG_TYPE. */
type Attempt = (engine: Engine, out: RespOutput, version: Session['protocol']) => ClientWrite[] | undefined | typeof WRONG_TYPE;

/**
 * Serve now if possible; inside EXEC answer `empty` at once; otherwise wait for a push to
 * one of `keys` (or the timeout, ms, 0 = forever).
 */
function blockOrServe(session: Session, keys: readonly Uint8Array[], timeoutMs: number, attempt: Attempt, empty: (out: RespOutput) => void): void {
  const start = session.out.length;
  const served = attempt(session.engine, session.out, session.protocol);
  if (served === WRONG_TYPE) return void appendError(session.out, WRONGTYPE_ERROR);
  if (served !== undefined) return void session.deferWrite(session.engine.write(served), start);
  if (session.engine !== session.server.engine) return empty(session.out); // inside EXEC: no wait
  session.deferReply(waitForPush(session, keys, timeoutMs, attempt));
}

function encoded(out: RespOutput): Buffer {
  return Buffer.from(out.buffer.subarray(0, out.length));
}

function waitForPush(session: Session, keys: readonly Uint8Array[], timeoutMs: number, attempt: Attempt): Promise<Buffer> {
  const engine = session.server.engine;
  const watched = new Set(keys.map(bytesToMapKey));
  const server = session.server;
  server.blockedClients++;
  return new Promise<Buffer>((resolve) => {
    let done = false;
    let retrying = false;
    const finish = (reply: Buffer): void => {
      if (done) return;
      done = true;
      server.blockedClients--;
      server.unblockers.delete(session.id);
      unsubscribe();
      if (timer !== undefined) clearTimeout(timer);
      clearInterval(check);
      resolve(reply);
    };
    const connected = (): boolean => session.server.sessions.get(session.id) === session && !session.closing && !session.inputEnded;
    const retry = (): void => {
      retrying = false;
      if (done) return;
      if (!connected()) return finish(Buffer.alloc(0));
      const out = new RespOutput();
      const served = attempt(engine, out, session.protocol);
      if (served === undefined) return;
      if (served === WRONG_TYPE) {
        appendError(out, WRONGTYPE_ERROR);
        return finish(encoded(out));
      }
      const reply = encoded(out);
      done = true;
      server.blockedClients--;
      server.unblockers.delete(session.id);
      unsubscribe();
      if (timer !== undefined) clearTimeout(timer);
      clearInterval(check);
      engine.write(served).then(
        () => resolve(reply),
        (error: unknown) => {
          const failed = new RespOutput();
          appendError(failed, `ERR write failed: ${error instanceof Error ? error.message : String(error)}`);
          resolve(encoded(failed));
        },
      );
    };
    server.unblockers.set(session.id, (error) => {
      const out = new RespOutput();
      if (error) appendError(out, 'UNBLOCKED client unblocked via CLIENT UNBLOCK');
      else appendNullArray(out, session.protocol);
      finish(encoded(out));
    });
    const unsubscribe = engine.onKeyspaceEvent((event) => {
      if (done || retrying || !WAKING_EVENTS.has(event.event) || !watched.has(bytesToMapKey(event.key))) return;
      retrying = true;
      setImmediate(retry); // after the write that pushed has been applied in full
    });
    const timer =
      timeoutMs > 0 && timeoutMs <= TIMER_MS_MAX
        ? setTimeout(() => {
            const out = new RespOutput();
            appendNullArray(out, session.protocol);
            finish(encoded(out));
          }, timeoutMs)
        : undefined;
    const check = setInterval(() => {
      if (!connected()) finish(Buffer.alloc(0));
    }, DISCONNECT_CHECK_MS);
    check.unref();
  });
}

/** BLPOP BRPOP key [key ...] timeout: [key, element]. */
function blockingPopVariant(left: boolean) {
  return (session: Session, args: Buffer[]): void => {
    const timeout = parseTimeout(args[args.length - 1]!);
    if (typeof timeout === 'string') return void appendError(session.out, timeout);
    const keys = args.slice(1, -1);
    blockOrServe(
      session,
      keys,
      timeout,
      (engine, out) => {
        const popped = popFirstNonEmpty(engine, keys, left, 1);
        if (popped === undefined || popped === WRONG_TYPE) return popped;
        appendArrayHeader(out, 2);
        appendBulk(out, popped.key);
        appendBulk(out, popped.items[0]!.value);
        return popped.writes;
      },
      (out) => appendNullArray(out, session.protocol),
    );
  };
}

function moveAttempt(source: Uint8Array, destination: Uint8Array, fromLeft: boolean, toLeft: boolean): Attempt {
  return (engine, out) => {
    const moved = moveElement(engine, source, destination, fromLeft, toLeft);
    if (moved === undefined || moved === WRONG_TYPE) return moved;
    appendBulk(out, moved.value);
    return moved.writes;
  };
}

/** BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout. */
function blmoveCommand(session: Session, args: Buffer[]): void {
  const fromLeft = parseSide(args[3]!);
  const toLeft = parseSide(args[4]!);
  if (fromLeft === undefined || toLeft === undefined) return void appendError(session.out, SYNTAX_ERROR);
  const timeout = parseTimeout(args[5]!);
  if (typeof timeout === 'string') return void appendError(session.out, timeout);
  blockOrServe(session, [args[1]!], timeout, moveAttempt(args[1]!, args[2]!, fromLeft, toLeft), (out) => appendNull(out, session.protocol));
}

/** BRPOPLPUSH source destination timeout. */
function brpoplpushCommand(session: Session, args: Buffer[]): void {
  const timeout = parseTimeout(args[3]!);
  if (typeof timeout === 'string') return void appendError(session.out, timeout);
  blockOrServe(session, [args[1]!], timeout, moveAttempt(args[1]!, args[2]!, false, true), (out) => appendNull(out, session.protocol));
}

/** BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]. */
function blmpopCommand(session: Session, args: Buffer[]): void {
  const timeout = parseTimeout(args[1]!);
  if (typeof timeout === 'string') return void appendError(session.out, timeout);
  const parsed = parseMultiPop(args, 2);
  if (typeof parsed === 'string') return void appendError(session.out, parsed);
  blockOrServe(
    session,
    parsed.keys,
    timeout,
    (engine, out) => {
      const popped = popFirstNonEmpty(engine, parsed.keys, parsed.left, parsed.count);
      if (popped === undefined || popped === WRONG_TYPE) return popped;
      appendKeyAndItems(out, popped.key, popped.items);
      return popped.writes;
    },
    (out) => appendNullArray(out, session.protocol),
  );
}

const { Write } = CommandFlag;

export const LIST_BLOCKING_COMMANDS: readonly CommandSpec[] = [
  command('blpop', -3, Write, [1, -2, 1], 'list', 'Pop the first element of the first non-empty list, waiting for one', blockingPopVariant(true)),
  command('brpop', -3, Write, [1, -2, 1], 'list', 'Pop the last element of the first non-empty list, waiting for one', blockingPopVariant(false)),
  command('blmove', 6, Write, [1, 2, 1], 'list', 'LMOVE, waiting for an element', blmoveCommand),
  command('brpoplpush', 4, Write, [1, 2, 1], 'list', 'RPOPLPUSH, waiting for an element', brpoplpushCommand),
  command('blmpop', -5, Write, [0, 0, 0], 'list', 'LMPOP, waiting for an element', blmpopCommand),
];

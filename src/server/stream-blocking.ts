// XREAD / XREADGROUP BLOCK: a client whose streams have nothing new waits (its reply
// deferred, as list-blocking.ts does for BLPOP) and retries when the engine reports an
// `xadd` to one of its keys, made here or arriving from a peer. A timeout answers a null
// array; BLOCK 0 waits forever; a disconnected client stops waiting; CLIENT UNBLOCK ends
// the wait as a timeout or with an error. Across nodes XREADGROUP is at-least-once:
// consumers blocked on two nodes may both be given the entry one XADD made.
import { Buffer } from 'node:buffer';
import { bytesToMapKey } from '../core/bytes.js';
import { RespOutput, appendError, appendNullArray } from '../wire/resp.js';
import type { CommandContext } from './context.js';
import type { Session } from './session.js';
import type { ClientWrite } from '../core/io.js';
import type { RespVersion } from '../wire/resp.js';
import type { Engine } from './engine.js';
import { WRONG_TYPE } from './typed-keys.js';

/** How often a waiting client is checked for a closed connection. */
const DISCONNECT_CHECK_MS = 200;
/** Longest timer Node keeps; longer timeouts wait without one (as good as forever). */
const TIMER_MS_MAX = 2 ** 31 - 1;

function encoded(out: RespOutput): Buffer {
  return Buffer.from(out.buffer.subarray(0, out.length));
}

/** One try to serve a waiting read: true (served, nothing to write), its rows, false (nothing yet), WRONG_TYPE. */
export type StreamAttempt = (engine: Engine, out: RespOutput, version: RespVersion) => ClientWrite[] | boolean | typeof WRONG_TYPE;

/** Defer session's reply until attempt serves it after an `xadd` to one of keys, or timeoutMs (0: forever) passes. */
export function waitForEntries(session: Session, keys: readonly Uint8Array[], timeoutMs: number, attempt: StreamAttempt): void {
  const engine = session.server.engine;
  const watched = new Set(keys.map(bytesToMapKey));
  const server = session.server;
  server.blockedClients++;
  session.deferReply(
    new Promise<Buffer>((resolve) => {
      let done = false;
      let retrying = false;
      const stop = (): void => {
        done = true;
        server.blockedClients--;
        server.unblockers.delete(session.id);
        unsubscribe();
        if (timer !== undefined) clearTimeout(timer);
        clearInterval(check);
      };
      const finish = (reply: Buffer): void => {
        if (done) return;
        stop();
        resolve(reply);
      };
      const connected = (): boolean => server.sessions.get(session.id) === session && !session.closing && !session.inputEnded;
      const retry = (): void => {
        retrying = false;
        if (done) return;
        if (!connected()) return finish(Buffer.alloc(0));
        const out = new RespOutput();
        const served = attempt(engine, out, session.protocol);
        // A key that holds another type by now (XADD, DEL, LPUSH in one EXEC) keeps the client waiting, as in Redis.
        if (served === false || served === WRONG_TYPE) return;
        const reply = encoded(out);
        stop();
        if (served === true || served.length === 0) return resolve(reply);
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
        if (done || retrying || event.event !== 'xadd' || !watched.has(bytesToMapKey(event.key))) return;
        retrying = true;
        setImmediate(retry); // after the write that added has been applied in full
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
    }),
  );
}

// What dispatch does with a command after MULTI: queue it (+QUEUED), or refuse it and
// doom the transaction; and how a transaction ends without running (DISCARD, RESET, a
// closed connection, an aborted EXEC). multi.ts has the commands themselves.
import { Buffer } from 'node:buffer';
import { appendError, appendSimple } from '../wire/resp.js';
import type { Session } from './session.js';
import { MULTI_QUEUED_BYTES_MAX, QUEUED_ARGUMENT_OVERHEAD_BYTES } from './transaction-state.js';

export const EXECABORT_ERROR = 'EXECABORT Transaction discarded because of previous errors.';

/** Queue a command after MULTI (its arguments copied: they are views into read buffers). */
export function queueCommand(session: Session, args: Buffer[]): void {
  const transaction = session.transaction!;
  // An aborted transaction keeps nothing (Redis does the same): EXEC will refuse it anyway.
  if (!transaction.failed) {
    let bytes = QUEUED_ARGUMENT_OVERHEAD_BYTES;
    for (const arg of args) bytes += arg.length + QUEUED_ARGUMENT_OVERHEAD_BYTES;
    if (transaction.bytes + bytes > MULTI_QUEUED_BYTES_MAX) {
      rejectInTransaction(session, `ERR transaction too large: at most ${MULTI_QUEUED_BYTES_MAX} bytes of commands may be queued`);
      return;
    }
    transaction.bytes += bytes;
    transaction.commands.push(args.map((arg) => Buffer.from(arg)));
  }
  appendSimple(session.out, 'QUEUED');
}

/** A command refused while queueing: its error now, and EXEC will answer EXECABORT. */
export function rejectInTransaction(session: Session, message: string): void {
  appendError(session.out, message);
  if (session.transaction !== undefined) session.transaction.failed = true;
}

/** Leave MULTI state: the queue and every watch go (EXEC, DISCARD, RESET, disconnect). */
export function discardTransaction(session: Session): void {
  session.transaction = undefined;
  session.server.watches.unwatch(session.watched);
}


// Transactions: MULTI EXEC DISCARD WATCH UNWATCH, with Redis 7.0's replies. EXEC runs the
// queued commands back to back without yielding (no other client's command can come in
// between) against a TransactionEngine, then hands every row they wrote to the node as
// ONE client write: one LMDB transaction here, one replication batch that every peer
// applies in one transaction. The replies stand only if that write commits. WATCH sees
// changes made here and rows applied from peers (not a cluster-wide lock).
import type { Buffer } from 'node:buffer';
import { appendArrayHeader, appendError, appendNullArray, appendOk } from '../wire/resp.js';
import { CommandFlag, NO_KEYS, command } from './common.js';
import type { Session } from './session.js';
import { callHandler, type CommandSpec } from './table.js';
import { TransactionEngine } from './transaction-engine.js';
import { discardTransaction, EXECABORT_ERROR } from './transaction-queue.js';
import { QueuedTransaction } from './transaction-state.js';

function multiCommand(session: Session): void {
  if (session.transaction !== undefined) return void appendError(session.out, 'ERR MULTI calls can not be nested');
  session.transaction = new QueuedTransaction();
  appendOk(session.out);
}

function discardCommand(session: Session): void {
  if (session.transaction === undefined) return void appendError(session.out, 'ERR DISCARD without MULTI');
  discardTransaction(session);
  appendOk(session.out);
}

function watchCommand(session: Session, args: Buffer[]): void {
  if (session.transaction !== undefined) return void appendError(session.out, 'ERR WATCH inside MULTI is not allowed');
  for (let index = 1; index < args.length; index++) session.server.watches.watch(session.watched, args[index]!);
  appendOk(session.out);
}

function unwatchCommand(session: Session): void {
  session.server.watches.unwatch(session.watched);
  appendOk(session.out);
}

function execCommand(session: Session): void {
  const transaction = session.transaction;
  if (transaction === undefined) return void appendError(session.out, 'ERR EXEC without MULTI');
  const server = session.server;
  if (transaction.failed) {
    discardTransaction(session);
    return void appendError(session.out, EXECABORT_ERROR);
  }
  if (server.watches.changedSinceWatch(session.watched)) {
    discardTransaction(session);
    return void appendNullArray(session.out, session.protocol);
  }
  const specs: CommandSpec[] = transaction.commands.map((args) => server.table.lookup(args[0]!)!);
  if (server.engine.loading?.() === true && specs.some((spec) => (spec.flags & CommandFlag.ReadOnly) !== 0)) {
    discardTransaction(session);
    return void appendError(session.out, 'EXECABORT Transaction discarded because of: LOADING peerkv is resyncing from its peers after a long absence; reads resume when it completes');
  }
  discardTransaction(session); // watches go before the commands run: their own writes must not touch them
  const nodeEngine = session.engine;
  const engine = new TransactionEngine(nodeEngine);
  const start = session.out.length;
  appendArrayHeader(session.out, specs.length);
  session.engine = engine;
  session.beginExec();
  try {
    for (let index = 0; index < specs.length; index++) {
      server.stats.commandsProcessed++;
      callHandler(session, specs[index]!, transaction.commands[index]!);
    }
  } finally {
    session.engine = nodeEngine;
    const writes = engine.collected();
    let write: Promise<number> | undefined;
    if (writes.length > 0) {
      write = nodeEngine.write(writes);
      engine.commit(write);
    }
    session.endExec(start, write);
  }
}

const { Fast, MultiControl } = CommandFlag;

export const MULTI_COMMANDS: readonly CommandSpec[] = [
  command('multi', 1, Fast | MultiControl, NO_KEYS, 'transactions', 'Start a transaction: later commands are queued until EXEC', multiCommand),
  command('exec', 1, MultiControl, NO_KEYS, 'transactions', 'Run the queued commands as one atomic write', execCommand),
  command('discard', 1, Fast | MultiControl, NO_KEYS, 'transactions', 'Drop the queued commands and the watches', discardCommand),
  command('watch', -2, Fast | MultiControl, [1, -1, 1], 'transactions', 'Abort the next EXEC if any of these keys changes', watchCommand),
  command('unwatch', 1, Fast, NO_KEYS, 'transactions', 'Forget every watched key', unwatchCommand),
];

// SAVE BGSAVE LASTSAVE SHUTDOWN. peerkv has no snapshot file: every acknowledged write is
// already committed to LMDB, so SAVE means "flush to disk now" (what survives a power cut,
// not only a kill -9, whatever --fsync says) and BGSAVE the same without waiting. SHUTDOWN
// stops this node cleanly, as SIGTERM does (links closed, writes settled, LMDB flushed); its
// peers go on. SAVE/NOSAVE make no difference (nothing is lost either way), NOW/FORCE
// neither (the stop never waits for replicas).
import type { Buffer } from 'node:buffer';
import { RespOutput, appendError, appendInteger, appendSimple } from '../wire/resp.js';
import { CommandFlag, NO_KEYS, command } from './common.js';
import type { Session } from './session.js';
import type { CommandSpec } from './table.js';

const SHUTDOWN_OPTIONS: ReadonlySet<string> = new Set(['nosave', 'save', 'now', 'force']);

function saveCommand(session: Session): void {
  const flush = session.server.engine.flush?.();
  if (flush === undefined) return void appendSimple(session.out, 'OK');
  session.deferReply(
    flush.then(
      () => okReply(),
      (error: unknown) => errorReply(`ERR flushing the data directory failed: ${error instanceof Error ? error.message : String(error)}`),
    ),
  );
}

function bgsaveCommand(session: Session, args: Buffer[]): void {
  if (args.length > 2 || (args.length === 2 && args[1]!.toString('latin1').toLowerCase() !== 'schedule')) {
    return void appendError(session.out, 'ERR syntax error');
  }
  const logger = session.server.logger;
  session.server.engine.flush?.().catch((error: unknown) => logger.error({ err: error }, 'BGSAVE: flushing the data directory failed'));
  appendSimple(session.out, 'Background saving started');
}

function lastsaveCommand(session: Session): void {
  appendInteger(session.out, Math.floor(session.server.engine.info().lastSaveMs / 1000));
}

function shutdownCommand(session: Session, args: Buffer[]): void {
  const options = args.slice(1).map((arg) => arg.toString('latin1').toLowerCase());
  if (options.length === 1 && options[0] === 'abort') return void appendError(session.out, 'ERR No shutdown in progress.');
  if (options.some((option) => !SHUTDOWN_OPTIONS.has(option)) || (options.includes('save') && options.includes('nosave'))) {
    return void appendError(session.out, 'ERR syntax error');
  }
  const engine = session.server.engine;
  if (engine.requestShutdown === undefined) return void appendError(session.out, 'ERR Errors trying to SHUTDOWN. Check logs.');
  session.server.logger.warn({ client: session.id }, 'SHUTDOWN requested by a client: stopping this node');
  // No reply: the connection closes as the node stops (what Redis clients expect).
  engine.requestShutdown();
}

function okReply(): Buffer {
  const out = new RespOutput();
  appendSimple(out, 'OK');
  return out.take();
}

function errorReply(message: string): Buffer {
  const out = new RespOutput();
  appendError(out, message);
  return out.take();
}

const { Admin, NoMulti } = CommandFlag;

export const SAVE_COMMANDS: readonly CommandSpec[] = [
  command('save', 1, Admin | NoMulti, NO_KEYS, 'server', 'Flush every committed write to disk now', saveCommand),
  command('bgsave', -1, Admin, NO_KEYS, 'server', 'Flush every committed write to disk in the background', bgsaveCommand),
  command('lastsave', 1, 0, NO_KEYS, 'server', 'Unix time of the last commit to disk', lastsaveCommand),
  command('shutdown', -1, Admin | NoMulti, NO_KEYS, 'server', 'Stop this node cleanly (its peers go on)', shutdownCommand),
];

// `peerkv start`: run one node in the foreground until SIGINT/SIGTERM, then shut it down
// cleanly (stop accepting, flush, close storage). A second signal exits at once, for the
// operator whose shutdown hangs.
import { resolve as resolvePath } from 'node:path';
import { createLogger } from '../runtime/logger.js';
import type { NodeOptions } from '../runtime/options.js';

/** If stop() (or a failed start) finished but something still holds the event loop, exit after this anyway. */
const EXIT_AFTER_STOP_MS = 2_000;
/** Exit code of a second signal (128 + SIGINT), as shells report an interrupted program. */
const EXIT_CODE_FORCED = 130;

export async function runStart(options: NodeOptions): Promise<number> {
  const logger = createLogger(options.logLevel, { name: options.name });
  // Lazy: client commands must not pay for loading LMDB and the runtime.
  const { startNode } = await import('../index.js');
  // The client port accepts before startNode resolves: a signal in between must still
  // mean a clean stop (not Node's default exit), once the node is up.
  let signalDuringStart: NodeJS.Signals | undefined;
  const onEarlySignal = (signal: NodeJS.Signals) => void (signalDuringStart ??= signal);
  process.on('SIGINT', onEarlySignal);
  process.on('SIGTERM', onEarlySignal);
  let handle;
  try {
    handle = await startNode(options, logger);
  } catch (error) {
    process.off('SIGINT', onEarlySignal);
    process.off('SIGTERM', onEarlySignal);
    process.stderr.write(`peerkv: ${describeStartError(error, options)}\n`);
    logger.flush();
    // A half-started node may still hold sockets or timers; do not hang on them.
    setTimeout(() => process.exit(1), EXIT_AFTER_STOP_MS).unref();
    return 1;
  }
  logger.info(
    { clientPort: handle.clientPort, peerPort: handle.peerPort, nodeId: handle.nodeId, name: handle.name, dataDir: resolvePath(options.dataDir) },
    `peerkv ready: clients on ${options.bind}:${handle.clientPort}, peers on ${options.bind}:${handle.peerPort}, node ${handle.nodeId.slice(0, 8)} (${handle.name}), data in ${resolvePath(options.dataDir)}`,
  );
  const running = handle;
  return new Promise<number>((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        process.stderr.write(`peerkv: second ${signal}, exiting without a clean shutdown\n`);
        process.exit(EXIT_CODE_FORCED);
      }
      stopping = true;
      logger.info({ signal }, 'stopping: press Ctrl-C again to exit at once');
      running.stop().then(
        () => {
          logger.info('stopped');
          finish(0);
        },
        (error: unknown) => {
          logger.error({ err: error }, 'clean shutdown failed');
          finish(1);
        },
      );
    };
    const finish = (code: number) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      logger.flush();
      setTimeout(() => process.exit(code), EXIT_AFTER_STOP_MS).unref();
      resolve(code);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    // SHUTDOWN from a client: the same clean stop (a second one is not a forced exit).
    running.runtime.onShutdownRequest(() => {
      if (!stopping) onSignal('SIGTERM');
    });
    process.off('SIGINT', onEarlySignal);
    process.off('SIGTERM', onEarlySignal);
    if (signalDuringStart !== undefined) onSignal(signalDuringStart);
  });
}

/** One line that says what went wrong and what to do about it. */
export function describeStartError(error: unknown, options: NodeOptions): string {
  const failure = error as NodeJS.ErrnoException & { port?: number; address?: string; problems?: string[] };
  const dataDir = resolvePath(options.dataDir);
  switch (failure?.code) {
    case 'invalid_options':
      return (failure.problems ?? [failure.message]).join('; ');
    case 'EADDRINUSE':
      return `port ${failure.port ?? ''} on ${failure.address ?? options.bind} is already in use: another peerkv or Redis is running there; stop it or pick other ports with --port/--peer-port`.replace('port  on', 'a port on');
    case 'EADDRNOTAVAIL':
      return `cannot bind to ${options.bind}: no interface of this host has that address; check --bind`;
    case 'EACCES':
    case 'EPERM':
      if (failure.syscall === 'listen' || failure.syscall === 'bind') return `not allowed to listen on port ${failure.port ?? ''} (ports below 1024 need privileges); pick another with --port`;
      return `cannot use data directory ${dataDir}: permission denied; choose a writable one with --data`;
    case 'EROFS':
      return `data directory ${dataDir} is on a read-only file system; choose another with --data`;
    case 'ENOSPC':
      return `no space left for data directory ${dataDir}; free some space or choose another --data`;
    case 'ENOTDIR':
    case 'EEXIST':
      return `data directory ${dataDir} is not a directory; choose another with --data`;
    case 'ENOENT':
      if (failure.syscall === 'mkdir') return `cannot create data directory ${dataDir} (${failure.path ?? dataDir} cannot be made here); choose another with --data`;
      break;
    default:
      break;
  }
  const message = failure instanceof Error ? failure.message : String(error);
  if (/lock/i.test(message)) return `data directory ${dataDir} is in use by another process (${message}); stop that node or choose another --data`;
  return `cannot start: ${message}`;
}

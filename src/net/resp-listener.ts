// The client port: TCP sockets speaking RESP. Each read chunk is decoded, its commands
// run in order, and all their replies go out in ONE socket write. Commands whose reply
// waits for a commit hold the batch (and queue later input) until it is settled, so
// replies never reorder. A protocol error answers `-ERR Protocol error: ...` and closes
// that connection only; nothing a client sends can take the process down.
import { createServer, type Server, type Socket } from 'node:net';
import { RespDecoder, appendError } from '../wire/resp.js';
import type { Engine } from '../server/engine.js';
import {
  BATCH_DEFERRED_MAX,
  BATCH_OUTPUT_BYTES_MAX,
  CLIENTS_MAX,
  OUTPUT_PENDING_BYTES_MAX,
  PUBSUB_OUTPUT_BYTES_MAX,
  QUEUED_INPUT_BYTES_MAX,
} from '../server/limits.js';
import { Session, type SessionTransport } from '../server/session.js';
import { TickCork } from './tick-cork.js';
import { buildCommandTable } from '../server/commands.js';
import { ServerState, type Logger } from '../server/state.js';
import type { CommandStatsEntry } from '../server/command-stats.js';
import { executeCommand } from '../server/table.js';
import { discardTransaction } from '../server/transaction-queue.js';

/** After we end a connection, how long the client gets to close its side before we drop it. */
const CLOSE_GRACE_MS = 2_000;
/** Period of the instantaneous ops/sec sample (INFO). */
const OPS_SAMPLE_INTERVAL_MS = 1_000;
/** TCP keepalive probe delay, as Redis tcp-keepalive. */
const TCP_KEEPALIVE_MS = 300_000;

export interface RespServerOptions {
  readonly host: string;
  readonly port: number;
  readonly engine: Engine;
  readonly requirepass?: string;
  readonly logger: Logger;
}

export interface RespServer {
  /** The port actually bound (useful with port 0). */
  readonly port: number;
  connections(): number;
  /** Calls and handler time per command since start (INFO commandstats). */
  commandStats(): CommandStatsEntry[];
  /** Counters since start: connections, commands, protocol errors, rejected, bytes ... */
  stats(): Record<string, number>;
  /** Stop reading from every client (new ones too) until resumeReading. */
  pauseReading(): void;
  resumeReading(): void;
  /** Stop accepting, end every connection; resolves once all are closed. */
  close(): Promise<void>;
}

class Connection implements SessionTransport {
  readonly session: Session;
  readonly remoteAddress: string;
  readonly localAddress: string;
  private readonly decoder = new RespDecoder();
  /** A batch waits for commits; input queues in the decoder meanwhile. */
  private busy = false;
  /** A continuation of a long pipeline is scheduled (fairness between clients). */
  private scheduled = false;
  /** Input arrived while busy or scheduled; run a batch once free. */
  private inputWaiting = false;
  private inputEnded = false;
  private ending = false;
  private outputPaused = false;
  /** Pushes of this tick are held and go out in one write once it ends (replies written meanwhile join them). */
  private readonly pushCork: TickCork;
  private closeTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly listener: Listener,
    private readonly socket: Socket,
  ) {
    const state = listener.state;
    this.remoteAddress = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
    this.localAddress = `${socket.localAddress ?? '?'}:${socket.localPort ?? 0}`;
    this.session = new Session(state, state.allocateClientId(), this);
    this.pushCork = new TickCork(socket);
    state.sessions.set(this.session.id, this.session);
    socket.setNoDelay(true);
    socket.setKeepAlive(true, TCP_KEEPALIVE_MS);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.onEnd());
    socket.on('error', (error) => state.logger.debug({ err: error, client: this.session.id }, 'client socket error'));
    socket.on('close', () => this.onClose());
    socket.on('drain', () => this.onDrain());
    this.updateReading();
  }

  /** Drop the connection at once (its ACL user was deleted on this node or another). */
  close(): void {
    this.socket.destroy();
  }

  push(data: Buffer): void {
    if (this.ending || !this.socket.writable) return;
    if (this.socket.writableLength > PUBSUB_OUTPUT_BYTES_MAX) {
      // A subscriber that does not read would make us buffer without bound.
      this.listener.state.stats.outputOverflows++;
      this.listener.state.logger.warn({ client: this.session.id, pendingBytes: this.socket.writableLength }, 'subscriber too slow, disconnecting');
      this.socket.destroy();
      return;
    }
    // A subscriber gets many messages at once (one replicated batch names a keyspace event
    // per key): one socket write for all of them, counted once.
    if (this.pushCork.hold()) this.listener.state.stats.replyWrites++;
    this.write(data);
  }

  private onData(chunk: Buffer): void {
    if (this.ending) return; // discard what arrives after we decided to close
    this.listener.state.stats.netInputBytes += chunk.length;
    this.listener.state.stats.readsProcessed++;
    this.session.lastActiveMs = Date.now();
    this.decoder.feed(chunk);
    if (this.busy || this.scheduled) {
      this.inputWaiting = true;
      if (this.decoder.bufferedBytes() > QUEUED_INPUT_BYTES_MAX) this.updateReading();
      return;
    }
    this.runBatch();
  }

  /** Run every complete command available, then send the replies in one write. */
  private runBatch(): void {
    const session = this.session;
    const decoder = this.decoder;
    let more = false;
    this.inputWaiting = false;
    try {
      for (;;) {
        decoder.preAuth = !session.authenticated;
        const command = decoder.next();
        if (command === undefined) break;
        if (!Array.isArray(command)) {
          this.listener.state.stats.protocolErrors++;
          this.listener.state.logger.debug({ client: session.id, code: command.code }, 'client protocol error');
          appendError(session.out, `ERR ${command.message}`);
          session.closing = true;
          break;
        }
        executeCommand(session, command);
        if (session.closing) break;
        if (session.holdBatch) {
          // A script went busy: the rest of the batch runs after its reply (as in Redis).
          session.holdBatch = false;
          more = true;
          break;
        }
        if (session.out.length > BATCH_OUTPUT_BYTES_MAX || session.pendingCount() > BATCH_DEFERRED_MAX) {
          more = true;
          break;
        }
      }
    } catch (error) {
      // Only a bug gets here (handlers and the decoder do not throw): drop this client, keep the node.
      this.listener.state.stats.internalErrors++;
      this.listener.state.logger.error({ err: error, client: session.id }, 'client batch failed');
      this.socket.destroy();
      return;
    }
    if (session.hasPending()) {
      this.busy = true;
      session.whenSettled(
        (bytes) => {
          this.busy = false;
          this.write(bytes);
          this.afterBatch(more);
        },
        (error: unknown) => {
          this.listener.state.logger.error({ err: error, client: session.id }, 'settling replies failed');
          this.socket.destroy();
        },
      );
      return;
    }
    if (session.out.length > 0) this.write(session.out.take());
    this.afterBatch(more);
  }

  private afterBatch(more: boolean): void {
    if (this.session.closing) return this.endGracefully();
    this.updateReading();
    if (more) {
      // A long pipeline: continue on the next turn of the event loop so other clients get their share.
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        if (!this.ending) this.runBatch();
      });
      return;
    }
    if (this.inputWaiting) return this.runBatch(); // input queued while the batch waited for commits
    if (this.inputEnded) this.endGracefully();
  }

  private write(bytes: Buffer): void {
    if (bytes.length === 0 || !this.socket.writable) return;
    const stats = this.listener.state.stats;
    stats.netOutputBytes += bytes.length;
    if (!this.pushCork.holding) stats.replyWrites++;
    this.socket.write(bytes);
    if (!this.outputPaused && this.socket.writableLength > OUTPUT_PENDING_BYTES_MAX) {
      this.outputPaused = true;
      this.updateReading();
    }
  }

  private onDrain(): void {
    if (!this.outputPaused) return;
    this.outputPaused = false;
    this.updateReading();
  }

  private onEnd(): void {
    this.inputEnded = true;
    this.session.inputEnded = true;
    if (!this.busy && !this.scheduled) this.endGracefully();
  }

  /** Pause or resume reading from the socket according to every reason to hold back. */
  updateReading(): void {
    if (this.ending) return;
    const hold =
      this.listener.readingPaused || this.outputPaused || ((this.busy || this.scheduled) && this.decoder.bufferedBytes() > QUEUED_INPUT_BYTES_MAX);
    if (hold && !this.socket.isPaused()) this.socket.pause();
    else if (!hold && this.socket.isPaused()) this.socket.resume();
  }

  /** Send what is queued, then close; the client gets CLOSE_GRACE_MS to close its side. */
  endGracefully(): void {
    if (this.ending) return;
    this.ending = true;
    this.socket.resume(); // keep draining input so closing does not turn into a reset
    this.socket.end();
    this.closeTimer = setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS);
    this.closeTimer.unref();
  }

  private onClose(): void {
    if (this.closeTimer !== undefined) clearTimeout(this.closeTimer);
    this.ending = true;
    const state = this.listener.state;
    state.pubsub.dropSession(this.session);
    discardTransaction(this.session);
    state.sessions.delete(this.session.id);
    this.session.inputEnded = true;
    this.listener.connections.delete(this);
  }
}

class Listener {
  readonly connections = new Set<Connection>();
  readingPaused = false;
  private readonly sampleTimer: NodeJS.Timeout;

  constructor(
    readonly state: ServerState,
    readonly server: Server,
  ) {
    this.sampleTimer = setInterval(() => state.sample(Date.now()), OPS_SAMPLE_INTERVAL_MS);
    this.sampleTimer.unref();
    server.on('connection', (socket) => this.accept(socket));
    server.on('error', (error) => state.logger.error({ err: error }, 'client listener error'));
  }

  private accept(socket: Socket): void {
    const state = this.state;
    state.stats.connectionsReceived++;
    if (this.connections.size >= CLIENTS_MAX) {
      state.stats.rejectedConnections++;
      socket.on('error', () => {});
      socket.end('-ERR max number of clients reached\r\n');
      return;
    }
    this.connections.add(new Connection(this, socket));
  }

  setReadingPaused(paused: boolean): void {
    this.readingPaused = paused;
    for (const connection of this.connections) connection.updateReading();
  }

  async close(): Promise<void> {
    clearInterval(this.sampleTimer);
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const connection of this.connections) connection.endGracefully();
    await closed;
    this.state.close();
  }
}

export async function startRespServer(options: RespServerOptions): Promise<RespServer> {
  const state = new ServerState({ engine: options.engine, requirepass: options.requirepass, logger: options.logger, table: buildCommandTable() });
  const server = createServer({ allowHalfOpen: true, noDelay: true });
  const listener = new Listener(state, server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  state.tcpPort = port;
  options.logger.info({ host: options.host, port }, 'client port listening');
  return {
    port,
    connections: () => listener.connections.size,
    commandStats: () => state.commandStats.snapshot(),
    stats: () => ({ ...state.stats, connections: listener.connections.size }),
    pauseReading: () => listener.setReadingPaused(true),
    resumeReading: () => listener.setReadingPaused(false),
    close: () => listener.close(),
  };
}

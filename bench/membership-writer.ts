// A paced SET writer for the soak: a steady rate spread round-robin over the nodes, one
// raw socket per node. redis-benchmark cannot hold a rate, and a steady load (rather
// than a flat-out one) is what a false-death measurement needs.
import { createConnection, type Socket } from 'node:net';

/** Writes are issued on this tick; 10 ms keeps bursts to rate/100 commands. */
const WRITER_TICK_MS = 10;
/** Keys are drawn from this many, so the store stays small over a long run. */
const WRITER_KEY_SPACE = 10_000;
const WRITER_VALUE = 'v'.repeat(64);
/** A connection with this many replies outstanding is skipped rather than buffered without bound. */
const WRITER_OUTSTANDING_MAX = 5_000;
/** Ticks later than this count as writer stalls (the writer itself starved of CPU). */
const WRITER_TICK_LATE_MS = 100;

export interface WriterResult {
  readonly sent: number;
  readonly ok: number;
  readonly errors: number;
  /** Writes not sent because a node had WRITER_OUTSTANDING_MAX replies pending. */
  readonly skipped: number;
  readonly connectionsLost: number;
  readonly elapsedMs: number;
  readonly lateTicks: number;
  readonly firstError: string | undefined;
}

interface WriterConnection {
  readonly socket: Socket;
  outstanding: number;
  partial: string;
  alive: boolean;
}

function encodeSet(key: string, value: string): string {
  return `*3\r\n$3\r\nSET\r\n$${key.length}\r\n${key}\r\n$${value.length}\r\n${value}\r\n`;
}

export class PacedWriter {
  private connections: WriterConnection[] = [];
  private timer: NodeJS.Timeout | undefined;
  private startedAtMs = 0;
  private lastTickMs = 0;
  private next = 0;
  private sent = 0;
  private ok = 0;
  private errors = 0;
  private skipped = 0;
  private connectionsLost = 0;
  private lateTicks = 0;
  private firstError: string | undefined;

  constructor(private readonly ports: readonly number[], private readonly ratePerSecond: number) {}

  async start(): Promise<void> {
    this.connections = await Promise.all(this.ports.map((port) => this.connect(port)));
    this.startedAtMs = performance.now();
    this.lastTickMs = this.startedAtMs;
    this.timer = setInterval(() => this.tick(), WRITER_TICK_MS);
  }

  /** Stops sending and waits (bounded) for the replies still in flight. */
  async stop(): Promise<WriterResult> {
    clearInterval(this.timer);
    const elapsedMs = performance.now() - this.startedAtMs;
    const deadline = performance.now() + 5_000;
    while (this.connections.some((connection) => connection.alive && connection.outstanding > 0) && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    for (const connection of this.connections) {
      connection.alive = false;
      connection.socket.destroy();
    }
    return {
      sent: this.sent,
      ok: this.ok,
      errors: this.errors,
      skipped: this.skipped,
      connectionsLost: this.connectionsLost,
      elapsedMs,
      lateTicks: this.lateTicks,
      firstError: this.firstError,
    };
  }

  private connect(port: number): Promise<WriterConnection> {
    return new Promise((resolve, reject) => {
      const socket = createConnection({ host: '127.0.0.1', port });
      socket.setNoDelay(true);
      socket.setEncoding('latin1');
      const connection: WriterConnection = { socket, outstanding: 0, partial: '', alive: true };
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        socket.on('data', (chunk: string) => this.receive(connection, chunk));
        socket.on('error', (error) => this.noteError(`port ${port}: ${error.message}`));
        socket.on('close', () => {
          if (connection.alive) this.connectionsLost++;
          connection.alive = false;
        });
        resolve(connection);
      });
    });
  }

  private tick(): void {
    const nowMs = performance.now();
    if (nowMs - this.lastTickMs > WRITER_TICK_LATE_MS) this.lateTicks++;
    this.lastTickMs = nowMs;
    const due = Math.floor(((nowMs - this.startedAtMs) * this.ratePerSecond) / 1000) - this.sent - this.skipped;
    if (due <= 0 || this.connections.length === 0) return;
    const batches = this.connections.map(() => '');
    for (let i = 0; i < due; i++) {
      const index = this.next++ % this.connections.length;
      const connection = this.connections[index]!;
      if (!connection.alive || connection.outstanding >= WRITER_OUTSTANDING_MAX) {
        this.skipped++;
        continue;
      }
      batches[index] += encodeSet(`soak:${Math.floor(Math.random() * WRITER_KEY_SPACE)}`, WRITER_VALUE);
      connection.outstanding++;
      this.sent++;
    }
    batches.forEach((batch, index) => batch.length > 0 && this.connections[index]!.socket.write(batch, 'latin1'));
  }

  /** SET replies are single lines: +OK or -ERR ... */
  private receive(connection: WriterConnection, chunk: string): void {
    const lines = (connection.partial + chunk).split('\r\n');
    connection.partial = lines.pop() ?? '';
    for (const line of lines) {
      connection.outstanding--;
      if (line.startsWith('+')) this.ok++;
      else {
        this.errors++;
        this.noteError(line);
      }
    }
  }

  private noteError(message: string): void {
    this.firstError ??= message;
  }
}

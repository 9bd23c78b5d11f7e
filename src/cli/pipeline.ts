// A pipelining RESP connection for bulk work (export, import): requests are encoded into
// one growing buffer and leave in large writes, replies are matched in order, and there is
// no timer per request (one idle timer for the whole connection instead). Requests sent
// with `post` only count their reply (and report it when it is an error), so an import
// of millions of commands allocates no promise per command.
import { connect, type Socket } from 'node:net';
import { ClientError, type RespArgument } from './client.js';
import { RespReplyParser, type RespReply } from '../wire/resp-reply-parser.js';

/** Encoded requests are flushed to the socket once this many bytes wait. */
const FLUSH_BYTES = 256 * 1024;

type Waiter = ((reply: RespReply) => void) | null;

export class PipelineConnection {
  private readonly parser = new RespReplyParser();
  private readonly waiters: Waiter[] = [];
  private waiterHead = 0;
  private out: Buffer = Buffer.allocUnsafe(FLUSH_BYTES * 2);
  private outLength = 0;
  private flushScheduled = false;
  private failure: ClientError | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private readonly drainWaiters: (() => void)[] = [];
  private readonly failureWaiters: ((error: ClientError) => void)[] = [];
  /** Error replies to `post`ed requests, first few kept. */
  readonly errors: string[] = [];
  errorCount = 0;

  private constructor(private readonly socket: Socket, private readonly address: string, private readonly timeoutMs: number) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error) => this.fail(new ClientError('CLOSED', `connection to ${address} failed: ${error.message}`)));
    socket.on('close', () => this.fail(new ClientError('CLOSED', `connection to ${address} closed by the server`)));
    socket.on('drain', () => this.wakeDrain());
  }

  static connect(host: string, port: number, timeoutMs: number): Promise<PipelineConnection> {
    const address = `${host}:${port}`;
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port });
      socket.setNoDelay(true);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new ClientError('TIMEOUT', `cannot connect to ${address} within ${timeoutMs} ms (is the address right? raise --timeout)`));
      }, timeoutMs);
      socket.once('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(new ClientError('CONNECT_FAILED', error.code === 'ECONNREFUSED'
          ? `cannot connect to ${address} (is a node running? start one with: peerkv start)`
          : `cannot connect to ${address}: ${error.message}`));
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new PipelineConnection(socket, address, timeoutMs));
      });
    });
  }

  /** Requests whose reply has not arrived yet. */
  get inFlight(): number {
    return this.waiters.length - this.waiterHead;
  }

  /** Sends a request and resolves with its reply (error replies resolve too). */
  request(args: readonly RespArgument[]): Promise<RespReply> {
    return new Promise((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      this.failureWaiters.push(reject);
      this.waiters.push((reply) => {
        resolve(reply);
      });
      this.encode(args);
    });
  }

  /** Sends a request whose reply is only counted (errors are kept in `errors`). */
  post(args: readonly RespArgument[]): void {
    if (this.failure) throw this.failure;
    this.waiters.push(null);
    this.encode(args);
  }

  /** Resolves once fewer than `limit` replies are outstanding and the socket takes more. */
  async throttle(limit: number): Promise<void> {
    if (this.outLength >= FLUSH_BYTES) this.flush();
    while ((this.inFlight >= limit || this.socket.writableNeedDrain) && this.failure === undefined) {
      await new Promise<void>((resolve) => this.drainWaiters.push(resolve));
    }
    if (this.failure) throw this.failure;
  }

  /** Resolves once every request sent so far has its reply. */
  async settle(): Promise<void> {
    this.flush();
    await this.throttle(1);
  }

  close(): void {
    clearTimeout(this.idleTimer);
    this.failure ??= new ClientError('CLOSED', 'connection closed by the client');
    this.socket.destroy();
  }

  private encode(args: readonly RespArgument[]): void {
    let size = 16;
    for (const argument of args) size += 16 + (typeof argument === 'string' ? Buffer.byteLength(argument) : argument.length);
    this.reserve(size);
    let at = this.outLength;
    at += this.out.write(`*${args.length}\r\n`, at, 'latin1');
    for (const argument of args) {
      if (typeof argument === 'string') {
        const length = Buffer.byteLength(argument);
        at += this.out.write(`$${length}\r\n`, at, 'latin1');
        at += this.out.write(argument, at, 'utf8');
      } else {
        at += this.out.write(`$${argument.length}\r\n`, at, 'latin1');
        this.out.set(argument, at);
        at += argument.length;
      }
      this.out[at++] = 13;
      this.out[at++] = 10;
    }
    this.outLength = at;
    if (this.idleTimer === undefined) this.armIdleTimer();
    if (this.outLength >= FLUSH_BYTES) this.flush();
    else if (!this.flushScheduled) {
      // After the I/O of this turn, not after each microtask: a loop that awaits per line
      // (readline) would otherwise write (and allocate) once per line.
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private reserve(bytes: number): void {
    if (this.outLength + bytes <= this.out.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.out.length * 2, this.outLength + bytes));
    this.out.copy(grown, 0, 0, this.outLength);
    this.out = grown;
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.outLength === 0 || this.failure) return;
    // The socket keeps the buffer it is given until written: hand it a copy, reuse ours.
    this.socket.write(Buffer.from(this.out.subarray(0, this.outLength)));
    this.outLength = 0;
  }

  private onData(chunk: Buffer): void {
    const batch = this.parser.feed(chunk);
    for (const reply of batch.replies) {
      if (reply.type === 'push') continue;
      const waiter = this.waiters[this.waiterHead];
      if (waiter === undefined) continue;
      this.waiters[this.waiterHead++] = null;
      if (this.waiterHead > 4096 && this.waiterHead * 2 > this.waiters.length) {
        this.waiters.splice(0, this.waiterHead);
        this.waiterHead = 0;
      }
      if (waiter !== null) {
        this.failureWaiters.shift();
        waiter(reply);
      } else if (reply.type === 'error') {
        this.errorCount++;
        if (this.errors.length < 5) this.errors.push(reply.value);
      }
    }
    if (batch.error) this.fail(new ClientError('PROTOCOL', `bad reply from ${this.address}: ${batch.error.message}`));
    this.refreshIdleTimer();
    this.wakeDrain();
  }

  /** One timer for the connection: restarted by every reply, cleared when nothing is outstanding. */
  private armIdleTimer(): void {
    if (this.inFlight === 0 || this.timeoutMs <= 0) {
      clearTimeout(this.idleTimer);
      this.idleTimer = undefined;
    } else if (this.idleTimer === undefined) {
      this.idleTimer = setTimeout(() => this.fail(new ClientError('TIMEOUT', `no reply from ${this.address} within ${this.timeoutMs} ms (raise --timeout if the node is busy)`)), this.timeoutMs);
    }
  }

  private refreshIdleTimer(): void {
    if (this.inFlight === 0) this.armIdleTimer();
    else this.idleTimer?.refresh();
  }

  private wakeDrain(): void {
    if (this.drainWaiters.length === 0) return;
    for (const wake of this.drainWaiters.splice(0)) wake();
  }

  private fail(error: ClientError): void {
    if (this.failure) return;
    this.failure = error;
    clearTimeout(this.idleTimer);
    for (const reject of this.failureWaiters.splice(0)) reject(error);
    this.wakeDrain();
    this.socket.destroy();
  }
}

// A minimal promise-based RESP client over node:net for the CLI: one connection, requests
// answered in order, out-of-band messages (RESP3 push, or RESP2 pub/sub messages that
// arrive with no request waiting) handed to onPush. Failures are ClientError values with
// a stable code so the CLI can print one line that says what to do.
import { connect, type Socket } from 'node:net';
import { RespReplyParser, type RespReply } from '../wire/resp-reply-parser.js';

export type ClientErrorCode = 'CONNECT_FAILED' | 'TIMEOUT' | 'CLOSED' | 'PROTOCOL';

export class ClientError extends Error {
  constructor(readonly code: ClientErrorCode, message: string) {
    super(message);
    this.name = 'ClientError';
  }
}

export interface ClientOptions {
  readonly host: string;
  readonly port: number;
  /** Bound on connecting and on each command's reply; 0 = none. */
  readonly timeoutMs: number;
}

export type RespArgument = string | Uint8Array;

interface PendingReply {
  resolve(reply: RespReply): void;
  reject(error: ClientError): void;
  timer: NodeJS.Timeout | undefined;
}

export class RespClient {
  private readonly parser = new RespReplyParser();
  private readonly pending: PendingReply[] = [];
  private pushHandler: ((message: RespReply) => void) | undefined;
  private closeHandler: ((error: ClientError) => void) | undefined;
  private closedError: ClientError | undefined;

  private constructor(private readonly socket: Socket, private readonly options: ClientOptions) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error: Error) => this.shutDown(new ClientError('CLOSED', `connection to ${this.address} failed: ${error.message}`)));
    socket.on('close', () => this.shutDown(new ClientError('CLOSED', `connection to ${this.address} closed by the server`)));
  }

  static connect(options: ClientOptions): Promise<RespClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: options.host, port: options.port });
      socket.setNoDelay(true);
      const address = `${options.host}:${options.port}`;
      const timer = options.timeoutMs > 0
        ? setTimeout(() => {
          socket.destroy();
          reject(new ClientError('TIMEOUT', `cannot connect to ${address} within ${options.timeoutMs} ms (is the address right? raise --timeout)`));
        }, options.timeoutMs)
        : undefined;
      const onError = (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(new ClientError('CONNECT_FAILED', describeConnectError(address, error)));
      };
      socket.once('error', onError);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.off('error', onError);
        resolve(new RespClient(socket, options));
      });
    });
  }

  get address(): string {
    return `${this.options.host}:${this.options.port}`;
  }

  /** Sends one command; resolves with its reply (error replies resolve too: type 'error'). */
  command(args: readonly RespArgument[], timeoutMs = this.options.timeoutMs): Promise<RespReply> {
    if (this.closedError) return Promise.reject(this.closedError);
    return new Promise((resolve, reject) => {
      const entry: PendingReply = { resolve, reject, timer: undefined };
      if (timeoutMs > 0) {
        entry.timer = setTimeout(() => {
          // The stream is now out of step with our queue: the connection is unusable.
          this.shutDown(new ClientError('TIMEOUT', `no reply from ${this.address} within ${timeoutMs} ms (raise --timeout if the node is busy)`));
        }, timeoutMs);
      }
      this.pending.push(entry);
      this.socket.write(encodeCommand(args));
    });
  }

  onPush(handler: (message: RespReply) => void): void {
    this.pushHandler = handler;
  }

  onClose(handler: (error: ClientError) => void): void {
    this.closeHandler = handler;
  }

  close(): void {
    this.shutDown(new ClientError('CLOSED', 'connection closed by the client'));
  }

  private onData(chunk: Buffer): void {
    const batch = this.parser.feed(chunk);
    for (const reply of batch.replies) {
      const waiting = reply.type === 'push' ? undefined : this.pending.shift();
      if (waiting) {
        clearTimeout(waiting.timer);
        waiting.resolve(reply);
      } else {
        this.pushHandler?.(reply);
      }
    }
    if (batch.error) this.shutDown(new ClientError('PROTOCOL', `bad reply from ${this.address}: ${batch.error.message}`));
  }

  private shutDown(error: ClientError): void {
    if (this.closedError) return;
    this.closedError = error;
    for (const waiting of this.pending.splice(0)) {
      clearTimeout(waiting.timer);
      waiting.reject(error);
    }
    this.socket.destroy();
    this.closeHandler?.(error);
  }
}

const encoder = new TextEncoder();

/** A request as a RESP array of bulk strings: binary safe, what every Redis client sends. */
export function encodeCommand(args: readonly RespArgument[]): Uint8Array {
  const parts: Uint8Array[] = [encoder.encode(`*${args.length}\r\n`)];
  for (const argument of args) {
    const bytes = typeof argument === 'string' ? encoder.encode(argument) : argument;
    parts.push(encoder.encode(`$${bytes.length}\r\n`), bytes, encoder.encode('\r\n'));
  }
  return Buffer.concat(parts);
}

function describeConnectError(address: string, error: NodeJS.ErrnoException): string {
  if (error.code === 'ECONNREFUSED') return `cannot connect to ${address} (is a node running? start one with: peerkv start)`;
  if (error.code === 'ENOTFOUND' || error.code === 'EAI_AGAIN') return `cannot resolve host of ${address} (check -h)`;
  return `cannot connect to ${address}: ${error.message}`;
}

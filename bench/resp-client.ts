// A minimal RESP2 client for the benchmark: raw socket, replies timestamped at chunk
// arrival (performance.now()), batched pipelining for loaders, pub/sub pushes.
// Written here rather than taken from ioredis so that timing has no library queueing in it.
import { createConnection, type Socket } from 'node:net';

export type Reply = string | number | null | Error | Reply[];

/** Called once per reply with the time its chunk arrived (performance.now()). */
export type ReplyHandler = (reply: Reply, atMs: number) => void;

interface Pending {
  remaining: number;
  readonly onReply: ReplyHandler;
}

const CONNECT_TIMEOUT_MS = 5_000;

export class RespConnection {
  private buffer: Buffer = Buffer.alloc(0);
  private readonly pending: Pending[] = [];
  private pendingHead = 0;
  private closedError: Error | undefined;
  /** Receives pub/sub messages ('message' / 'pmessage' arrays) instead of the pending queue. */
  onPush: ReplyHandler | undefined;

  private constructor(private readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk) => this.receive(chunk, performance.now()));
    socket.on('error', (error) => this.fail(error));
    socket.on('close', () => this.fail(new Error('connection closed')));
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RespConnection> {
    return new Promise((resolve, reject) => {
      const socket = createConnection({ port, host });
      const timer = setTimeout(() => { socket.destroy(); reject(new Error(`connect to ${host}:${port} timed out`)); }, CONNECT_TIMEOUT_MS);
      socket.once('error', (error) => { clearTimeout(timer); reject(error); });
      socket.once('connect', () => { clearTimeout(timer); resolve(new RespConnection(socket)); });
    });
  }

  /** Writes already-encoded commands; onReply runs once for each of the next replyCount replies. */
  sendEncoded(bytes: Buffer, replyCount: number, onReply: ReplyHandler): boolean {
    if (this.closedError !== undefined) throw this.closedError;
    this.pending.push({ remaining: replyCount, onReply });
    return this.socket.write(bytes);
  }

  command(...args: (string | Buffer)[]): Promise<Reply> {
    return new Promise((resolve, reject) => {
      this.sendEncoded(encodeCommand(args), 1, (reply) => (reply instanceof Error ? reject(reply) : resolve(reply)));
    });
  }

  /** Resolves when the socket buffer has drained (backpressure for loaders). */
  drained(): Promise<void> {
    if (!this.socket.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => this.socket.once('drain', () => resolve()));
  }

  close(): void {
    this.socket.destroy();
  }

  private receive(chunk: Buffer, atMs: number): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    let offset = 0;
    for (;;) {
      const parsed = parseReply(this.buffer, offset);
      if (parsed === undefined) break;
      offset = parsed.next;
      this.dispatch(parsed.reply, atMs);
    }
    this.buffer = offset === this.buffer.length ? Buffer.alloc(0) : this.buffer.subarray(offset);
  }

  private dispatch(reply: Reply, atMs: number): void {
    if (this.onPush !== undefined && Array.isArray(reply) && (reply[0] === 'pmessage' || reply[0] === 'message')) {
      this.onPush(reply, atMs);
      return;
    }
    const head = this.pending[this.pendingHead];
    if (head === undefined) return; // a reply nobody waits for: nothing to resolve
    head.remaining--;
    if (head.remaining === 0) {
      this.pendingHead++;
      if (this.pendingHead > 1024 && this.pendingHead * 2 > this.pending.length) {
        this.pending.splice(0, this.pendingHead);
        this.pendingHead = 0;
      }
    }
    head.onReply(reply, atMs);
  }

  private fail(error: Error): void {
    if (this.closedError !== undefined) return;
    this.closedError = error;
    for (let index = this.pendingHead; index < this.pending.length; index++) {
      const entry = this.pending[index]!;
      for (let count = 0; count < entry.remaining; count++) entry.onReply(error, performance.now());
    }
    this.pending.length = 0;
    this.pendingHead = 0;
  }
}

export function encodeCommand(args: readonly (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) {
    const bytes = typeof arg === 'string' ? Buffer.from(arg) : arg;
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

/** One reply starting at offset, or undefined when the buffer holds only part of it. */
function parseReply(buffer: Buffer, offset: number): { reply: Reply; next: number } | undefined {
  if (offset >= buffer.length) return undefined;
  const lineEnd = buffer.indexOf('\r\n', offset, 'latin1');
  if (lineEnd < 0) return undefined;
  const type = String.fromCharCode(buffer[offset]!);
  const line = buffer.toString('utf8', offset + 1, lineEnd);
  const afterLine = lineEnd + 2;
  switch (type) {
    case '+': return { reply: line, next: afterLine };
    case '-': return { reply: new Error(line), next: afterLine };
    case ':': return { reply: Number(line), next: afterLine };
    case '$': {
      const length = Number(line);
      if (length < 0) return { reply: null, next: afterLine };
      if (buffer.length < afterLine + length + 2) return undefined;
      return { reply: buffer.toString('utf8', afterLine, afterLine + length), next: afterLine + length + 2 };
    }
    case '*':
    case '>': {
      const count = Number(line);
      if (count < 0) return { reply: null, next: afterLine };
      const items: Reply[] = [];
      let next = afterLine;
      for (let index = 0; index < count; index++) {
        const item = parseReply(buffer, next);
        if (item === undefined) return undefined;
        items.push(item.reply);
        next = item.next;
      }
      return { reply: items, next };
    }
    default:
      return { reply: new Error(`unexpected reply type ${JSON.stringify(type)}`), next: afterLine };
  }
}

/** Parses an INFO reply into field -> value (all sections merged). */
export function parseInfo(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return fields;
}

export async function readInfo(port: number): Promise<Map<string, string>> {
  const connection = await RespConnection.connect(port);
  try {
    const reply = await connection.command('INFO');
    return parseInfo(typeof reply === 'string' ? reply : '');
  } finally {
    connection.close();
  }
}

export async function readDbSize(port: number): Promise<number> {
  const connection = await RespConnection.connect(port);
  try {
    const reply = await connection.command('DBSIZE');
    return typeof reply === 'number' ? reply : Number.NaN;
  } finally {
    connection.close();
  }
}

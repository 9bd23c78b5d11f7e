// The benchmark's reference server: a minimal Node.js RESP server (SET/GET on a Map), each
// read chunk parsed at once and answered with one socket write. No durability, no clock,
// no replication, no limits: what a Node.js process on this machine gets for the protocol
// work alone, the ceiling every Node server, peerkv included, runs under. Bench only.
// Usage: node dist/bench/node-baseline-server.js PORT
import { createServer, type Socket } from 'node:net';

const CR = 13;
const LF = 10;
const ASTERISK = 42;
const DOLLAR = 36;
/** Reply buffer per connection; grows when one chunk's replies need more. */
const OUTPUT_BYTES_INITIAL = 64 * 1024;
/** Room a single reply may need beyond its value bytes (header and CRLF). */
const REPLY_OVERHEAD_BYTES = 32;

const store = new Map<string, Buffer>();

/** Digits from position until CR; -1 when not a number. */
function readNumber(bytes: Buffer, position: number, end: number): number {
  let value = 0;
  let index = position;
  for (; index < end && bytes[index] !== CR; index++) {
    const digit = bytes[index]! - 48;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return index === position ? -1 : value;
}

/** The command name in upper case, told by length and letters without building a string. */
function commandName(name: Buffer): string {
  const upper = (index: number) => name[index]! & ~0x20; // ASCII letters only; anything else fails the comparisons
  if (name.length === 3 && upper(1) === 0x45 && upper(2) === 0x54) {
    if (upper(0) === 0x53) return 'SET';
    if (upper(0) === 0x47) return 'GET';
  }
  return name.toString('latin1').toUpperCase();
}

/** A `<marker>N\r\n` line at position: N and the position after it; undefined if incomplete, -1 if malformed. */
function readHeader(bytes: Buffer, position: number, marker: number): { value: number; next: number } | undefined | -1 {
  if (position >= bytes.length) return undefined;
  if (bytes[position] !== marker) return -1;
  const lineEnd = bytes.indexOf(LF, position);
  if (lineEnd < 0) return undefined;
  const value = readNumber(bytes, position + 1, lineEnd);
  return value < 0 ? -1 : { value, next: lineEnd + 1 };
}

class BaselineConnection {
  private input: Buffer | undefined;
  private output = Buffer.allocUnsafe(OUTPUT_BYTES_INITIAL);
  private outputLength = 0;
  private readonly args: Buffer[] = [];

  constructor(private readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => socket.destroy());
  }

  private onData(chunk: Buffer): void {
    const bytes = this.input === undefined ? chunk : Buffer.concat([this.input, chunk]);
    let position = 0;
    for (;;) {
      const next = this.parseCommand(bytes, position);
      if (next === undefined) break;
      if (next < 0) return void this.socket.destroy();
      position = next;
      this.execute();
    }
    this.input = position < bytes.length ? bytes.subarray(position) : undefined;
    if (this.outputLength > 0) {
      this.socket.write(Buffer.from(this.output.subarray(0, this.outputLength)));
      this.outputLength = 0;
    }
  }

  /** Fills args from one `*N $len ...` command; the position after it, undefined if incomplete, -1 if malformed. */
  private parseCommand(bytes: Buffer, start: number): number | undefined {
    const header = readHeader(bytes, start, ASTERISK);
    if (header === undefined || header === -1) return header;
    if (header.value < 1) return -1;
    this.args.length = 0;
    let position = header.next;
    for (let index = 0; index < header.value; index++) {
      const bulk = readHeader(bytes, position, DOLLAR);
      if (bulk === undefined || bulk === -1) return bulk;
      if (bulk.next + bulk.value + 2 > bytes.length) return undefined;
      this.args.push(bytes.subarray(bulk.next, bulk.next + bulk.value));
      position = bulk.next + bulk.value + 2;
    }
    return position;
  }

  private execute(): void {
    const name = commandName(this.args[0]!);
    if (name === 'SET' && this.args.length >= 3) {
      store.set(this.args[1]!.toString('latin1'), Buffer.from(this.args[2]!));
      this.appendText('+OK\r\n');
    } else if (name === 'GET' && this.args.length >= 2) {
      const value = store.get(this.args[1]!.toString('latin1'));
      if (value === undefined) this.appendText('$-1\r\n');
      else this.appendBulk(value);
    } else if (name === 'PING') {
      this.appendText('+PONG\r\n');
    } else if (name === 'CONFIG' && this.args.length >= 3) {
      // redis-benchmark asks for "save" and "appendonly" before it starts.
      this.appendText('*2\r\n');
      this.appendBulk(this.args[2]!);
      this.appendBulk(Buffer.alloc(0));
    } else {
      this.appendText(`-ERR baseline server knows only SET, GET, PING and CONFIG GET\r\n`);
    }
  }

  private reserve(bytes: number): void {
    if (this.outputLength + bytes <= this.output.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.output.length * 2, this.outputLength + bytes));
    this.output.copy(grown, 0, 0, this.outputLength);
    this.output = grown;
  }

  private appendText(text: string): void {
    this.reserve(text.length);
    this.outputLength += this.output.write(text, this.outputLength, 'latin1');
  }

  private appendBulk(value: Buffer): void {
    this.reserve(value.length + REPLY_OVERHEAD_BYTES);
    this.outputLength += this.output.write(`$${value.length}\r\n`, this.outputLength, 'latin1');
    this.outputLength += value.copy(this.output, this.outputLength);
    this.output[this.outputLength++] = CR;
    this.output[this.outputLength++] = LF;
  }
}

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0 || port > 65_535) {
  console.error('usage: node-baseline-server.js PORT');
  process.exit(2);
}
// It holds nothing worth a clean shutdown; SIGTERM exits through process.exit so that a
// CPU profile (--cpu-prof, the budget) is written.
process.on('SIGTERM', () => process.exit(0));
createServer({ noDelay: true }, (socket) => new BaselineConnection(socket)).listen(port, '127.0.0.1');

// Sans-I/O RESP request decoder: feed it socket chunks, pull complete commands.
// Accepts multibulk (`*N\r\n$len\r\narg\r\n...`) and inline commands (redis-cli style
// quoting). It never throws on bad bytes: a protocol error is returned as a value and
// the decoder stays failed, because the stream can no longer be framed.
//
// Cost is O(bytes): the common case parses args as views straight out of the current
// chunk; a line or bulk that spans chunks is kept as a list of pieces and joined once.
import { Buffer } from 'node:buffer';
import { VALUE_BYTES_MAX } from '../core/validate.js';

/** Largest bulk argument (Redis proto-max-bulk-len); equals the value limit. */
export const PROTO_MAX_BULK_BYTES = VALUE_BYTES_MAX;
/** Longest inline command line (Redis PROTO_INLINE_MAX_SIZE). */
export const INLINE_BYTES_MAX = 64 * 1024;
/** Longest `*N` or `$N` header line; anything longer is garbage, not a number. */
export const HEADER_LINE_BYTES_MAX = 64 * 1024;
/** Most arguments in one multibulk command. */
export const MULTIBULK_ARGS_MAX = 1024 * 1024;
/** Sum of bulk lengths of one command (Redis client-query-buffer-limit). */
export const COMMAND_BYTES_MAX = 1024 * 1024 * 1024;
/** Before AUTH a client may send at most this many arguments per command ... */
export const PREAUTH_ARGS_MAX = 10;
/** ... each at most this long, so unauthenticated peers cannot make us buffer much. */
export const PREAUTH_BULK_BYTES_MAX = 16 * 1024;

export type RespDecodeErrorCode =
  | 'invalid_multibulk_length'
  | 'invalid_bulk_length'
  | 'expected_dollar'
  | 'expected_crlf'
  | 'header_too_big'
  | 'inline_too_big'
  | 'unbalanced_quotes'
  | 'command_too_big'
  | 'unauthenticated_multibulk_length'
  | 'unauthenticated_bulk_length';

/** A framing error; `message` is what Redis would send after `-ERR `. */
export interface RespDecodeError {
  readonly code: RespDecodeErrorCode;
  readonly message: string;
}

/** One command: the name and its arguments, binary safe. Views into the fed chunks. */
export type RespCommand = Buffer[];

const enum State {
  Start,
  MultibulkCount,
  BulkHeader,
  BulkBody,
  Inline,
}

const NEWLINE = 10;
const CARRIAGE_RETURN = 13;
const EMPTY = Buffer.alloc(0);

function protocolError(code: RespDecodeErrorCode, detail: string): RespDecodeError {
  return { code, message: `Protocol error: ${detail}` };
}

export class RespDecoder {
  /** Pre-AUTH limits (PREAUTH_ARGS_MAX, PREAUTH_BULK_BYTES_MAX) apply while true. */
  preAuth = false;

  private current: Buffer = EMPTY;
  private position = 0;
  /** Chunks fed while `current` still had unread bytes, in order; queueHead is the next. */
  private queue: Buffer[] = [];
  private queueHead = 0;
  private queuedBytes = 0;

  private state = State.Start;
  /** Pieces of a line or bulk body that spans chunks, and their total length. */
  private pieces: Buffer[] = [];
  private pieceBytes = 0;

  private args: Buffer[] = [];
  private argsRemaining = 0;
  private bulkLength = 0;
  private commandBytes = 0;
  private failure: RespDecodeError | undefined;

  feed(chunk: Uint8Array): void {
    if (this.failure !== undefined || chunk.length === 0) return;
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.position >= this.current.length && this.queueHead === this.queue.length) {
      this.current = buffer;
      this.position = 0;
      return;
    }
    this.queue.push(buffer);
    this.queuedBytes += buffer.length;
  }

  /** Bytes held that no returned command consumed yet (for input backpressure). */
  bufferedBytes(): number {
    return this.current.length - this.position + this.queuedBytes + this.pieceBytes;
  }

  /** The error that stopped this decoder, if any. */
  error(): RespDecodeError | undefined {
    return this.failure;
  }

  /**
   * The next complete command, a protocol error (sticky: every later call returns it
   * too), or undefined when more bytes are needed. Empty commands are skipped.
   */
  next(): RespCommand | RespDecodeError | undefined {
    if (this.failure !== undefined) return this.failure;
    for (;;) {
      if (this.position >= this.current.length && !this.advanceChunk()) return undefined;
      let result: RespCommand | RespDecodeError | undefined | null;
      switch (this.state) {
        case State.Start:
          result = this.startCommand();
          break;
        case State.MultibulkCount:
          result = this.readMultibulkCount();
          break;
        case State.BulkHeader:
          result = this.readBulkHeader();
          break;
        case State.BulkBody:
          result = this.readBulkBody();
          break;
        case State.Inline:
          result = this.readInline();
          break;
      }
      // null: progress made, keep going; undefined: this chunk is used up.
      if (result === null) continue;
      if (result === undefined) {
        if (this.advanceChunk()) continue;
        return undefined;
      }
      if (!Array.isArray(result)) this.fail(result);
      return result;
    }
  }

  private fail(error: RespDecodeError): void {
    this.failure = error;
    this.current = EMPTY;
    this.position = 0;
    this.queue = [];
    this.queueHead = 0;
    this.queuedBytes = 0;
    this.pieces = [];
    this.pieceBytes = 0;
    this.args = [];
  }

  private advanceChunk(): boolean {
    if (this.queueHead === this.queue.length) {
      if (this.queue.length > 0) {
        this.queue = [];
        this.queueHead = 0;
      }
      this.current = EMPTY;
      this.position = 0;
      return false;
    }
    const next = this.queue[this.queueHead]!;
    this.queue[this.queueHead++] = EMPTY;
    this.queuedBytes -= next.length;
    this.current = next;
    this.position = 0;
    return true;
  }

  private startCommand(): null {
    if (this.current[this.position] === 0x2a /* '*' */) {
      this.position++;
      this.state = State.MultibulkCount;
    } else {
      this.state = State.Inline;
    }
    return null;
  }

  /**
   * The bytes before the next '\n' (a trailing '\r' removed), or undefined when the
   * chunk ends first (the partial line is kept), or an error past maxBytes.
   */
  private readLine(maxBytes: number, onTooBig: () => RespDecodeError): Buffer | undefined | RespDecodeError {
    const chunk = this.current;
    const newline = chunk.indexOf(NEWLINE, this.position);
    if (newline === -1) {
      const rest = chunk.subarray(this.position);
      this.position = chunk.length;
      this.pieces.push(rest);
      this.pieceBytes += rest.length;
      return this.pieceBytes > maxBytes ? onTooBig() : undefined;
    }
    let line = chunk.subarray(this.position, newline);
    this.position = newline + 1;
    if (this.pieces.length > 0) {
      this.pieces.push(line);
      line = Buffer.concat(this.pieces, this.pieceBytes + line.length);
      this.pieces = [];
      this.pieceBytes = 0;
    }
    if (line.length > maxBytes) return onTooBig();
    if (line.length > 0 && line[line.length - 1] === CARRIAGE_RETURN) line = line.subarray(0, line.length - 1);
    return line;
  }

  /**
   * Fast path for a header line wholly inside the current chunk: the end of its digits
   * (a trailing '\r' excluded), consuming the line; -1 when readLine must handle it.
   * Saves allocating a Buffer per header line (three per GET).
   */
  private headerLineInChunk(): number {
    if (this.pieces.length > 0) return -1;
    const chunk = this.current;
    const newline = chunk.indexOf(NEWLINE, this.position);
    if (newline === -1 || newline - this.position > HEADER_LINE_BYTES_MAX) return -1;
    this.position = newline + 1;
    return chunk[newline - 1] === CARRIAGE_RETURN ? newline - 1 : newline;
  }

  private readMultibulkCount(): RespCommand | RespDecodeError | undefined | null {
    let count: number | undefined;
    const lineStart = this.position;
    const digitsEnd = this.headerLineInChunk();
    if (digitsEnd !== -1) {
      count = parseIntegerRange(this.current, lineStart, Math.max(lineStart, digitsEnd));
    } else {
      const line = this.readLine(HEADER_LINE_BYTES_MAX, mbulkTooBig);
      if (line === undefined || !Buffer.isBuffer(line)) return line;
      count = parseInteger(line, 0);
    }
    if (count === undefined || count > MULTIBULK_ARGS_MAX) return protocolError('invalid_multibulk_length', 'invalid multibulk length');
    this.state = State.Start;
    if (count <= 0) return null; // `*0` and `*-1` are empty commands: Redis ignores them
    if (this.preAuth && count > PREAUTH_ARGS_MAX) return protocolError('unauthenticated_multibulk_length', 'unauthenticated multibulk length');
    this.argsRemaining = count;
    this.commandBytes = 0;
    this.state = State.BulkHeader;
    return null;
  }

  private readBulkHeader(): RespDecodeError | undefined | null {
    const chunk = this.current;
    if (this.pieces.length === 0 && chunk[this.position] !== 0x24 /* '$' */) {
      const got = String.fromCharCode(chunk[this.position]!);
      return protocolError('expected_dollar', `expected '$', got '${got}'`);
    }
    let length: number | undefined;
    const lineStart = this.position;
    const digitsEnd = this.headerLineInChunk();
    if (digitsEnd !== -1) {
      // digitsEnd can precede lineStart + 1 only for "$\n" (no digits): not a number either way.
      length = digitsEnd > lineStart ? parseIntegerRange(this.current, lineStart + 1, digitsEnd) : undefined;
    } else {
      const line = this.readLine(HEADER_LINE_BYTES_MAX, bulkTooBig);
      if (line === undefined || !Buffer.isBuffer(line)) return line;
      length = parseInteger(line, 1);
    }
    if (length === undefined || length < 0 || length > PROTO_MAX_BULK_BYTES) return protocolError('invalid_bulk_length', 'invalid bulk length');
    if (this.preAuth && length > PREAUTH_BULK_BYTES_MAX) return protocolError('unauthenticated_bulk_length', 'unauthenticated bulk length');
    this.commandBytes += length;
    if (this.commandBytes > COMMAND_BYTES_MAX) return protocolError('command_too_big', 'command exceeds client query buffer limit');
    this.bulkLength = length;
    this.state = State.BulkBody;
    return null;
  }

  private readBulkBody(): RespCommand | RespDecodeError | undefined | null {
    const chunk = this.current;
    const needed = this.bulkLength + 2 - this.pieceBytes;
    const available = chunk.length - this.position;
    if (available < needed) {
      this.pieces.push(chunk.subarray(this.position));
      this.pieceBytes += available;
      this.position = chunk.length;
      return undefined;
    }
    let body: Buffer;
    let end: number;
    if (this.pieces.length === 0) {
      body = chunk;
      end = this.position + needed;
      this.position = end;
    } else {
      this.pieces.push(chunk.subarray(this.position, this.position + needed));
      this.position += needed;
      body = Buffer.concat(this.pieces, this.bulkLength + 2);
      end = body.length;
      this.pieces = [];
      this.pieceBytes = 0;
    }
    if (body[end - 2] !== CARRIAGE_RETURN || body[end - 1] !== NEWLINE) return protocolError('expected_crlf', 'expected CRLF after bulk data');
    this.args.push(body.subarray(end - 2 - this.bulkLength, end - 2));
    this.state = State.BulkHeader;
    if (--this.argsRemaining > 0) return null;
    const command = this.args;
    this.args = [];
    this.state = State.Start;
    return command;
  }

  private readInline(): RespCommand | RespDecodeError | undefined | null {
    const line = this.readLine(INLINE_BYTES_MAX, inlineTooBig);
    if (line === undefined || !Buffer.isBuffer(line)) return line;
    this.state = State.Start;
    const args = splitInlineArgs(line);
    if (args === undefined) return protocolError('unbalanced_quotes', 'unbalanced quotes in request');
    if (args.length === 0) return null;
    if (this.preAuth && args.length > PREAUTH_ARGS_MAX) return protocolError('unauthenticated_multibulk_length', 'unauthenticated multibulk length');
    return args;
  }
}

function mbulkTooBig(): RespDecodeError {
  return protocolError('header_too_big', 'too big mbulk count string');
}
function bulkTooBig(): RespDecodeError {
  return protocolError('header_too_big', 'too big bulk count string');
}
function inlineTooBig(): RespDecodeError {
  return protocolError('inline_too_big', 'too big inline request');
}

/** Digits longer than this cannot be a valid length; stops before precision runs out. */
const INTEGER_DIGITS_MAX = 15;

/** Signed decimal integer from line[start..], or undefined if it is not one. */
export function parseInteger(line: Uint8Array, start: number): number | undefined {
  return parseIntegerRange(line, start, line.length);
}

/** Signed decimal integer from bytes[start, end), or undefined if it is not one. */
function parseIntegerRange(bytes: Uint8Array, start: number, end: number): number | undefined {
  let index = start;
  let negative = false;
  if (index < end && bytes[index] === 0x2d /* '-' */) {
    negative = true;
    index++;
  }
  const digits = end - index;
  if (digits <= 0 || digits > INTEGER_DIGITS_MAX) return undefined;
  let value = 0;
  for (; index < end; index++) {
    const digit = bytes[index]! - 0x30;
    if (digit < 0 || digit > 9) return undefined;
    value = value * 10 + digit;
  }
  return negative ? -value : value;
}

function isSpace(byte: number | undefined): boolean {
  return byte === 0x20 || (byte !== undefined && byte >= 0x09 && byte <= 0x0d);
}

function hexValue(byte: number | undefined): number {
  if (byte === undefined) return -1;
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  if (byte >= 0x61 && byte <= 0x66) return byte - 0x61 + 10;
  if (byte >= 0x41 && byte <= 0x46) return byte - 0x41 + 10;
  return -1;
}

const ESCAPES: Readonly<Record<number, number>> = { 0x6e: 10, 0x72: 13, 0x74: 9, 0x62: 8, 0x61: 7 }; // n r t b a

/**
 * Split an inline command line as Redis sdssplitargs does: whitespace separates,
 * "double quotes" take \n \r \t \b \a \xHH escapes, 'single quotes' take \'. A closing
 * quote must be followed by whitespace or the end. Undefined on unbalanced quotes.
 */
export function splitInlineArgs(line: Uint8Array): Buffer[] | undefined {
  const args: Buffer[] = [];
  let index = 0;
  for (;;) {
    while (index < line.length && isSpace(line[index])) index++;
    if (index >= line.length) return args;
    const bytes: number[] = [];
    let inDouble = false;
    let inSingle = false;
    for (let done = false; !done; index++) {
      const byte = line[index];
      if (inDouble) {
        if (byte === undefined) return undefined;
        if (byte === 0x5c /* \ */ && line[index + 1] === 0x78 /* x */ && hexValue(line[index + 2]) >= 0 && hexValue(line[index + 3]) >= 0) {
          bytes.push(hexValue(line[index + 2]) * 16 + hexValue(line[index + 3]));
          index += 3;
        } else if (byte === 0x5c && index + 1 < line.length) {
          index++;
          const escaped = line[index]!;
          bytes.push(ESCAPES[escaped] ?? escaped);
        } else if (byte === 0x22 /* " */) {
          if (index + 1 < line.length && !isSpace(line[index + 1])) return undefined;
          done = true;
        } else {
          bytes.push(byte);
        }
      } else if (inSingle) {
        if (byte === undefined) return undefined;
        if (byte === 0x5c && line[index + 1] === 0x27 /* ' */) {
          index++;
          bytes.push(0x27);
        } else if (byte === 0x27) {
          if (index + 1 < line.length && !isSpace(line[index + 1])) return undefined;
          done = true;
        } else {
          bytes.push(byte);
        }
      } else if (byte === undefined || byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09) {
        done = true;
      } else if (byte === 0x22) {
        inDouble = true;
      } else if (byte === 0x27) {
        inSingle = true;
      } else {
        bytes.push(byte);
      }
    }
    args.push(Buffer.from(bytes));
  }
}

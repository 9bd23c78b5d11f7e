// Sans-I/O parser for RESP2 and RESP3 *replies* (what a server sends to a client), used
// by the peerkv CLI. Feed it chunks as they arrive, in any split; it returns the replies
// completed so far. It never throws on bad bytes: a protocol error is returned as a value
// and the parser stays failed, because after one bad byte the stream cannot be resynced.
// (The server's request decoder lives in resp.ts; requests are a much smaller grammar.)

export type RespReply =
  | { readonly type: 'simple'; readonly value: string }
  /** `-ERR ...` or RESP3 blob error `!`; value is the whole message, e.g. "ERR unknown command". */
  | { readonly type: 'error'; readonly value: string }
  /** Number when it fits a safe integer, bigint otherwise (RESP integers are signed 64-bit). */
  | { readonly type: 'integer'; readonly value: number | bigint }
  | { readonly type: 'bulk'; readonly value: Uint8Array }
  /** `$-1`, `*-1` (RESP2) and `_` (RESP3) all read as null. */
  | { readonly type: 'null' }
  | { readonly type: 'array'; readonly value: readonly RespReply[] }
  | { readonly type: 'boolean'; readonly value: boolean }
  | { readonly type: 'double'; readonly value: number }
  | { readonly type: 'bignumber'; readonly value: bigint }
  /** RESP3 `=`: format is the three-letter prefix (txt, mkd), value the text after it. */
  | { readonly type: 'verbatim'; readonly format: string; readonly value: Uint8Array }
  | { readonly type: 'map'; readonly value: readonly (readonly [RespReply, RespReply])[] }
  | { readonly type: 'set'; readonly value: readonly RespReply[] }
  /** RESP3 out-of-band message (pub/sub, invalidation); never the answer to a command. */
  | { readonly type: 'push'; readonly value: readonly RespReply[] };

export type RespReplyErrorCode =
  | 'RESP_BAD_TYPE'
  | 'RESP_BAD_LENGTH'
  | 'RESP_BAD_NUMBER'
  | 'RESP_BAD_TERMINATOR'
  | 'RESP_LINE_TOO_LONG'
  | 'RESP_TOO_DEEP'
  | 'RESP_UNSUPPORTED';

export interface RespReplyError {
  readonly code: RespReplyErrorCode;
  readonly message: string;
}

export interface RespReplyBatch {
  /** Replies completed by this chunk, in stream order. */
  readonly replies: RespReply[];
  /** Set once the stream is broken; every later feed returns the same error. */
  readonly error: RespReplyError | undefined;
}

/** A header or simple line longer than this without CRLF is garbage, not a slow server. */
export const REPLY_LINE_BYTES_MAX = 1 << 20;
/** Redis' own hard cap for proto-max-bulk-len; peerkv values stop at 64 MiB. */
export const REPLY_BULK_BYTES_MAX = 512 * 1024 * 1024;
/** Nesting depth of aggregates; bounds recursion so garbage cannot overflow the stack. */
export const REPLY_DEPTH_MAX = 64;

/** A signed 64-bit integer has at most 19 digits; a little slack for leading zeros. */
const INTEGER_DIGITS_MAX = 24;
/** RESP3 big numbers are unbounded in the spec; this bounds the work of BigInt(). */
const BIG_NUMBER_DIGITS_MAX = 4096;
const CR = 13;
const LF = 10;
const textDecoder = new TextDecoder();

/** Thrown only inside this module to unwind a parse attempt; never escapes feed(). */
class Incomplete {
  /** Total buffered bytes needed before another attempt can succeed (0 = unknown). */
  constructor(readonly bytesNeeded: number) {}
}

class Malformed {
  constructor(readonly error: RespReplyError) {}
}

export class RespReplyParser {
  private chunks: Uint8Array[] = [];
  private bufferedBytes = 0;
  private bytesNeeded = 0;
  private failure: RespReplyError | undefined;
  // Set during one parse pass only.
  private buffer: Uint8Array = new Uint8Array(0);
  private offset = 0;

  feed(chunk: Uint8Array): RespReplyBatch {
    if (this.failure) return { replies: [], error: this.failure };
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.bufferedBytes += chunk.length;
    }
    // A large bulk string arrives in many chunks; parse again only once it can be complete.
    if (this.bufferedBytes === 0 || this.bufferedBytes < this.bytesNeeded) return { replies: [], error: undefined };
    this.buffer = this.chunks.length === 1 ? this.chunks[0]! : concat(this.chunks, this.bufferedBytes);
    this.offset = 0;
    const replies: RespReply[] = [];
    let consumed = 0;
    this.bytesNeeded = 0;
    try {
      while (this.offset < this.buffer.length) {
        replies.push(this.readReply(0));
        consumed = this.offset;
      }
    } catch (signal) {
      // bytesNeeded counts from the buffer start; the kept rest starts at `consumed`.
      if (signal instanceof Incomplete) this.bytesNeeded = Math.max(0, signal.bytesNeeded - consumed);
      else if (signal instanceof Malformed) this.failure = signal.error;
      else this.failure = { code: 'RESP_BAD_TYPE', message: `reply parser fault: ${String(signal)}` };
    }
    const rest = this.buffer.subarray(consumed);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.bufferedBytes = rest.length;
    this.buffer = new Uint8Array(0);
    if (this.failure) this.chunks = [];
    return { replies, error: this.failure };
  }

  private readReply(depth: number): RespReply {
    if (depth > REPLY_DEPTH_MAX) fail('RESP_TOO_DEEP', `replies nest deeper than ${REPLY_DEPTH_MAX}`);
    const typeByte = this.buffer[this.offset];
    if (typeByte === undefined) throw new Incomplete(0);
    this.offset += 1;
    switch (typeByte) {
      case 0x2b: // '+'
        return { type: 'simple', value: textDecoder.decode(this.readLine()) };
      case 0x2d: // '-'
        return { type: 'error', value: textDecoder.decode(this.readLine()) };
      case 0x3a: // ':'
        return { type: 'integer', value: this.readInteger() };
      case 0x24: { // '$'
        const bytes = this.readBlob();
        return bytes === null ? { type: 'null' } : { type: 'bulk', value: bytes };
      }
      case 0x21: { // '!' blob error
        const bytes = this.readBlob();
        return { type: 'error', value: bytes === null ? '' : textDecoder.decode(bytes) };
      }
      case 0x3d: // '='
        return this.readVerbatim();
      case 0x5f: // '_'
        this.expectEmptyLine('null');
        return { type: 'null' };
      case 0x23: // '#'
        return { type: 'boolean', value: this.readBoolean() };
      case 0x2c: // ','
        return { type: 'double', value: parseDouble(textDecoder.decode(this.readLine())) };
      case 0x28: // '('
        return { type: 'bignumber', value: parseBigInteger(textDecoder.decode(this.readLine()), BIG_NUMBER_DIGITS_MAX) };
      case 0x2a: { // '*'
        const count = this.readCount();
        return count === null ? { type: 'null' } : { type: 'array', value: this.readElements(count, depth) };
      }
      case 0x7e: // '~'
        return { type: 'set', value: this.readElements(this.readCountNotNull(), depth) };
      case 0x3e: // '>'
        return { type: 'push', value: this.readElements(this.readCountNotNull(), depth) };
      case 0x25: // '%'
        return { type: 'map', value: this.readPairs(this.readCountNotNull(), depth) };
      case 0x7c: // '|' attributes describe the next reply; no peerkv command needs them
        this.readPairs(this.readCountNotNull(), depth);
        return this.readReply(depth + 1);
      default:
        return fail('RESP_BAD_TYPE', `unexpected reply type byte 0x${typeByte.toString(16).padStart(2, '0')}`);
    }
  }

  /** Bytes up to CRLF, consuming the CRLF. */
  private readLine(): Uint8Array {
    const start = this.offset;
    const searchEnd = Math.min(this.buffer.length, start + REPLY_LINE_BYTES_MAX + 2);
    const crIndex = this.buffer.indexOf(CR, start);
    if (crIndex === -1 || crIndex >= searchEnd) {
      if (this.buffer.length - start > REPLY_LINE_BYTES_MAX) fail('RESP_LINE_TOO_LONG', `reply line longer than ${REPLY_LINE_BYTES_MAX} bytes`);
      throw new Incomplete(0);
    }
    if (crIndex + 1 >= this.buffer.length) throw new Incomplete(0);
    if (this.buffer[crIndex + 1] !== LF) fail('RESP_BAD_TERMINATOR', 'CR not followed by LF');
    this.offset = crIndex + 2;
    return this.buffer.subarray(start, crIndex);
  }

  private readInteger(): number | bigint {
    const text = textDecoder.decode(this.readLine());
    const big = parseBigInteger(text);
    return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
  }

  /** Aggregate or blob length; null for the RESP2 null (-1). */
  private readCount(): number | null {
    const text = textDecoder.decode(this.readLine());
    if (text === '?') fail('RESP_UNSUPPORTED', 'streamed RESP3 aggregates are not supported');
    if (text === '-1') return null;
    if (!/^\d{1,15}$/.test(text)) fail('RESP_BAD_LENGTH', `bad length '${text.slice(0, 32)}'`);
    return Number(text);
  }

  private readCountNotNull(): number {
    const count = this.readCount();
    if (count === null) fail('RESP_BAD_LENGTH', 'length -1 is only valid for RESP2 bulk strings and arrays');
    return count;
  }

  private readBlob(): Uint8Array | null {
    const length = this.readCount();
    if (length === null) return null;
    if (length > REPLY_BULK_BYTES_MAX) fail('RESP_BAD_LENGTH', `bulk length ${length} exceeds ${REPLY_BULK_BYTES_MAX}`);
    const end = this.offset + length;
    if (end + 2 > this.buffer.length) throw new Incomplete(end + 2);
    if (this.buffer[end] !== CR || this.buffer[end + 1] !== LF) fail('RESP_BAD_TERMINATOR', 'bulk string not followed by CRLF');
    // Copy into a plain Uint8Array (Buffer#slice would be a view): values outlive the buffer.
    const bytes = new Uint8Array(this.buffer.subarray(this.offset, end));
    this.offset = end + 2;
    return bytes;
  }

  private readVerbatim(): RespReply {
    const bytes = this.readBlob();
    if (bytes === null || bytes.length < 4 || bytes[3] !== 0x3a) fail('RESP_BAD_LENGTH', 'verbatim string without a format prefix');
    return { type: 'verbatim', format: textDecoder.decode(bytes.subarray(0, 3)), value: bytes.subarray(4) };
  }

  private readBoolean(): boolean {
    const text = textDecoder.decode(this.readLine());
    if (text === 't') return true;
    if (text === 'f') return false;
    return fail('RESP_BAD_NUMBER', `bad boolean '${text.slice(0, 32)}'`);
  }

  private expectEmptyLine(what: string): void {
    if (this.readLine().length !== 0) fail('RESP_BAD_TERMINATOR', `${what} must be followed by CRLF`);
  }

  private readElements(count: number, depth: number): RespReply[] {
    // No preallocation: a lying header cannot make us reserve memory it did not send.
    const elements: RespReply[] = [];
    for (let index = 0; index < count; index += 1) elements.push(this.readReply(depth + 1));
    return elements;
  }

  private readPairs(count: number, depth: number): [RespReply, RespReply][] {
    const pairs: [RespReply, RespReply][] = [];
    for (let index = 0; index < count; index += 1) {
      const key = this.readReply(depth + 1);
      pairs.push([key, this.readReply(depth + 1)]);
    }
    return pairs;
  }
}

function fail(code: RespReplyErrorCode, message: string): never {
  throw new Malformed({ code, message });
}

function parseBigInteger(text: string, digitsMax = INTEGER_DIGITS_MAX): bigint {
  if (text.length > digitsMax + 1 || !/^[+-]?\d+$/.test(text)) fail('RESP_BAD_NUMBER', `bad integer '${text.slice(0, 32)}'`);
  return BigInt(text);
}

function parseDouble(text: string): number {
  if (text === 'inf' || text === '+inf') return Infinity;
  if (text === '-inf') return -Infinity;
  if (text === 'nan' || text === '-nan') return NaN;
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(text)) fail('RESP_BAD_NUMBER', `bad double '${text.slice(0, 32)}'`);
  return Number(text);
}

function concat(chunks: readonly Uint8Array[], totalBytes: number): Uint8Array {
  const joined = new Uint8Array(totalBytes);
  let position = 0;
  for (const chunk of chunks) {
    joined.set(chunk, position);
    position += chunk.length;
  }
  return joined;
}

/** Text of a reply that carries one (simple, bulk, verbatim, error); undefined otherwise. */
export function replyText(reply: RespReply): string | undefined {
  switch (reply.type) {
    case 'simple':
    case 'error':
      return reply.value;
    case 'bulk':
    case 'verbatim':
      return textDecoder.decode(reply.value);
    default:
      return undefined;
  }
}

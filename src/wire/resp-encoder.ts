// RESP2/RESP3 reply encoding into a growable output buffer. One RespOutput collects
// every reply of a read chunk so the listener answers with a single socket write.
import { Buffer } from 'node:buffer';

export type RespVersion = 2 | 3;

/** Initial scratch size: one per connection, so small; a pipeline of small replies fits. */
export const OUTPUT_INITIAL_BYTES = 4 * 1024;
/**
 * Output up to this size is copied out so the scratch buffer is reused; larger output
 * hands the scratch itself over, so an idle connection never keeps more than this.
 */
export const OUTPUT_COPY_BYTES_MAX = 16 * 1024;

const CRLF = 0x0a0d; // little-endian "\r\n" for writeUInt16LE

/** Growable byte builder; `length` bytes of `buffer` are the encoded output so far. */
export class RespOutput {
  buffer: Buffer;
  length = 0;

  constructor(initialBytes = OUTPUT_INITIAL_BYTES) {
    this.buffer = Buffer.allocUnsafe(initialBytes);
  }

  /** Make room for `extra` more bytes. */
  reserve(extra: number): void {
    const needed = this.length + extra;
    if (needed <= this.buffer.length) return;
    let size = this.buffer.length * 2;
    while (size < needed) size *= 2;
    const grown = Buffer.allocUnsafe(size);
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }

  bytes(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.buffer.set(bytes, this.length);
    this.length += bytes.length;
  }

  /** Latin-1/ASCII text, one byte per character (protocol text, never user data). */
  ascii(text: string): void {
    this.reserve(text.length);
    this.length += this.buffer.write(text, this.length, 'latin1');
  }

  /** UTF-8 text (INFO, CLIENT INFO, error messages that quote user input). */
  utf8(text: string): void {
    this.reserve(Buffer.byteLength(text));
    this.length += this.buffer.write(text, this.length, 'utf8');
  }

  byte(value: number): void {
    this.reserve(1);
    this.buffer[this.length++] = value;
  }

  crlf(): void {
    this.reserve(2);
    this.buffer.writeUInt16LE(CRLF, this.length);
    this.length += 2;
  }

  /** A type byte, a decimal integer and CRLF: every RESP header. */
  header(typeByte: number, value: number): void {
    if (value >= 0 && value < 10) {
      this.reserve(4);
      const buffer = this.buffer;
      buffer[this.length] = typeByte;
      buffer[this.length + 1] = 0x30 + value;
      buffer.writeUInt16LE(CRLF, this.length + 2);
      this.length += 4;
      return;
    }
    this.byte(typeByte);
    this.decimal(value);
    this.crlf();
  }

  decimal(value: number): void {
    if (value < 0 || value > 0xffff_ffff || !Number.isInteger(value)) {
      this.ascii(String(value));
      return;
    }
    let digits = 1;
    for (let rest = value; rest >= 10; rest = Math.floor(rest / 10)) digits++;
    this.reserve(digits);
    const buffer = this.buffer;
    let index = this.length + digits - 1;
    let rest = value;
    do {
      buffer[index--] = 0x30 + (rest % 10);
      rest = Math.floor(rest / 10);
    } while (rest > 0);
    this.length += digits;
  }

  /** The encoded bytes, leaving the builder empty. Safe to hand to socket.write. */
  take(): Buffer {
    const length = this.length;
    this.length = 0;
    if (length <= OUTPUT_COPY_BYTES_MAX) return Buffer.from(this.buffer.subarray(0, length));
    const whole = this.buffer.subarray(0, length);
    this.buffer = Buffer.allocUnsafe(OUTPUT_INITIAL_BYTES);
    return whole;
  }

  /** Drop everything after `length` (undoes a partly written reply). */
  truncate(length: number): void {
    this.length = length;
  }

  /** A copy of bytes [start, end). */
  slice(start: number, end: number): Buffer {
    return Buffer.from(this.buffer.subarray(start, end));
  }
}

const PLUS = 0x2b;
const MINUS = 0x2d;
const COLON = 0x3a;
const DOLLAR = 0x24;
const STAR = 0x2a;
const PERCENT = 0x25;
const GREATER = 0x3e;
const COMMA = 0x2c;
const HASH = 0x23;

const OK_REPLY = Buffer.from('+OK\r\n');
const NULL_RESP2 = Buffer.from('$-1\r\n');
const NULL_ARRAY_RESP2 = Buffer.from('*-1\r\n');
const NULL_RESP3 = Buffer.from('_\r\n');

export function appendOk(out: RespOutput): void {
  out.bytes(OK_REPLY);
}

/** `+text`; text must not contain CR or LF. */
export function appendSimple(out: RespOutput, text: string): void {
  out.byte(PLUS);
  out.utf8(text);
  out.crlf();
}

/** `-CODE message`; message is sanitised so a newline from user input cannot split the reply. */
export function appendError(out: RespOutput, message: string): void {
  out.byte(MINUS);
  out.utf8(/[\r\n]/.test(message) ? message.replace(/[\r\n]+/g, ' ') : message);
  out.crlf();
}

export function appendInteger(out: RespOutput, value: number): void {
  out.header(COLON, value);
}

export function appendBulk(out: RespOutput, value: Uint8Array): void {
  out.header(DOLLAR, value.length);
  out.bytes(value);
  out.crlf();
}

export function appendBulkText(out: RespOutput, text: string): void {
  out.header(DOLLAR, Buffer.byteLength(text));
  out.utf8(text);
  out.crlf();
}

/** Null bulk: `$-1` in RESP2, `_` in RESP3. */
export function appendNull(out: RespOutput, version: RespVersion): void {
  out.bytes(version === 3 ? NULL_RESP3 : NULL_RESP2);
}

/** Null array: `*-1` in RESP2, `_` in RESP3. */
export function appendNullArray(out: RespOutput, version: RespVersion): void {
  out.bytes(version === 3 ? NULL_RESP3 : NULL_ARRAY_RESP2);
}

/** Bulk value or null. */
export function appendBulkOrNull(out: RespOutput, value: Uint8Array | null | undefined, version: RespVersion): void {
  if (value === null || value === undefined) appendNull(out, version);
  else appendBulk(out, value);
}

/** Header of an array of `count` elements; the caller appends the elements. */
export function appendArrayHeader(out: RespOutput, count: number): void {
  out.header(STAR, count);
}

/** Header of a map of `pairs` key/value pairs: `%` in RESP3, a flat array of 2*pairs in RESP2. */
export function appendMapHeader(out: RespOutput, pairs: number, version: RespVersion): void {
  if (version === 3) out.header(PERCENT, pairs);
  else out.header(STAR, pairs * 2);
}

/** Header of an out-of-band push (pub/sub message): `>` in RESP3, an array in RESP2. */
export function appendPushHeader(out: RespOutput, count: number, version: RespVersion): void {
  out.header(version === 3 ? GREATER : STAR, count);
}

/** A double: `,` in RESP3, a bulk string in RESP2 (as Redis does). */
export function appendDouble(out: RespOutput, value: number, version: RespVersion): void {
  const text = Number.isFinite(value) ? String(value) : value > 0 ? 'inf' : value < 0 ? '-inf' : 'nan';
  if (version === 3) {
    out.byte(COMMA);
    out.ascii(text);
    out.crlf();
  } else {
    appendBulkText(out, text);
  }
}

/** A boolean: `#t`/`#f` in RESP3, integer 1/0 in RESP2. */
export function appendBoolean(out: RespOutput, value: boolean, version: RespVersion): void {
  if (version === 3) {
    out.byte(HASH);
    out.byte(value ? 0x74 : 0x66);
    out.crlf();
  } else {
    appendInteger(out, value ? 1 : 0);
  }
}

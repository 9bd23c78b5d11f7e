// DUMP payloads in Redis's own format (rdb.c), so keys move between redis-server and
// peerkv with DUMP and RESTORE: [object type][object][RDB version u16 LE][CRC-64 u64 LE of
// all before it]. Written: the encodings Redis 7.0 writes or loads for every type, with
// strings uncompressed (string, list as QUICKLIST_2 of listpacks, SET, ZSET_2, HASH; Redis
// converts small ones to its compact encodings as it loads them). Read: those and what
// older and newer Redis writes for the same types (ziplists, intsets, listpacks, quicklists,
// LZF strings). Streams and module types are not read (RDB_TYPE_STREAM_*: bad format).
import { Buffer } from 'node:buffer';
import { crc64 } from './rdb-crc64.js';
import { lzfDecompress } from './rdb-lzf.js';
import { canonicalInteger, decodeIntset, decodeListpack, decodeZiplist, encodeListpack, listpackEntryBytes } from './rdb-packed.js';

/** RDB version of Redis 7.0: written in payloads; payloads of a later version are refused, as Redis does. */
export const RDB_VERSION = 10;
const FOOTER_BYTES = 10;

/** Object type numbers (rdb.h). */
export const RdbType = {
  String: 0,
  List: 1,
  Set: 2,
  ZSet: 3,
  Hash: 4,
  ZSet2: 5,
  ListZiplist: 10,
  SetIntset: 11,
  ZSetZiplist: 12,
  HashZiplist: 13,
  ListQuicklist: 14,
  HashListpack: 16,
  ZSetListpack: 17,
  ListQuicklist2: 18,
} as const;

/** Quicklist node containers in RDB_TYPE_LIST_QUICKLIST_2. */
const CONTAINER_PLAIN = 1;
const CONTAINER_PACKED = 2;
/** A quicklist node's listpack is closed past this many bytes (Redis's list-max-listpack-size -2: 8 kB). */
const LIST_NODE_BYTES_MAX = 8192;
/** ... or this many elements, which keeps the entry count field exact. */
const LIST_NODE_ENTRIES_MAX = 4096;

/** A key's value as a payload carries it. Collections are non-empty; members and fields distinct. */
export type DumpValue =
  | { readonly type: 'string'; readonly value: Uint8Array }
  | { readonly type: 'list'; readonly elements: readonly Uint8Array[] }
  | { readonly type: 'set'; readonly members: readonly Uint8Array[] }
  | { readonly type: 'zset'; readonly entries: readonly { readonly member: Uint8Array; readonly score: number }[] }
  | { readonly type: 'hash'; readonly fields: readonly (readonly [Uint8Array, Uint8Array])[] };

/** Why a payload was refused: Redis's two RESTORE errors. */
export type DumpDecodeError = 'checksum' | 'format';

// ---- Writing ----

class PayloadWriter {
  private chunks: Uint8Array[] = [];
  private size = 0;

  bytes(bytes: Uint8Array): void {
    this.chunks.push(bytes);
    this.size += bytes.length;
  }

  byte(value: number): void {
    this.bytes(Uint8Array.of(value));
  }

  /** rdbSaveLen: 6-bit, 14-bit, 32-bit or 64-bit big-endian forms. */
  length(value: number): void {
    if (value < 64) this.byte(value);
    else if (value < 16384) this.bytes(Uint8Array.of((value >> 8) | 0x40, value & 0xff));
    else if (value <= 0xffffffff) {
      const bytes = new Uint8Array(5);
      bytes[0] = 0x80;
      new DataView(bytes.buffer).setUint32(1, value);
      this.bytes(bytes);
    } else {
      const bytes = new Uint8Array(9);
      bytes[0] = 0x81;
      new DataView(bytes.buffer).setBigUint64(1, BigInt(value));
      this.bytes(bytes);
    }
  }

  /** rdbSaveRawString without compression: small integers in their int8/16/32 forms, else length and bytes. */
  string(value: Uint8Array): void {
    if (value.length <= 11) {
      const integer = canonicalInteger(value);
      if (integer !== undefined && integer >= -(2n ** 31n) && integer < 2n ** 31n) {
        const number = Number(integer);
        if (number >= -128 && number <= 127) this.bytes(Uint8Array.of(0xc0, number & 0xff));
        else if (number >= -32768 && number <= 32767) this.bytes(Uint8Array.of(0xc1, number & 0xff, (number >> 8) & 0xff));
        else this.bytes(Uint8Array.of(0xc2, number & 0xff, (number >> 8) & 0xff, (number >> 16) & 0xff, (number >>> 24) & 0xff));
        return;
      }
    }
    this.length(value.length);
    this.bytes(value);
  }

  binaryDouble(value: number): void {
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setFloat64(0, value, true);
    this.bytes(bytes);
  }

  /** The payload: what was written, the RDB version and the checksum. */
  finish(): Uint8Array {
    const payload = new Uint8Array(this.size + FOOTER_BYTES);
    let at = 0;
    for (const chunk of this.chunks) {
      payload.set(chunk, at);
      at += chunk.length;
    }
    const view = new DataView(payload.buffer);
    view.setUint16(at, RDB_VERSION, true);
    view.setBigUint64(at + 2, crc64(payload.subarray(0, at + 2)), true);
    return payload;
  }
}

/** Elements of a list cut into quicklist nodes of at most LIST_NODE_BYTES_MAX (an element bigger than that: a node of its own). */
function listNodes(elements: readonly Uint8Array[]): Uint8Array[][] {
  const nodes: Uint8Array[][] = [];
  let node: Uint8Array[] = [];
  let bytes = 0;
  for (const element of elements) {
    const size = listpackEntryBytes(element);
    if (node.length > 0 && (bytes + size > LIST_NODE_BYTES_MAX || node.length >= LIST_NODE_ENTRIES_MAX)) {
      nodes.push(node);
      node = [];
      bytes = 0;
    }
    node.push(element);
    bytes += size;
  }
  if (node.length > 0) nodes.push(node);
  return nodes;
}

/** The DUMP payload of a value. */
export function encodeDumpPayload(value: DumpValue): Uint8Array {
  const writer = new PayloadWriter();
  switch (value.type) {
    case 'string':
      writer.byte(RdbType.String);
      writer.string(value.value);
      break;
    case 'list': {
      writer.byte(RdbType.ListQuicklist2);
      const nodes = listNodes(value.elements);
      writer.length(nodes.length);
      for (const node of nodes) {
        writer.length(CONTAINER_PACKED);
        const listpack = encodeListpack(node);
        writer.length(listpack.length);
        writer.bytes(listpack);
      }
      break;
    }
    case 'set':
      writer.byte(RdbType.Set);
      writer.length(value.members.length);
      for (const member of value.members) writer.string(member);
      break;
    case 'zset':
      writer.byte(RdbType.ZSet2);
      writer.length(value.entries.length);
      for (const entry of value.entries) {
        writer.string(entry.member);
        writer.binaryDouble(entry.score);
      }
      break;
    case 'hash':
      writer.byte(RdbType.Hash);
      writer.length(value.fields.length);
      for (const [field, fieldValue] of value.fields) {
        writer.string(field);
        writer.string(fieldValue);
      }
      break;
  }
  return writer.finish();
}

// ---- Reading ----

/** Thrown inside the reader only; decodeDumpPayload turns it into 'format'. */
class MalformedPayload extends Error {}

class PayloadReader {
  private at = 0;

  constructor(private readonly payload: Uint8Array) {}

  get done(): boolean {
    return this.at === this.payload.length;
  }

  byte(): number {
    if (this.at >= this.payload.length) throw new MalformedPayload();
    return this.payload[this.at++]!;
  }

  take(count: number): Uint8Array {
    if (count > this.payload.length - this.at) throw new MalformedPayload();
    const bytes = this.payload.subarray(this.at, this.at + count);
    this.at += count;
    return bytes;
  }

  /** rdbLoadLenByRef: a length, or with `encoded` the special-encoding number of a string. */
  lengthOrEncoding(): { value: number; encoded: boolean } {
    const first = this.byte();
    const form = first >> 6;
    if (form === 3) return { value: first & 0x3f, encoded: true };
    if (form === 0) return { value: first & 0x3f, encoded: false };
    if (form === 1) return { value: ((first & 0x3f) << 8) | this.byte(), encoded: false };
    if (first === 0x80) return { value: view(this.take(4)).getUint32(0), encoded: false };
    if (first === 0x81) {
      const value = view(this.take(8)).getBigUint64(0);
      if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new MalformedPayload();
      return { value: Number(value), encoded: false };
    }
    throw new MalformedPayload();
  }

  length(): number {
    const { value, encoded } = this.lengthOrEncoding();
    if (encoded) throw new MalformedPayload();
    return value;
  }

  /** A count of elements that each take at least one byte: bounded by what is left. */
  count(perElementBytes: number): number {
    const value = this.length();
    if (value * perElementBytes > this.payload.length - this.at) throw new MalformedPayload();
    return value;
  }

  /** rdbGenericLoadStringObject: int8/16/32 forms as decimal text, LZF, or plain bytes. */
  string(): Uint8Array {
    const { value, encoded } = this.lengthOrEncoding();
    if (!encoded) return this.take(value);
    if (value <= 2) {
      const size = 1 << value;
      const bytes = this.take(size);
      const reader = view(bytes);
      const number = size === 1 ? reader.getInt8(0) : size === 2 ? reader.getInt16(0, true) : reader.getInt32(0, true);
      return new TextEncoder().encode(String(number));
    }
    if (value === 3) {
      const compressedLength = this.length();
      const length = this.length();
      const expanded = lzfDecompress(this.take(compressedLength), length);
      if (expanded === undefined) throw new MalformedPayload();
      return expanded;
    }
    throw new MalformedPayload();
  }

  /** rdbLoadDoubleValue (RDB_TYPE_ZSET): a length byte, 253 NaN, 254 +inf, 255 -inf, else text. */
  textDouble(): number {
    const length = this.byte();
    if (length === 253) return Number.NaN;
    if (length === 254) return Number.POSITIVE_INFINITY;
    if (length === 255) return Number.NEGATIVE_INFINITY;
    return parseScoreText(this.take(length));
  }

  binaryDouble(): number {
    return view(this.take(8)).getFloat64(0, true);
  }
}

/** A DataView of exactly these bytes (a Buffer's slice() is a view of its pool, not a copy). */
function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
}

/** A score's text as Redis stores it in packed encodings and old RDBs; NaN when not a number. */
function parseScoreText(bytes: Uint8Array): number {
  const text = new TextDecoder().decode(bytes).trim();
  if (/^[+-]?inf(inity)?$/i.test(text)) return text.startsWith('-') ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  return text === '' ? Number.NaN : Number(text);
}

function must<T>(value: T | undefined): T {
  if (value === undefined) throw new MalformedPayload();
  return value;
}

/** Pairs of a flat element list (hash field/value, zset member/score); odd counts are malformed. */
function pairs(elements: readonly Uint8Array[]): [Uint8Array, Uint8Array][] {
  if (elements.length % 2 !== 0) throw new MalformedPayload();
  const result: [Uint8Array, Uint8Array][] = [];
  for (let index = 0; index < elements.length; index += 2) result.push([elements[index]!, elements[index + 1]!]);
  return result;
}

function byteKey(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1');
}

/** Redis refuses payloads with repeated set members, hash fields or zset members (a sanitised load). */
function assertDistinct(names: Iterable<Uint8Array>): void {
  const seen = new Set<string>();
  for (const name of names) {
    const key = byteKey(name);
    if (seen.has(key)) throw new MalformedPayload();
    seen.add(key);
  }
}

function zsetValue(entries: { member: Uint8Array; score: number }[]): DumpValue {
  if (entries.some((entry) => Number.isNaN(entry.score))) throw new MalformedPayload();
  assertDistinct(entries.map((entry) => entry.member));
  return { type: 'zset', entries };
}

function hashValue(fields: [Uint8Array, Uint8Array][]): DumpValue {
  assertDistinct(fields.map(([field]) => field));
  return { type: 'hash', fields };
}

function readObject(reader: PayloadReader, type: number): DumpValue {
  switch (type) {
    case RdbType.String:
      return { type: 'string', value: reader.string() };
    case RdbType.List: {
      const count = reader.count(1);
      const elements: Uint8Array[] = [];
      for (let index = 0; index < count; index++) elements.push(reader.string());
      return { type: 'list', elements };
    }
    case RdbType.ListZiplist:
      return { type: 'list', elements: must(decodeZiplist(reader.string())) };
    case RdbType.ListQuicklist:
    case RdbType.ListQuicklist2: {
      const count = reader.count(1);
      const elements: Uint8Array[] = [];
      for (let index = 0; index < count; index++) {
        const container = type === RdbType.ListQuicklist2 ? reader.length() : CONTAINER_PACKED;
        const blob = reader.string();
        if (container === CONTAINER_PLAIN) elements.push(blob);
        else if (container === CONTAINER_PACKED) elements.push(...must(type === RdbType.ListQuicklist2 ? decodeListpack(blob) : decodeZiplist(blob)));
        else throw new MalformedPayload();
      }
      return { type: 'list', elements };
    }
    case RdbType.Set: {
      const count = reader.count(1);
      const members: Uint8Array[] = [];
      for (let index = 0; index < count; index++) members.push(reader.string());
      assertDistinct(members);
      return { type: 'set', members };
    }
    case RdbType.SetIntset: {
      const members = must(decodeIntset(reader.string()));
      assertDistinct(members);
      return { type: 'set', members };
    }
    case RdbType.ZSet:
    case RdbType.ZSet2: {
      const count = reader.count(2);
      const entries: { member: Uint8Array; score: number }[] = [];
      for (let index = 0; index < count; index++) {
        const member = reader.string();
        entries.push({ member, score: type === RdbType.ZSet2 ? reader.binaryDouble() : reader.textDouble() });
      }
      return zsetValue(entries);
    }
    case RdbType.ZSetZiplist:
    case RdbType.ZSetListpack: {
      const elements = must(type === RdbType.ZSetListpack ? decodeListpack(reader.string()) : decodeZiplist(reader.string()));
      return zsetValue(pairs(elements).map(([member, score]) => ({ member, score: parseScoreText(score) })));
    }
    case RdbType.Hash: {
      const count = reader.count(2);
      const fields: [Uint8Array, Uint8Array][] = [];
      for (let index = 0; index < count; index++) fields.push([reader.string(), reader.string()]);
      return hashValue(fields);
    }
    case RdbType.HashZiplist:
      return hashValue(pairs(must(decodeZiplist(reader.string()))));
    case RdbType.HashListpack:
      return hashValue(pairs(must(decodeListpack(reader.string()))));
    default:
      throw new MalformedPayload(); // streams, modules, zipmaps: not loaded
  }
}

function isEmpty(value: DumpValue): boolean {
  switch (value.type) {
    case 'string':
      return false;
    case 'list':
      return value.elements.length === 0;
    case 'set':
      return value.members.length === 0;
    case 'zset':
      return value.entries.length === 0;
    case 'hash':
      return value.fields.length === 0;
  }
}

/** True when the footer names an RDB version this build loads and the checksum matches (verifyDumpPayload). */
export function verifyDumpPayload(payload: Uint8Array): boolean {
  if (payload.length < FOOTER_BYTES) return false;
  const footer = payload.length - FOOTER_BYTES;
  const version = payload[footer]! | (payload[footer + 1]! << 8);
  if (version > RDB_VERSION) return false;
  const view = new DataView(payload.buffer, payload.byteOffset, payload.length);
  return view.getBigUint64(footer + 2, true) === crc64(payload.subarray(0, footer + 2));
}

/** The value a payload holds; an error for a bad footer or a malformed or empty object. Never throws. */
export function decodeDumpPayload(payload: Uint8Array): DumpValue | DumpDecodeError {
  if (!verifyDumpPayload(payload)) return 'checksum';
  const reader = new PayloadReader(payload.subarray(0, payload.length - FOOTER_BYTES));
  try {
    const value = readObject(reader, reader.byte());
    // Redis ignores bytes after the object; an empty collection it refuses.
    return isEmpty(value) ? 'format' : value;
  } catch (error) {
    if (error instanceof MalformedPayload) return 'format';
    throw error;
  }
}

// The packed blobs inside RDB objects: listpacks (Redis 7.0's small lists, hashes and
// sorted sets, and quicklist nodes), ziplists (the same before 7.0) and intsets (small
// integer sets). Decoders return every entry as bytes (integers as their decimal text,
// which is what Redis hands back for them) and undefined for anything malformed; they
// never throw. Only listpacks are written: peerkv's DUMP stores lists in them.

/** Listpack entry count field value meaning "count the entries". */
const LISTPACK_COUNT_UNKNOWN = 0xffff;
const LISTPACK_HEADER_BYTES = 6;
const PACKED_END = 0xff;
const ZIPLIST_HEADER_BYTES = 10;
const INT64_DIGITS_MAX = 20;

const ascii = (text: string): Uint8Array => new TextEncoder().encode(text);

/** Little-endian unsigned read of `size` (<= 4) bytes. */
function readUnsignedLE(bytes: Uint8Array, at: number, size: number): number {
  let value = 0;
  for (let index = size - 1; index >= 0; index--) value = value * 256 + bytes[at + index]!;
  return value;
}

/** Little-endian signed integer of `size` bytes (2, 3, 4 or 8) as decimal text. */
function signedLEText(bytes: Uint8Array, at: number, size: number): Uint8Array {
  if (size === 8) return ascii(new DataView(bytes.buffer, bytes.byteOffset + at, 8).getBigInt64(0, true).toString());
  const unsigned = readUnsignedLE(bytes, at, size);
  const limit = 2 ** (size * 8);
  return ascii(String(unsigned >= limit / 2 ? unsigned - limit : unsigned));
}

/**
 * The value of bytes if they are an integer as Redis's string2ll accepts it for a compact
 * encoding (canonical decimal: no sign but '-', no leading zero, no "-0", within int64).
 */
export function canonicalInteger(bytes: Uint8Array): bigint | undefined {
  const length = bytes.length;
  if (length === 0 || length > INT64_DIGITS_MAX) return undefined;
  const negative = bytes[0] === 0x2d;
  const first = negative ? 1 : 0;
  if (first >= length) return undefined;
  if (bytes[first] === 0x30) return length === 1 ? 0n : undefined;
  for (let index = first; index < length; index++) {
    const byte = bytes[index]!;
    if (byte < 0x30 || byte > 0x39) return undefined;
  }
  const value = BigInt(new TextDecoder().decode(bytes));
  return value >= -(2n ** 63n) && value < 2n ** 63n ? value : undefined;
}

// ---- Listpack ----

/** Bytes a listpack back-length takes for an entry of `length` bytes. */
function backLengthBytes(length: number): number {
  if (length <= 127) return 1;
  if (length < 16383) return 2;
  if (length < 2097151) return 3;
  if (length < 268435455) return 4;
  return 5;
}

function writeBackLength(target: number[], length: number): void {
  const size = backLengthBytes(length);
  // Most significant group first; every byte but the first has the high bit set.
  for (let group = size - 1; group >= 0; group--) {
    const bits = Math.floor(length / 2 ** (7 * group)) & 127;
    target.push(group === size - 1 ? bits : bits | 128);
  }
}

function pushLE(target: number[], value: bigint, size: number): void {
  let rest = BigInt.asUintN(size * 8, value);
  for (let index = 0; index < size; index++) {
    target.push(Number(rest & 0xffn));
    rest >>= 8n;
  }
}

/** One listpack entry (encoding, data, back-length) as Redis's lpInsert writes it. */
function listpackEntry(element: Uint8Array): number[] {
  const entry: number[] = [];
  const integer = canonicalInteger(element);
  if (integer !== undefined) {
    if (integer >= 0n && integer <= 127n) entry.push(Number(integer));
    else if (integer >= -4096n && integer <= 4095n) {
      const bits = Number(BigInt.asUintN(13, integer));
      entry.push((bits >> 8) | 0xc0, bits & 0xff);
    } else if (integer >= -32768n && integer <= 32767n) {
      entry.push(0xf1);
      pushLE(entry, integer, 2);
    } else if (integer >= -8388608n && integer <= 8388607n) {
      entry.push(0xf2);
      pushLE(entry, integer, 3);
    } else if (integer >= -2147483648n && integer <= 2147483647n) {
      entry.push(0xf3);
      pushLE(entry, integer, 4);
    } else {
      entry.push(0xf4);
      pushLE(entry, integer, 8);
    }
  } else {
    const length = element.length;
    if (length < 64) entry.push(length | 0x80);
    else if (length < 4096) entry.push((length >> 8) | 0xe0, length & 0xff);
    else {
      entry.push(0xf0);
      pushLE(entry, BigInt(length), 4);
    }
    for (const byte of element) entry.push(byte);
  }
  writeBackLength(entry, entry.length);
  return entry;
}

/** A listpack of these elements. */
export function encodeListpack(elements: readonly Uint8Array[]): Uint8Array {
  const body: number[][] = elements.map(listpackEntry);
  const total = LISTPACK_HEADER_BYTES + body.reduce((sum, entry) => sum + entry.length, 0) + 1;
  const bytes = new Uint8Array(total);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, total, true);
  view.setUint16(4, Math.min(elements.length, LISTPACK_COUNT_UNKNOWN), true);
  let at = LISTPACK_HEADER_BYTES;
  for (const entry of body) {
    bytes.set(entry, at);
    at += entry.length;
  }
  bytes[at] = PACKED_END;
  return bytes;
}

/** The bytes one listpack element takes before its back-length, written as a list would be (for node sizing). */
export function listpackEntryBytes(element: Uint8Array): number {
  return listpackEntry(element).length;
}

/** Every element of a listpack, or undefined when it is malformed. */
export function decodeListpack(bytes: Uint8Array): Uint8Array[] | undefined {
  if (bytes.length < LISTPACK_HEADER_BYTES + 1 || readUnsignedLE(bytes, 0, 4) !== bytes.length) return undefined;
  const count = readUnsignedLE(bytes, 4, 2);
  const elements: Uint8Array[] = [];
  let at = LISTPACK_HEADER_BYTES;
  const end = bytes.length - 1;
  while (at < end) {
    const first = bytes[at]!;
    let length: number;
    let element: Uint8Array;
    if ((first & 0x80) === 0) {
      length = 1;
      element = ascii(String(first));
    } else if ((first & 0xc0) === 0x80) {
      length = 1 + (first & 0x3f);
      element = bytes.subarray(at + 1, at + length);
    } else if ((first & 0xe0) === 0xc0) {
      if (at + 2 > end) return undefined;
      const bits = ((first & 0x1f) << 8) | bytes[at + 1]!;
      length = 2;
      element = ascii(String(bits >= 4096 ? bits - 8192 : bits));
    } else if ((first & 0xf0) === 0xe0) {
      if (at + 2 > end) return undefined;
      length = 2 + (((first & 0x0f) << 8) | bytes[at + 1]!);
      element = bytes.subarray(at + 2, at + length);
    } else if (first === 0xf0) {
      if (at + 5 > end) return undefined;
      length = 5 + readUnsignedLE(bytes, at + 1, 4);
      element = bytes.subarray(at + 5, Math.min(at + length, end));
    } else if (first >= 0xf1 && first <= 0xf4) {
      const size = [2, 3, 4, 8][first - 0xf1]!;
      length = 1 + size;
      if (at + length > end) return undefined;
      element = signedLEText(bytes, at + 1, size);
    } else {
      return undefined;
    }
    if (at + length > end) return undefined;
    elements.push(Uint8Array.from(element));
    at += length + backLengthBytes(length);
  }
  if (at !== end || bytes[end] !== PACKED_END) return undefined;
  if (count !== LISTPACK_COUNT_UNKNOWN && count !== elements.length) return undefined;
  return elements;
}

// ---- Ziplist (RDB version 9 and before) ----

/** Every element of a ziplist, or undefined when it is malformed. */
export function decodeZiplist(bytes: Uint8Array): Uint8Array[] | undefined {
  if (bytes.length < ZIPLIST_HEADER_BYTES + 1 || readUnsignedLE(bytes, 0, 4) !== bytes.length) return undefined;
  const count = readUnsignedLE(bytes, 8, 2);
  const elements: Uint8Array[] = [];
  const end = bytes.length - 1;
  let at = ZIPLIST_HEADER_BYTES;
  while (at < end) {
    const previous = bytes[at]!;
    if (previous === 0xff) return undefined;
    at += previous < 254 ? 1 : 5;
    if (at >= end) return undefined;
    const encoding = bytes[at]!;
    const kind = encoding >> 6;
    let element: Uint8Array;
    if (kind < 3) {
      let length: number;
      let header: number;
      if (kind === 0) [length, header] = [encoding & 0x3f, 1];
      else if (kind === 1) [length, header] = [((encoding & 0x3f) << 8) | (bytes[at + 1] ?? 0), 2];
      else [length, header] = [((bytes[at + 1] ?? 0) * 2 ** 24) + (((bytes[at + 2] ?? 0) << 16) | ((bytes[at + 3] ?? 0) << 8) | (bytes[at + 4] ?? 0)), 5];
      if (at + header + length > end) return undefined;
      element = bytes.subarray(at + header, at + header + length);
      at += header + length;
    } else if (encoding >= 0xf1 && encoding <= 0xfd) {
      element = ascii(String((encoding & 0x0f) - 1));
      at += 1;
    } else {
      const size = encoding === 0xc0 ? 2 : encoding === 0xd0 ? 4 : encoding === 0xe0 ? 8 : encoding === 0xf0 ? 3 : encoding === 0xfe ? 1 : 0;
      if (size === 0 || at + 1 + size > end) return undefined;
      element = size === 1 ? ascii(String((bytes[at + 1]! << 24) >> 24)) : signedLEText(bytes, at + 1, size);
      at += 1 + size;
    }
    elements.push(Uint8Array.from(element));
  }
  if (at !== end || bytes[end] !== PACKED_END) return undefined;
  if (count !== 0xffff && count !== elements.length) return undefined;
  return elements;
}

// ---- Intset ----

/** The members of an intset as decimal text, or undefined when it is malformed. */
export function decodeIntset(bytes: Uint8Array): Uint8Array[] | undefined {
  if (bytes.length < 8) return undefined;
  const width = readUnsignedLE(bytes, 0, 4);
  const count = readUnsignedLE(bytes, 4, 4);
  if ((width !== 2 && width !== 4 && width !== 8) || bytes.length !== 8 + width * count) return undefined;
  const members: Uint8Array[] = [];
  for (let index = 0; index < count; index++) members.push(signedLEText(bytes, 8 + index * width, width));
  return members;
}

// Binary layout of records in LMDB. This is the hot path of every write and read, so it
// is hand-written over plain Uint8Arrays (no JSON, no msgpack, no Buffer methods) and
// allocates one view into a shared slab per encoded key or value (see allocate).
//
// Stored key:   [bucket u16 BE][key bytes]               when key.length <= INLINE_KEY_BYTES_MAX
//               [bucket u16 BE][key prefix][digest 16]   for longer keys (LMDB keys max ~2 KB)
// LMDB sorts keys bytewise, so records lie in (bucket, key) order and a bucket range is
// one cursor range. A long key's stored form is longer than any inline one, so the two
// never collide; its full bytes live in the value. Long keys sharing their whole prefix
// sort among themselves by digest, not by key: readers that need exact key order re-sort
// the records of a bucket that holds a long key (see isLongKey).
//
// Stored value: [format u8][flags u8][wallMs f64 LE][logical u32 LE][origin 16 bytes]
//               [expiresAtMs f64 LE]([key length u32 LE][key bytes] if FLAG_LONG_KEY)[value]
import { createHash } from 'node:crypto';
import { KEY_BUCKET_COUNT } from '../core/bytes.js';
import { rowBucket } from '../core/rows.js';
import { NODE_ID_BYTES, readNodeId, writeNodeId } from '../core/node-id-bytes.js';
import type { VersionedRecord } from '../core/types.js';

/** 2: keys are row keys (rows.ts). 1 (strings only) is upgraded on open (format-upgrade.ts). */
export const RECORD_FORMAT_VERSION = 2;

/** Keys up to this length are stored verbatim; longer ones as prefix + digest. */
export const INLINE_KEY_BYTES_MAX = 1024;
const BUCKET_BYTES = 2;
const KEY_DIGEST_BYTES = 16;
const LONG_STORED_KEY_BYTES = BUCKET_BYTES + INLINE_KEY_BYTES_MAX + KEY_DIGEST_BYTES;

const FLAG_TOMBSTONE = 1;
const FLAG_LONG_KEY = 2;
const FLAGS_KNOWN = FLAG_TOMBSTONE | FLAG_LONG_KEY;

const ORIGIN_BYTES = NODE_ID_BYTES;
const OFFSET_FLAGS = 1;
const OFFSET_WALL_MS = 2;
const OFFSET_LOGICAL = 10;
const OFFSET_ORIGIN = 14;
const OFFSET_EXPIRES_AT_MS = OFFSET_ORIGIN + ORIGIN_BYTES;
/** Bytes before the (long key and) value bytes. */
export const RECORD_HEADER_BYTES = OFFSET_EXPIRES_AT_MS + 8;
const KEY_LENGTH_BYTES = 4;

/** A decoded stored key. `key` is undefined for a long key: its bytes are in the value. */
export interface StoredKey {
  readonly bucket: number;
  readonly key: Uint8Array | undefined;
}

/** Records' bytes up to this size live in a shared slab (one ArrayBuffer for many). */
const SLAB_COPY_BYTES_MAX = 4 * 1024;
const SLAB_BYTES = 64 * 1024;
let slab = new ArrayBuffer(SLAB_BYTES);
let slabUsed = 0;

/**
 * `length` bytes of their own as a plain Uint8Array. Small ones are views into a shared
 * slab: V8 gives a Uint8Array of more than 64 bytes an ArrayBuffer of its own, ~600 ns
 * against ~45 for a view, and Buffer.allocUnsafe's pool ~150. A slab stays alive while
 * anything allocated from it does (as Node's Buffer pool does); lmdb-js holds a value it
 * was given to put until the write is done.
 */
function allocate(length: number): Uint8Array {
  if (length > SLAB_COPY_BYTES_MAX) return new Uint8Array(length);
  if (slabUsed + length > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES);
    slabUsed = 0;
  }
  const bytes = new Uint8Array(slab, slabUsed, length);
  slabUsed = (slabUsed + length + 7) & ~7; // keep views 8-byte aligned
  return bytes;
}

/** Eight bytes to read or write a float64 through, in the machine's byte order. */
const float64Scratch = new Float64Array(1);
const float64ScratchBytes = new Uint8Array(float64Scratch.buffer);
const MACHINE_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * The little-endian float64 at bytes[offset]. Read byte by byte, not through a Buffer or a
 * DataView: wrapping a plain Uint8Array (what a scan hands over) in either allocates one
 * per record.
 */
function readFloat64LE(bytes: Uint8Array, offset: number): number {
  for (let index = 0; index < 8; index++) float64ScratchBytes[MACHINE_LITTLE_ENDIAN ? index : 7 - index] = bytes[offset + index]!;
  return float64Scratch[0]!;
}

function readUint32LE(bytes: Uint8Array, offset: number): number {
  return (bytes[offset]! | (bytes[offset + 1]! << 8) | (bytes[offset + 2]! << 16)) + bytes[offset + 3]! * 0x1000000;
}

function writeFloat64LE(bytes: Uint8Array, offset: number, value: number): void {
  float64Scratch[0] = value;
  for (let index = 0; index < 8; index++) bytes[offset + index] = float64ScratchBytes[MACHINE_LITTLE_ENDIAN ? index : 7 - index]!;
}

function writeUint32LE(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = value & 0xff;
  bytes[offset + 1] = (value >>> 8) & 0xff;
  bytes[offset + 2] = (value >>> 16) & 0xff;
  bytes[offset + 3] = (value >>> 24) & 0xff;
}

/** A plain Uint8Array view (not a Buffer), so records compare equal whatever store made them. */
function view(bytes: Uint8Array, start: number, end: number): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset + start, end - start);
}

export function isLongKey(key: Uint8Array): boolean {
  return key.length > INLINE_KEY_BYTES_MAX;
}

/** The LMDB key of a record key: its bucket first, so buckets are contiguous ranges. */
export function encodeStoredKey(key: Uint8Array): Uint8Array {
  const bucket = rowBucket(key);
  if (!isLongKey(key)) {
    const stored = allocate(BUCKET_BYTES + key.length);
    stored[0] = bucket >>> 8;
    stored[1] = bucket & 0xff;
    stored.set(key, BUCKET_BYTES);
    return stored;
  }
  const stored = Buffer.allocUnsafe(LONG_STORED_KEY_BYTES);
  stored[0] = bucket >>> 8;
  stored[1] = bucket & 0xff;
  stored.set(key.subarray(0, INLINE_KEY_BYTES_MAX), BUCKET_BYTES);
  createHash('sha256').update(key).digest().copy(stored, BUCKET_BYTES + INLINE_KEY_BYTES_MAX, 0, KEY_DIGEST_BYTES);
  return stored;
}

/** The smallest stored key of a bucket (the empty key of that bucket): an inclusive range bound. */
export function encodeBucketStart(bucket: number): Buffer {
  if (!(Number.isInteger(bucket) && bucket >= 0 && bucket < KEY_BUCKET_COUNT)) throw new Error(`bucket out of range: ${bucket}`);
  const start = Buffer.allocUnsafe(BUCKET_BYTES);
  start[0] = bucket >>> 8;
  start[1] = bucket & 0xff;
  return start;
}

export function decodeStoredKey(stored: Uint8Array): StoredKey | undefined {
  if (stored.length < BUCKET_BYTES) return undefined;
  const bucket = (stored[0]! << 8) | stored[1]!;
  if (stored.length === LONG_STORED_KEY_BYTES) return { bucket, key: undefined };
  if (stored.length > BUCKET_BYTES + INLINE_KEY_BYTES_MAX) return undefined;
  return { bucket, key: view(stored, BUCKET_BYTES, stored.length) };
}

/** The stored value of a record: everything but its key (unless the key is long). */
export function encodeRecordValue(record: VersionedRecord): Uint8Array {
  const longKey = isLongKey(record.key);
  const keyBytes = longKey ? KEY_LENGTH_BYTES + record.key.length : 0;
  const value = record.value;
  const bytes = allocate(RECORD_HEADER_BYTES + keyBytes + (value === null ? 0 : value.length));
  bytes[0] = RECORD_FORMAT_VERSION;
  bytes[OFFSET_FLAGS] = (value === null ? FLAG_TOMBSTONE : 0) | (longKey ? FLAG_LONG_KEY : 0);
  writeFloat64LE(bytes, OFFSET_WALL_MS, record.hlc.wallMs);
  writeUint32LE(bytes, OFFSET_LOGICAL, record.hlc.logical);
  writeNodeId(bytes, OFFSET_ORIGIN, record.origin);
  writeFloat64LE(bytes, OFFSET_EXPIRES_AT_MS, record.expiresAtMs);
  let offset = RECORD_HEADER_BYTES;
  if (longKey) {
    writeUint32LE(bytes, offset, record.key.length);
    bytes.set(record.key, offset + KEY_LENGTH_BYTES);
    offset += keyBytes;
  }
  if (value !== null) bytes.set(value, offset);
  return bytes;
}

function isStamp(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0;
}

/**
 * The record stored under `key` (the inline key from decodeStoredKey, or undefined for a
 * long key). Views into `bytes` are returned, not copies: pass a buffer nobody reuses.
 * Undefined when the bytes are not a record of a known format (never throws).
 */
export function decodeRecordValue(key: Uint8Array | undefined, bytes: Uint8Array): VersionedRecord | undefined {
  return decodeWith(key, bytes, view, view);
}

type Take = (bytes: Uint8Array, start: number, end: number) => Uint8Array;

/** The one decoder behind both variants: `takeKey`/`takeValue` view or copy the bytes. */
function decodeWith(key: Uint8Array | undefined, bytes: Uint8Array, takeKey: Take, takeValue: Take, format = RECORD_FORMAT_VERSION): VersionedRecord | undefined {
  if (bytes.length < RECORD_HEADER_BYTES || bytes[0] !== format) return undefined;
  const flags = bytes[OFFSET_FLAGS]!;
  if ((flags & ~FLAGS_KNOWN) !== 0) return undefined;
  const wallMs = readFloat64LE(bytes, OFFSET_WALL_MS);
  const logical = readUint32LE(bytes, OFFSET_LOGICAL);
  const expiresAtMs = readFloat64LE(bytes, OFFSET_EXPIRES_AT_MS);
  if (!isStamp(wallMs) || !isStamp(expiresAtMs)) return undefined;
  let offset = RECORD_HEADER_BYTES;
  let recordKey = key;
  if ((flags & FLAG_LONG_KEY) !== 0) {
    if (bytes.length < offset + KEY_LENGTH_BYTES) return undefined;
    const keyLength = readUint32LE(bytes, offset);
    offset += KEY_LENGTH_BYTES;
    if (keyLength <= INLINE_KEY_BYTES_MAX || bytes.length < offset + keyLength) return undefined;
    recordKey = takeKey(bytes, offset, offset + keyLength);
    offset += keyLength;
  }
  if (recordKey === undefined) return undefined;
  const tombstone = (flags & FLAG_TOMBSTONE) !== 0;
  if (tombstone && bytes.length !== offset) return undefined;
  return {
    key: recordKey,
    value: tombstone ? null : takeValue(bytes, offset, bytes.length),
    hlc: { wallMs, logical },
    origin: readNodeId(bytes, OFFSET_ORIGIN),
    expiresAtMs,
  };
}

/**
 * Copies up to this long go byte by byte, longer ones through a subarray (from a Buffer,
 * in a microbenchmark: 20 bytes 130 against 290 ns, 48 235 against 315, 64 even, 100 400
 * against 280).
 */
const LOOP_COPY_BYTES_MAX = 48;

/** A copy of bytes[start, end) as a plain Uint8Array (see allocate). */
export function copyOut(bytes: Uint8Array, start: number, end: number): Uint8Array {
  const length = end - start;
  const copy = allocate(length);
  if (length <= LOOP_COPY_BYTES_MAX) {
    for (let index = 0; index < length; index++) copy[index] = bytes[start + index]!;
  } else {
    // Through subarray even for the whole of `bytes`: lmdb-js hands values over in a shared
    // buffer whose `length` property it sets to the value's size, while set() copies by the
    // typed array's real length (a RangeError, tried in session 18).
    copy.set(bytes.subarray(start, end));
  }
  return copy;
}

/**
 * As decodeRecordValue, for a buffer that is reused after this call (lmdb-js getBinaryFast):
 * the value and a long key are copied out; an inline `key` is kept as given.
 */
export function decodeRecordValueCopy(key: Uint8Array | undefined, bytes: Uint8Array): VersionedRecord | undefined {
  return decodeWith(key, bytes, (source, start, end) => new Uint8Array(source.subarray(start, end)), copyOut);
}

/** Both halves of an LMDB entry back into a record; undefined if either is malformed. */
export function decodeStoredRecord(storedKey: Uint8Array, storedValue: Uint8Array): VersionedRecord | undefined {
  const decodedKey = decodeStoredKey(storedKey);
  if (decodedKey === undefined) return undefined;
  return decodeRecordValue(decodedKey.key, storedValue);
}

/** An entry of an earlier format (same layout, other version byte), for the upgrade: copies. */
export function decodeStoredKeyAndRecordOfFormat(storedKey: Uint8Array, storedValue: Uint8Array, format: number): VersionedRecord | undefined {
  const decodedKey = decodeStoredKey(storedKey);
  if (decodedKey === undefined) return undefined;
  const copy = (source: Uint8Array, start: number, end: number) => new Uint8Array(source.subarray(start, end));
  const record = decodeWith(decodedKey.key, storedValue, copy, copy, format);
  return record === undefined ? undefined : { ...record, key: new Uint8Array(record.key) };
}

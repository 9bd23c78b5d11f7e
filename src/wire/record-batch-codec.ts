// Records of a peer message (replicate, repair, purge, aeRecords) as one byte string
// instead of a msgpack map per record: one copy per frame on the receiver, keys and values
// are views into it, and no per-record field names on the wire.
//
// Layout: [count u32] then per record
//   [key length u32][value length u32, 0xFFFFFFFF = tombstone][wallMs f64][logical f64]
//   [expiresAtMs f64][origin 16 bytes][key][value]
// All little-endian. Decoding checks every length against the bytes left and never throws.
// It also checks each record as isVersionedRecord does (lengths within their limits, clock
// and expiry plain unsigned integers; an origin read from 16 bytes is always a node id) and
// vouches for the array, so the message validators do not walk its records again.
import { NODE_ID_BYTES, readNodeId, writeNodeId } from '../core/node-id-bytes.js';
import type { VersionedRecord } from '../core/types.js';
import { isUint, ROW_KEY_BYTES_MAX, VALUE_BYTES_MAX, vouchForRecords } from '../core/validate.js';

const COUNT_BYTES = 4;
const RECORD_HEADER_BYTES = 4 + 4 + 8 + 8 + 8 + NODE_ID_BYTES;
const TOMBSTONE_LENGTH = 0xffff_ffff;

export function encodeRecordBatch(records: readonly VersionedRecord[]): Uint8Array {
  let total = COUNT_BYTES;
  for (const record of records) total += RECORD_HEADER_BYTES + record.key.length + (record.value?.length ?? 0);
  const bytes = new Uint8Array(total);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, records.length, true);
  let offset = COUNT_BYTES;
  for (const record of records) {
    view.setUint32(offset, record.key.length, true);
    view.setUint32(offset + 4, record.value === null ? TOMBSTONE_LENGTH : record.value.length, true);
    view.setFloat64(offset + 8, record.hlc.wallMs, true);
    view.setFloat64(offset + 16, record.hlc.logical, true);
    view.setFloat64(offset + 24, record.expiresAtMs, true);
    writeNodeId(bytes, offset + 32, record.origin);
    offset += RECORD_HEADER_BYTES;
    bytes.set(record.key, offset);
    offset += record.key.length;
    if (record.value !== null) {
      bytes.set(record.value, offset);
      offset += record.value.length;
    }
  }
  return bytes;
}

/** The records in bytes, or undefined when the bytes are not a well-formed batch of at most maxRecords. */
export function decodeRecordBatch(bytes: Uint8Array, maxRecords: number): VersionedRecord[] | undefined {
  if (bytes.length < COUNT_BYTES) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = view.getUint32(0, true);
  if (count > maxRecords || count * RECORD_HEADER_BYTES > bytes.length) return undefined;
  const records: VersionedRecord[] = new Array(count);
  // Read once: a typed array's `buffer` getter costs ~50 ns a call, and a view over a known
  // ArrayBuffer ~45 ns against ~140 through the getter (4,096 records of 100 B: 390 -> 170
  // ns a record to decode).
  const arrayBuffer = bytes.buffer;
  const base = bytes.byteOffset;
  let offset = COUNT_BYTES;
  for (let index = 0; index < count; index++) {
    if (offset + RECORD_HEADER_BYTES > bytes.length) return undefined;
    const keyLength = view.getUint32(offset, true);
    const valueLength = view.getUint32(offset + 4, true);
    const wallMs = view.getFloat64(offset + 8, true);
    const logical = view.getFloat64(offset + 16, true);
    const expiresAtMs = view.getFloat64(offset + 24, true);
    if (!isUint(wallMs) || !isUint(logical) || !isUint(expiresAtMs)) return undefined;
    const origin = readNodeId(bytes, offset + 32);
    offset += RECORD_HEADER_BYTES;
    const valueBytes = valueLength === TOMBSTONE_LENGTH ? 0 : valueLength;
    if (keyLength > ROW_KEY_BYTES_MAX || valueBytes > VALUE_BYTES_MAX || offset + keyLength + valueBytes > bytes.length) return undefined;
    // Plain views, as the store's records are: cheaper than a Buffer's subarray (397 -> 348
    // ns a record, before the getter was hoisted).
    const key = new Uint8Array(arrayBuffer, base + offset, keyLength);
    offset += keyLength;
    const value = valueLength === TOMBSTONE_LENGTH ? null : new Uint8Array(arrayBuffer, base + offset, valueLength);
    offset += valueBytes;
    records[index] = { key, value, hlc: { wallMs, logical }, origin, expiresAtMs };
  }
  return offset === bytes.length ? vouchForRecords(records) : undefined;
}

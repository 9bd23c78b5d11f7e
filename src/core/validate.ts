// Structural checks for decoded peer data: the wire gives us `unknown`, the core only
// ever sees values that passed these.
import type { Hlc, MemberState, NodeId, VersionedRecord } from './types.js';

export const KEY_BYTES_MAX = 64 * 1024;
export const VALUE_BYTES_MAX = 64 * 1024 * 1024;
/** A hash field (any element a row holds): as long as a key may be. */
export const ELEMENT_BYTES_MAX = KEY_BYTES_MAX;
/** A row key: the key with its length, the kind, and an element with its own length and an origin. */
export const ROW_KEY_BYTES_MAX = KEY_BYTES_MAX + ELEMENT_BYTES_MAX + 32;

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function isUint(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** The last string that passed isNodeId: the records of one batch mostly share an origin (the same string). */
let lastNodeId = '';

export function isNodeId(value: unknown): value is NodeId {
  if (value === lastNodeId && value !== '') return true;
  if (typeof value !== 'string' || !/^[0-9a-f]{32}$/.test(value)) return false;
  lastNodeId = value;
  return true;
}

export function isHlc(value: unknown): value is Hlc {
  return isObject(value) && isUint(value.wallMs) && isUint(value.logical);
}

export function isMemberState(value: unknown): value is MemberState {
  return value === 'alive' || value === 'suspect' || value === 'dead';
}

export function isBytes(value: unknown, maxLength: number): value is Uint8Array {
  return value instanceof Uint8Array && value.length <= maxLength;
}

export function isVersionedRecord(value: unknown): value is VersionedRecord {
  return (
    isObject(value) &&
    isBytes(value.key, ROW_KEY_BYTES_MAX) &&
    (value.value === null || isBytes(value.value, VALUE_BYTES_MAX)) &&
    isHlc(value.hlc) &&
    isNodeId(value.origin) &&
    isUint(value.expiresAtMs)
  );
}

/**
 * Record arrays a decoder built and checked, record by record, against isVersionedRecord's
 * rules as it read them (wire/record-batch-codec.ts): isRecordArray does not walk them
 * again. Only such a decoder adds to it, right after building the array.
 */
const checkedRecordArrays = new WeakSet<readonly VersionedRecord[]>();

/** Marks records, built by a decoder whose every record passes isVersionedRecord, as checked. */
export function vouchForRecords(records: VersionedRecord[]): VersionedRecord[] {
  checkedRecordArrays.add(records);
  return records;
}

/** An array of at most maxLength records, each a valid VersionedRecord. */
export function isRecordArray(value: unknown, maxLength: number): value is VersionedRecord[] {
  if (checkedRecordArrays.has(value as VersionedRecord[])) return (value as VersionedRecord[]).length <= maxLength;
  return isArrayOf(value, isVersionedRecord, maxLength);
}

export function isArrayOf<T>(value: unknown, check: (item: unknown) => item is T, maxLength: number): value is T[] {
  if (!Array.isArray(value) || value.length > maxLength) return false;
  for (const item of value) if (!check(item)) return false;
  return true;
}

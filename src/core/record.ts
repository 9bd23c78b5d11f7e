// Last-writer-wins order of record versions: the same winner on every node.
import { compareHlc } from './hlc.js';
import type { VersionedRecord } from './types.js';

/**
 * Total order of versions of one key: higher (hlc, origin) is newer. For the same
 * version, a tombstone (an expired record turned into a delete) ranks above its value,
 * so merge stays commutative when one node has already swept an expiry.
 */
export function compareVersions(a: VersionedRecord, b: VersionedRecord): number {
  const byClock = compareHlc(a.hlc, b.hlc);
  if (byClock !== 0) return byClock;
  if (a.origin !== b.origin) return a.origin < b.origin ? -1 : 1;
  const aTomb = a.value === null ? 1 : 0;
  const bTomb = b.value === null ? 1 : 0;
  return aTomb - bTomb;
}

/** The winner of two versions of the same key (commutative, associative, idempotent). */
export function mergeRecords(local: VersionedRecord | undefined, remote: VersionedRecord): VersionedRecord {
  if (local === undefined) return remote;
  return compareVersions(remote, local) > 0 ? remote : local;
}

/** True if the record reads as absent at nowMs (deleted or expired). */
export function isAbsent(record: VersionedRecord | undefined, nowMs: number): boolean {
  return record === undefined || record.value === null || (record.expiresAtMs !== 0 && record.expiresAtMs <= nowMs);
}

/** The tombstone an expired record turns into: same version, no value. */
export function expiredToTombstone(record: VersionedRecord): VersionedRecord {
  return { key: record.key, value: null, hlc: record.hlc, origin: record.origin, expiresAtMs: 0 };
}

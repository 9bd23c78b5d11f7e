// Record helpers shared by tests.
import type { VersionedRecord } from '../../src/core/types.js';

/** A record as plain data (bytes as number arrays), so Buffer-vs-Uint8Array differences do not matter. */
export function plainRecord(record: VersionedRecord | undefined): unknown {
  if (record === undefined) return undefined;
  return { ...record, hlc: { ...record.hlc }, key: [...record.key], value: record.value === null ? null : [...record.value] };
}

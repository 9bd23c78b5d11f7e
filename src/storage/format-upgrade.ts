// Upgrade in place of a data directory written by an earlier release. Format 1 (peerkv
// 0.1, strings only) stored one record per key; format 2 stores typed rows (rows.ts): a
// string is its key's header row, a delete its clear row, with the same version, so a
// node that upgrades keeps its Merkle root in step with its peers' once they upgrade too.
import type { Database } from 'lmdb';
import { clearRowKey, encodeStringHeader, headerRowKey } from '../core/rows.js';
import type { VersionedRecord } from '../core/types.js';
import { decodeStoredKeyAndRecordOfFormat, encodeRecordValue, encodeStoredKey, RECORD_FORMAT_VERSION } from './record-codec.js';

/** Meta entry naming the format of the records database. */
export const STORE_FORMAT_META = 'store_format';
const FORMAT_STRINGS_ONLY = 1;
/** Old records rewritten per transaction: bounded memory however large the database. */
const UPGRADE_BATCH_RECORDS = 10_000;

/** The format-2 row of a format-1 record. */
export function upgradeRecord(old: VersionedRecord): VersionedRecord {
  if (old.value === null) return { ...old, key: clearRowKey(old.key) };
  return { ...old, key: headerRowKey(old.key), value: encodeStringHeader(old.value) };
}

/**
 * Rewrite every format-1 record as its row and record the format. Returns how many
 * records were upgraded (0 for a new or current database).
 */
export function upgradeStore(records: Database<Uint8Array, Uint8Array>, meta: Database<Buffer, string>): number {
  const recorded = meta.getBinary(STORE_FORMAT_META);
  if (recorded !== undefined && recorded[0] === RECORD_FORMAT_VERSION) return 0;
  let upgraded = 0;
  let start: Buffer | undefined;
  for (;;) {
    const batch: { storedKey: Buffer; record: VersionedRecord }[] = [];
    for (const entry of records.getRange(start === undefined ? {} : { start })) {
      if (entry.value[0] !== FORMAT_STRINGS_ONLY) continue;
      const record = decodeStoredKeyAndRecordOfFormat(entry.key, entry.value, FORMAT_STRINGS_ONLY);
      if (record === undefined) continue; // damaged: left as it is, read as absent (counted as corrupt)
      batch.push({ storedKey: Buffer.from(entry.key), record });
      if (batch.length === UPGRADE_BATCH_RECORDS) break;
    }
    if (batch.length === 0) break;
    records.transactionSync(() => {
      for (const { storedKey, record } of batch) {
        const row = upgradeRecord(record);
        records.removeSync(storedKey);
        records.putSync(encodeStoredKey(row.key), encodeRecordValue(row));
      }
    });
    upgraded += batch.length;
    start = batch[batch.length - 1]!.storedKey;
  }
  meta.putSync(STORE_FORMAT_META, Buffer.of(RECORD_FORMAT_VERSION));
  return upgraded;
}

// Child process for the write-ahead log crash test: writes COUNT numbered records in one
// event-loop turn (100 per batch) followed by a batch purging every tenth of them, prints
// `acked <COUNT>` once every write resolved and at once sends itself SIGKILL, so LMDB is
// still applying the log when the process dies.
// Usage: node storage-wal-writer.js DIR FSYNC COUNT
import { utf8 } from '../../src/core/bytes.js';
import { openLmdbStore, type FsyncMode } from '../../src/storage/lmdb-store.js';
import { printNow } from './storage-writer.js';

export const WAL_WRITER_ORIGIN = '0f0e0d0c0b0a09080706050403020100';
const BATCH_RECORDS = 100;

export function walWriterKey(index: number): Uint8Array {
  return utf8(`wal:${index}`);
}

export function walWriterValue(index: number): Uint8Array {
  return utf8(`value-${index}-${'w'.repeat(index % 150)}`);
}

/** Every tenth record is purged in the last batch. */
export function walWriterPurged(index: number): boolean {
  return index % 10 === 0;
}

async function main(): Promise<void> {
  const [dir, fsync, countText] = process.argv.slice(2);
  if (dir === undefined || fsync === undefined) throw new Error('usage: storage-wal-writer DIR FSYNC COUNT');
  const count = Number(countText ?? 20_000);
  const store = await openLmdbStore({ dir, fsync: fsync as FsyncMode });
  const writes: Promise<void>[] = [];
  for (let start = 0; start < count; start += BATCH_RECORDS) {
    const records = [];
    for (let index = start; index < Math.min(count, start + BATCH_RECORDS); index++) {
      records.push({ key: walWriterKey(index), value: walWriterValue(index), hlc: { wallMs: 1_000 + index, logical: 0 }, origin: WAL_WRITER_ORIGIN, expiresAtMs: 0 });
    }
    writes.push(store.write({ records, purgeKeys: [] }));
  }
  const purgeKeys = [];
  for (let index = 0; index < count; index++) if (walWriterPurged(index)) purgeKeys.push(walWriterKey(index));
  writes.push(store.write({ records: [], purgeKeys }));
  await Promise.all(writes);
  printNow(`acked ${count}`);
  process.kill(process.pid, 'SIGKILL');
}

// Only run when executed directly; the test imports the helpers above.
if (process.argv[1]?.endsWith('storage-wal-writer.js') === true) {
  main().catch((error: unknown) => {
    process.stderr.write(`${String(error)}\n`);
    process.exit(1);
  });
}

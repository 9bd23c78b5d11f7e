// Child process of test/integration/disk-full.test.ts (a process of its own, as a node is:
// lmdb-js leaves a promise of its own unhandled when a commit fails, which the store's
// filter drops in a node but a test runner would count). Fills the disk under an LMDB store
// until a commit fails, frees the space, and prints what it saw as one JSON line.
// Rows go ROWS_PER_WRITE a write (default 1; a batch of IN_PLACE_ROWS_MIN or more commits in place).
// Usage: node disk-full-writer.js DISK_DIR [ROWS_PER_WRITE]
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { utf8 } from '../../src/core/bytes.js';
import type { VersionedRecord } from '../../src/core/types.js';
import { openLmdbStore } from '../../src/storage/lmdb-store.js';

const ORIGIN = '0123456789abcdef0123456789abcdef';
const FILLER_BYTES = 11 * 1024 * 1024;

function record(index: number, value: Uint8Array): VersionedRecord {
  return { key: utf8(`key:${index}`), value, hlc: { wallMs: 1_700_000_000_000 + index, logical: 0 }, origin: ORIGIN, expiresAtMs: 0 };
}

async function main(diskDir: string, rowsPerWrite: number): Promise<void> {
  const dataDir = join(diskDir, 'data');
  const changes: (string | null)[] = [];
  // No reserve: the disk really fills, so LMDB's own commit fails (ENOSPC).
  const store = await openLmdbStore({ dir: dataDir, fsync: 'everysec', diskReserveBytes: 0, onFailureChange: (error) => changes.push(error?.message ?? null) });
  writeFileSync(join(diskDir, 'filler'), Buffer.alloc(FILLER_BYTES));
  const value = new Uint8Array(1000).fill(120);
  const writes: Promise<void>[] = [];
  let acknowledged = 0;
  let issued = 0;
  for (let index = 0; issued < 20_000 && store.failure() === undefined; index++) {
    const records = Array.from({ length: rowsPerWrite }, (_, offset) => record(issued + offset, value));
    issued += rowsPerWrite;
    writes.push(store.write({ records, purgeKeys: [] }).then(() => void (acknowledged += rowsPerWrite)));
    if (index % 20 === 19 || rowsPerWrite > 1) await Promise.race([writes[writes.length - 1], new Promise((resolve) => setTimeout(resolve, 20))]);
  }
  const failure = store.failure()?.message ?? null;
  let readableWhileFailing = 0;
  for (let index = 0; index < issued; index++) if (store.get(utf8(`key:${index}`)) !== undefined) readableWhileFailing++;
  const acknowledgedWhileFailing = acknowledged;
  rmSync(join(diskDir, 'filler'));
  const allSettled = await Promise.race([Promise.all(writes).then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 20_000))]);
  const failureAfter = store.failure()?.message ?? null;
  await store.close();
  const reopened = await openLmdbStore({ dir: dataDir, fsync: 'everysec', diskReserveBytes: 0 });
  let committed = 0;
  for (let index = 0; index < issued; index++) if (reopened.get(utf8(`key:${index}`)) !== undefined) committed++;
  await reopened.close();
  console.log(JSON.stringify({ failure, issued, readableWhileFailing, acknowledgedWhileFailing, allSettled, failureAfter, committed, changes }));
}

main(process.argv[2]!, Number(process.argv[3] ?? 1)).catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

// Child process of test/unit/storage-lmdb.test.ts: writes one batch of ROWS rows and, in the
// same event-loop turn, kills itself with SIGKILL (no await, no close, no flush): a batch the
// store commits in place is in the data file; one left to lmdb-js's writer thread is not.
// Usage: node in-place-writer.js DATA_DIR ROWS
import { utf8 } from '../../src/core/bytes.js';
import { openLmdbStore } from '../../src/storage/lmdb-store.js';

const ORIGIN = '0123456789abcdef0123456789abcdef';

async function main(dir: string, rows: number): Promise<void> {
  const store = await openLmdbStore({ dir, fsync: 'everysec' });
  const records = Array.from({ length: rows }, (_, index) => ({
    key: utf8(`bulk:${index}`),
    value: utf8(`value:${index}`),
    hlc: { wallMs: 1_700_000_000_000 + index, logical: 0 },
    origin: ORIGIN,
    expiresAtMs: 0,
  }));
  void store.write({ records, purgeKeys: [] });
  process.kill(process.pid, 'SIGKILL');
}

void main(process.argv[2]!, Number(process.argv[3]));

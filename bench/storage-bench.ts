// Storage micro-benchmark: SET-like writes with a fixed number in flight (as redis-benchmark
// -c 50 would drive them, each reply waiting for its commit), then random gets.
// Usage: node dist/bench/storage-bench.js [writes] [inFlight]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLmdbStore, type FsyncMode } from '../src/storage/lmdb-store.js';
import type { VersionedRecord } from '../src/core/types.js';

const VALUE_BYTES = 100;
const ORIGIN = '0123456789abcdef0123456789abcdef';

function makeRecord(index: number, value: Uint8Array): VersionedRecord {
  return { key: Buffer.from(`key:${index % 100_000}`), value, hlc: { wallMs: 1_700_000_000_000 + index, logical: 0 }, origin: ORIGIN, expiresAtMs: 0 };
}

async function benchMode(fsync: FsyncMode, writeCount: number, inFlight: number, readBeforeWrite: boolean): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'peerkv-bench-'));
  const store = await openLmdbStore({ dir, fsync });
  const value = new Uint8Array(VALUE_BYTES).fill(120);
  let issued = 0;
  const started = performance.now();
  const client = async () => {
    while (issued < writeCount) {
      const record = makeRecord(issued++, value);
      if (readBeforeWrite) store.get(record.key); // as the node does for the LWW merge
      await store.write({ records: [record], purgeKeys: [] });
    }
  };
  await Promise.all(Array.from({ length: inFlight }, client));
  const writeSeconds = (performance.now() - started) / 1000;
  const getStarted = performance.now();
  let found = 0;
  for (let index = 0; index < writeCount; index++) if (store.get(Buffer.from(`key:${(index * 7919) % 100_000}`)) !== undefined) found++;
  const getSeconds = (performance.now() - getStarted) / 1000;
  const scanStarted = performance.now();
  let scanned = 0;
  for (let bucket = 0; bucket < 65_536; ) {
    const result = store.scanBuckets(bucket, 65_536, 1_000);
    scanned += result.records.length;
    bucket = result.nextBucket;
  }
  const scanSeconds = (performance.now() - scanStarted) / 1000;
  await store.close();
  await rm(dir, { recursive: true, force: true });
  console.log(
    `fsync=${fsync.padEnd(8)} ${readBeforeWrite ? 'get+write' : 'write    '} writes/s=${Math.round(writeCount / writeSeconds)} gets/s=${Math.round(writeCount / getSeconds)} (found ${found})` +
      ` scan records/s=${Math.round(scanned / scanSeconds)} (${scanned})`,
  );
}

const writeCount = Number(process.argv[2] ?? 200_000);
const inFlight = Number(process.argv[3] ?? 50);
for (const fsync of ['no', 'everysec', 'always'] as const) {
  for (const readBeforeWrite of [false, true]) await benchMode(fsync, writeCount, inFlight, readBeforeWrite);
}

// Proves the LMDB store persists across close and reopen in every fsync mode, keeps the data dir private, reads damaged entries as absent, and maps its data file once (no map growth that RSS counts twice).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import fc from 'fast-check';
import { open } from 'lmdb';
import { KEY_BUCKET_COUNT, utf8 } from '../../src/core/bytes.js';
import type { VersionedRecord } from '../../src/core/types.js';
import { DATA_FILE_NAME, IN_PLACE_ROWS_MIN, openLmdbStore, type FsyncMode } from '../../src/storage/lmdb-store.js';
import { encodeStoredKey } from '../../src/storage/record-codec.js';
import { countRecords } from '../support/records.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { NODE_RUNTIME } from '../support/processes.js';
import { clearRowKey, encodeStringHeader, headerRowKey, KeyType, rowKey, rowKindOf, RowKind, rowUserKey } from '../../src/core/rows.js';

const ORIGIN = 'ffeeddccbbaa99887766554433221100';

function makeRecord(key: string, value: string | null, wallMs: number): VersionedRecord {
  return { key: utf8(key), value: value === null ? null : utf8(value), hlc: { wallMs, logical: 3 }, origin: ORIGIN, expiresAtMs: wallMs + 60_000 };
}

async function withTempDir(body: (dir: string) => Promise<void>): Promise<void> {
  const parent = await mkdtemp(join(tmpdir(), 'peerkv-lmdb-test-'));
  try {
    await body(join(parent, 'nested', 'data'));
  } finally {
    await rm(parent, { recursive: true, force: true });
  }
}

for (const fsync of ['always', 'everysec', 'no'] as const satisfies readonly FsyncMode[]) {
  test(`fsync ${fsync}: records, purges and meta survive close and reopen`, () =>
    withTempDir(async (dir) => {
      const store = await openLmdbStore({ dir, fsync });
      const records = Array.from({ length: 500 }, (_, index) => makeRecord(`key:${index}`, index % 10 === 0 ? null : `value:${index}`, 1_000 + index));
      void store.write({ records: records.slice(0, 250), purgeKeys: [] });
      void store.putMeta('incarnation', utf8('7'));
      await store.write({ records: records.slice(250), purgeKeys: [utf8('key:1')] });
      await store.flush();
      await store.close();
      await store.close(); // idempotent
      assert.throws(() => store.write({ records: [], purgeKeys: [] }), /after close/);

      const reopened = await openLmdbStore({ dir, fsync });
      try {
        assert.equal(countRecords(reopened), 499);
        assert.equal(reopened.get(utf8('key:1')), undefined);
        for (const record of records.slice(2)) assert.deepEqual(reopened.get(record.key), record);
        assert.deepEqual(reopened.getMeta('incarnation'), utf8('7'));
        assert.equal(reopened.scanBuckets(0, KEY_BUCKET_COUNT, 10_000).records.length, 499);
      } finally {
        await reopened.close();
      }
    }));
}

test('data dir is 0700 and the LMDB files 0600', () =>
  withTempDir(async (dir) => {
    const store = await openLmdbStore({ dir, fsync: 'no' });
    await store.close();
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
    assert.equal((await stat(join(dir, DATA_FILE_NAME))).mode & 0o777, 0o600);
    assert.equal((await stat(join(dir, `${DATA_FILE_NAME}-lock`))).mode & 0o777, 0o600);
  }));

test('a damaged stored value reads as absent and is counted, never thrown', () =>
  withTempDir(async (dir) => {
    const store = await openLmdbStore({ dir, fsync: 'no' });
    await store.write({ records: [makeRecord('good', 'v', 5)], purgeKeys: [] });
    await store.close();
    const raw = open({ path: join(dir, DATA_FILE_NAME) });
    const records = raw.openDB<Buffer, Uint8Array>({ name: 'records', keyEncoding: 'binary', encoding: 'binary' });
    await records.put(encodeStoredKey(utf8('bad')), Buffer.from([99, 1, 2, 3]));
    await raw.close();

    const reopened = await openLmdbStore({ dir, fsync: 'no' });
    try {
      assert.equal(reopened.get(utf8('bad')), undefined);
      assert.equal(reopened.scanBuckets(0, KEY_BUCKET_COUNT, 100).records.length, 1);
      assert.equal(reopened.corruptRecordCount(), 2);
      assert.deepEqual(reopened.get(utf8('good'))?.value, utf8('v'));
    } finally {
      await reopened.close();
    }
  }));

/** How many memory maps of this file the process holds, from /proc/self/maps (Linux). */
async function mapsOf(path: string): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  return (await readFile('/proc/self/maps', 'utf8')).split('\n').filter((line) => line.endsWith(` ${path}`)).length;
}

test('10 MB of records fit the initial map: the data file stays mapped once', () =>
  withTempDir(async (dir) => {
    const store = await openLmdbStore({ dir, fsync: 'everysec' });
    const value = 'v'.repeat(200);
    for (let batch = 0; batch < 10; batch++) {
      const records = Array.from({ length: 5_000 }, (_, index) => makeRecord(`key:${batch}:${index}`, value, 1_000));
      await store.write({ records, purgeKeys: [] });
    }
    assert.equal(await mapsOf(join(dir, DATA_FILE_NAME)), 1, 'lmdb-js keeps outgrown maps mapped until close; the initial map must be big enough');
    await store.close();
  }));

test('records a scan returns are copies: later reads, scans and writes leave them as they were', async () => {
  // The records database hands a cursor's keys and values over as slab copies (lmdb-store.ts):
  // sizes on both sides of the byte-loop limit (48), the slab limit (4 KiB), a long key.
  const dir = mkdtempSync(join(tmpdir(), 'peerkv-scan-copies-'));
  const store = await openLmdbStore({ dir, fsync: 'no' });
  try {
    const sizes = [0, 1, 48, 49, 100, 4_096, 4_097, 70_000];
    const records = sizes.map((size, index) => makeRecord(`${'k'.repeat(index === 7 ? 2_000 : index + 1)}:${size}`, String.fromCharCode(97 + index).repeat(size), 1_000 + index));
    records.push(makeRecord('tombstone', null, 2_000));
    await store.write({ records, purgeKeys: [] });
    const scanned = store.scanBuckets(0, KEY_BUCKET_COUNT, 1_000).records;
    const snapshot = scanned.map((record) => ({ ...record, key: Uint8Array.from(record.key), value: record.value === null ? null : Uint8Array.from(record.value) }));
    assert.equal(scanned.length, records.length);
    for (const record of records) store.get(record.key);
    store.scanBuckets(0, KEY_BUCKET_COUNT, 1_000);
    await store.write({ records: records.map((record) => ({ ...record, value: utf8('overwritten'), hlc: { wallMs: 5_000, logical: 0 } })), purgeKeys: [] });
    store.scanBuckets(0, KEY_BUCKET_COUNT, 1_000);
    assert.deepEqual(scanned, snapshot);
    const byKey = (list: readonly VersionedRecord[]) => [...list].sort((a, b) => Buffer.compare(a.key, b.key));
    assert.deepEqual(byKey(snapshot), byKey(records));
    assert.ok(scanned.every((record) => !Buffer.isBuffer(record.key) && (record.value === null || !Buffer.isBuffer(record.value))));
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('scanHeaders returns one header per key and seeks over a big key\'s element rows', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'peerkv-headers-'));
  const store = await openLmdbStore({ dir, fsync: 'no' });
  try {
    const stamp = (key: Uint8Array, value: Uint8Array | null, logical: number) => ({ key, value, hlc: { wallMs: 1, logical }, origin: 'ab'.repeat(16), expiresAtMs: 0 });
    const records = [];
    for (let index = 0; index < 50; index++) records.push(stamp(headerRowKey(utf8(`s${index}`)), encodeStringHeader(utf8('v')), index));
    records.push(stamp(headerRowKey(utf8('big')), Uint8Array.of(KeyType.Hash), 100));
    for (let index = 0; index < 5_000; index++) records.push(stamp(rowKey(utf8('big'), RowKind.Field, utf8(`f${index}`)), Uint8Array.of(0, 1), 200 + index));
    records.push(stamp(clearRowKey(utf8('gone')), null, 9_000));
    await store.write({ records, purgeKeys: [] });
    const headers = [];
    let bucket = 0;
    while (bucket < 65_536) {
      const page = store.scanHeaders(bucket, 65_536, 7);
      headers.push(...page.records);
      bucket = page.nextBucket;
    }
    assert.equal(headers.length, 51);
    assert.ok(headers.every((record) => rowKindOf(record.key) === RowKind.Header));
    // Pending writes (not yet committed) are part of the answer too.
    void store.write({ records: [stamp(headerRowKey(utf8('pending')), encodeStringHeader(utf8('p')), 9_999)], purgeKeys: [headerRowKey(utf8('s0'))] });
    const all = store.scanHeaders(0, 65_536, 1_000_000).records.map((record) => Buffer.from(rowUserKey(record.key)!).toString());
    assert.ok(all.includes('pending') && !all.includes('s0') && all.includes('big'));
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('any mix of reads, writes, purges and commits over more rows than the store remembers reads as a map of the same operations', () =>
  withTempDir(async (dir) => {
    const store = await openLmdbStore({ dir, fsync: 'no' });
    try {
      const keys = ['r:0', 'r:1', 'r:2', 'r:3', 'r:4', 'r:5', 'r:6'];
      const model = new Map<string, VersionedRecord>();
      let wallMs = 1_000;
      const operation = fc.oneof(
        fc.record({ kind: fc.constant('get' as const), key: fc.constantFrom(...keys) }),
        fc.record({ kind: fc.constant('put' as const), keys: fc.uniqueArray(fc.constantFrom(...keys), { minLength: 1, maxLength: 3 }) }),
        fc.record({ kind: fc.constant('purge' as const), key: fc.constantFrom(...keys) }),
        fc.record({ kind: fc.constant('commit' as const) }),
        // Big enough to commit in place, staged like the others when one of its rows has a write pending.
        fc.record({
          kind: fc.constant('bulk' as const),
          keys: fc.uniqueArray(fc.constantFrom(...keys), { maxLength: 7 }),
          purges: fc.uniqueArray(fc.constantFrom(...keys), { maxLength: 3 }),
        }),
      );
      let fillers = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(operation, { maxLength: 60 }), async (operations) => {
          for (const operation of operations) {
            if (operation.kind === 'get') {
              assert.deepEqual(store.get(utf8(operation.key)), model.get(operation.key), `get ${operation.key}`);
            } else if (operation.kind === 'put') {
              const records = operation.keys.map((key) => makeRecord(key, `v${++wallMs}`, wallMs));
              for (const record of records) model.set(Buffer.from(record.key).toString(), record);
              void store.write({ records, purgeKeys: [] });
            } else if (operation.kind === 'purge') {
              model.delete(operation.key);
              void store.write({ records: [], purgeKeys: [utf8(operation.key)] });
            } else if (operation.kind === 'bulk') {
              const records = operation.keys.map((key) => makeRecord(key, `v${++wallMs}`, wallMs));
              for (let index = 0; index < IN_PLACE_ROWS_MIN; index++) records.push(makeRecord(`filler:${fillers++}`, 'f', wallMs));
              for (const record of records) model.set(Buffer.from(record.key).toString(), record);
              for (const key of operation.purges) model.delete(key);
              void store.write({ records, purgeKeys: operation.purges.map(utf8) });
              const filler = `filler:${fillers - 1}`;
              assert.deepEqual(store.get(utf8(filler)), model.get(filler), `get ${filler} after the bulk write`);
            } else {
              await store.flush();
            }
          }
          for (const key of keys) assert.deepEqual(store.get(utf8(key)), model.get(key), `final ${key}`);
        }),
        { numRuns: 40 },
      );
    } finally {
      await store.close();
    }
  }));

test('a big batch is in the data file when write returns: a SIGKILL in the same turn loses none of it', () =>
  withTempDir(async (dir) => {
    const writer = join(dirname(fileURLToPath(import.meta.url)), '..', 'support', 'in-place-writer.js');
    const rows = IN_PLACE_ROWS_MIN + 44;
    const child = spawnSync(NODE_RUNTIME, [writer, dir, String(rows)], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(child.signal, 'SIGKILL', `the writer killed itself (stderr: ${child.stderr})`);
    const store = await openLmdbStore({ dir, fsync: 'no' });
    try {
      assert.equal(countRecords(store), rows);
      assert.deepEqual(store.get(utf8('bulk:7'))?.value, utf8('value:7'));
    } finally {
      await store.close();
    }
  }));

test('big batches in stored-key order, before, between and after what is stored, all read back as written (appended where they follow every stored key)', () =>
  withTempDir(async (dir) => {
    const rows = IN_PLACE_ROWS_MIN + 44;
    const records = Array.from({ length: 4 * rows }, (_, index) => makeRecord(`ordered:${index}`, `v${index}`, 1_000 + index));
    records.sort((a, b) => Buffer.compare(encodeStoredKey(a.key), encodeStoredKey(b.key)));
    const group = (at: number) => records.slice(at * rows, (at + 1) * rows);
    const store = await openLmdbStore({ dir, fsync: 'no' });
    try {
      for (const at of [1, 3, 0, 2]) {
        void store.write({ records: group(at), purgeKeys: [] });
        await store.flush();
      }
      const rewritten = group(3).map((record) => ({ ...record, value: utf8('again'), hlc: { wallMs: record.hlc.wallMs + 10_000, logical: 0 } }));
      void store.write({ records: rewritten, purgeKeys: [] });
      const expected = new Map([...records, ...rewritten].map((record) => [Buffer.from(record.key).toString(), record]));
      assert.equal(countRecords(store), records.length);
      for (const [key, record] of expected) assert.deepEqual(store.get(utf8(key)), record, key);
      await store.close();
      const reopened = await openLmdbStore({ dir, fsync: 'no' });
      try {
        assert.equal(countRecords(reopened), records.length);
        for (const [key, record] of expected) assert.deepEqual(reopened.get(utf8(key)), record, key);
      } finally {
        await reopened.close();
      }
    } finally {
      await store.close();
    }
  }));

test('a row read again after a write or purge of it reads as written, pending or committed (the recent-reads memory)', () =>
  withTempDir(async (dir) => {
    const store = await openLmdbStore({ dir, fsync: 'no' });
    try {
      const first = makeRecord('row:a', 'one', 1_000);
      await store.write({ records: [first], purgeKeys: [] });
      // Read the same bytes through other objects, as the commands and the core do.
      assert.deepEqual(store.get(utf8('row:a')), first);
      assert.equal(store.get(utf8('row:b')), undefined);
      const second = makeRecord('row:a', 'two', 2_000);
      const committed = store.write({ records: [second], purgeKeys: [] });
      assert.deepEqual(store.get(utf8('row:a')), second, 'pending write');
      await committed;
      assert.deepEqual(store.get(utf8('row:a')), second, 'committed write');
      const other = makeRecord('row:b', 'new', 3_000);
      void store.write({ records: [other], purgeKeys: [] });
      assert.deepEqual(store.get(utf8('row:b')), other, 'a row read as absent, then written');
      const purged = store.write({ records: [], purgeKeys: [utf8('row:a')] });
      assert.equal(store.get(utf8('row:a')), undefined, 'pending purge');
      await purged;
      assert.equal(store.get(utf8('row:a')), undefined, 'committed purge');
      assert.deepEqual(store.get(utf8('row:b')), other);
    } finally {
      await store.close();
    }
  }));

// Proves the Store contract on both implementations (LMDB and memory): immediate visibility, ordered batches, bucket scans, counts and meta.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { bytesToMapKey, compareBytes, KEY_BUCKET_COUNT, utf8 } from '../../src/core/bytes.js';
import { kindPrefix, rowBucket, rowKey, RowKind } from '../../src/core/rows.js';
import type { VersionedRecord } from '../../src/core/types.js';
import { openLmdbStore } from '../../src/storage/lmdb-store.js';
import { MemoryStore } from '../../src/storage/memory-store.js';
import type { Store } from '../../src/storage/store.js';
import { countRecords } from '../support/records.js';

const ORIGIN = '00112233445566778899aabbccddeeff';

interface OpenedStore {
  readonly store: Store;
  readonly dispose: () => Promise<void>;
}

const implementations: { readonly name: string; readonly open: () => Promise<OpenedStore> }[] = [
  {
    name: 'memory',
    open: async () => {
      const store = new MemoryStore();
      return { store, dispose: () => store.close() };
    },
  },
  {
    name: 'lmdb',
    open: async () => {
      const dir = await mkdtemp(join(tmpdir(), 'peerkv-store-test-'));
      const store = await openLmdbStore({ dir, fsync: 'no' });
      return {
        store,
        dispose: async () => {
          await store.close();
          await rm(dir, { recursive: true, force: true });
        },
      };
    },
  },
];

function makeRecord(key: string | Uint8Array, value: string | null, wallMs = 1_000, expiresAtMs = 0): VersionedRecord {
  return {
    key: typeof key === 'string' ? utf8(key) : key,
    value: value === null ? null : utf8(value),
    hlc: { wallMs, logical: 0 },
    origin: ORIGIN,
    expiresAtMs,
  };
}

function byBucketThenKey(a: Uint8Array, b: Uint8Array): number {
  return rowBucket(a) - rowBucket(b) || compareBytes(a, b);
}

function scanAll(store: Store, limit: number): VersionedRecord[] {
  const records: VersionedRecord[] = [];
  let bucket = 0;
  let rounds = 0;
  while (bucket < KEY_BUCKET_COUNT) {
    const result = store.scanBuckets(bucket, KEY_BUCKET_COUNT, limit);
    assert.ok(result.nextBucket > bucket, 'scan makes progress');
    const buckets = result.records.map((record) => rowBucket(record.key));
    if (result.records.length > 0) {
      const lastBucket = buckets[buckets.length - 1]!;
      assert.ok(buckets.filter((b) => b !== lastBucket).length < limit, 'stops after the bucket that reached the limit');
      assert.ok(result.nextBucket > lastBucket);
    }
    for (const record of result.records) records.push(record);
    bucket = result.nextBucket;
    assert.ok(++rounds <= KEY_BUCKET_COUNT);
  }
  return records;
}

async function withStore(open: () => Promise<OpenedStore>, body: (store: Store) => Promise<void>): Promise<void> {
  const { store, dispose } = await open();
  try {
    await body(store);
  } finally {
    await dispose();
  }
}

for (const implementation of implementations) {
  const withOpen = (body: (store: Store) => Promise<void>) => withStore(implementation.open, body);

  test(`${implementation.name}: a write is visible before and after its commit`, () =>
    withOpen(async (store) => {
      const written = makeRecord('alpha', 'one');
      const ack = store.write({ records: [written], purgeKeys: [] });
      assert.deepEqual(store.get(utf8('alpha')), written);
      assert.equal(countRecords(store), 1);
      await ack;
      assert.deepEqual(store.get(utf8('alpha')), written);
      assert.equal(store.get(utf8('beta')), undefined);
    }));

  test(`${implementation.name}: overwrites, tombstones and purges leave exactly the stored records a scan finds`, () =>
    withOpen(async (store) => {
      store.write({ records: [makeRecord('a', '1'), makeRecord('b', '1')], purgeKeys: [] });
      store.write({ records: [makeRecord('a', '2', 2_000)], purgeKeys: [] });
      assert.equal(countRecords(store), 2);
      assert.deepEqual(store.get(utf8('a'))?.value, utf8('2'));
      const tombstone = makeRecord('b', null, 3_000);
      await store.write({ records: [tombstone], purgeKeys: [utf8('never-written')] });
      assert.deepEqual(store.get(utf8('b')), tombstone);
      assert.equal(countRecords(store), 2, 'a tombstone is a record; purging a missing key changes nothing');
      const purge = store.write({ records: [], purgeKeys: [utf8('b')] });
      assert.equal(store.get(utf8('b')), undefined);
      assert.equal(countRecords(store), 1);
      await purge;
      assert.equal(store.get(utf8('b')), undefined);
      assert.equal(countRecords(store), 1);
    }));

  test(`${implementation.name}: a write that follows a read of its key stores it once`, () =>
    withOpen(async (store) => {
      const key = utf8('read-then-write');
      assert.equal(store.get(key), undefined);
      await store.write({ records: [makeRecord(key, '1')], purgeKeys: [] });
      assert.equal(countRecords(store), 1);
      assert.ok(store.get(key) !== undefined);
      await store.write({ records: [makeRecord(key, '2', 2_000)], purgeKeys: [] });
      assert.equal(countRecords(store), 1);
      assert.ok(store.get(key) !== undefined);
      await store.write({ records: [], purgeKeys: [key] });
      assert.equal(countRecords(store), 0);
      assert.equal(store.get(key), undefined);
      void store.write({ records: [makeRecord(key, '3', 3_000)], purgeKeys: [] });
      void store.write({ records: [makeRecord(key, '4', 4_000)], purgeKeys: [] }); // the read above is stale now
      assert.equal(countRecords(store), 1);
      assert.equal(store.get(utf8('other')), undefined);
      await store.write({ records: [makeRecord('other', 'x'), makeRecord('other', 'y', 2_000)], purgeKeys: [] });
      assert.equal(countRecords(store), 2);
    }));

  test(`${implementation.name}: purges apply after the records of the same batch, batches in order`, () =>
    withOpen(async (store) => {
      const first = store.write({ records: [makeRecord('k', 'v')], purgeKeys: [utf8('k')] });
      const second = store.write({ records: [makeRecord('j', 'v')], purgeKeys: [] });
      const third = store.write({ records: [], purgeKeys: [utf8('j')] });
      const order: number[] = [];
      await Promise.all([first.then(() => order.push(1)), second.then(() => order.push(2)), third.then(() => order.push(3))]);
      assert.deepEqual(order, [1, 2, 3]);
      assert.equal(store.get(utf8('k')), undefined);
      assert.equal(store.get(utf8('j')), undefined);
      assert.equal(countRecords(store), 0);
      await store.write({ records: [], purgeKeys: [] }); // an empty batch resolves too
    }));

  test(`${implementation.name}: scans return every record once, in (bucket, key) order, whole buckets`, () =>
    withOpen(async (store) => {
      const keys: Uint8Array[] = [];
      for (let index = 0; index < 3_000; index++) keys.push(utf8(`key:${index}`));
      keys.push(new Uint8Array(0), new Uint8Array(1_500).fill(7), new Uint8Array(1_600).fill(7), new Uint8Array([255, 0]));
      await store.write({ records: keys.slice(0, 2_000).map((key) => makeRecord(key, 'x')), purgeKeys: [] });
      // The rest is still pending in the LMDB store while we scan.
      void store.write({ records: keys.slice(2_000).map((key) => makeRecord(key, 'y')), purgeKeys: [utf8('key:5')] });
      const expected = keys.filter((key) => bytesToMapKey(key) !== 'key:5').sort(byBucketThenKey);
      for (const limit of [1, 7, 100, 10_000]) {
        assert.deepEqual(scanAll(store, limit).map((record) => record.key), expected, `limit ${limit}`);
      }
      const from = 10_000;
      const to = 20_000;
      const ranged = store.scanBuckets(from, to, 100_000);
      assert.equal(ranged.nextBucket, KEY_BUCKET_COUNT);
      assert.deepEqual(
        ranged.records.map((record) => record.key),
        expected.filter((key) => rowBucket(key) >= from && rowBucket(key) < to),
      );
      assert.deepEqual(store.scanBuckets(5, 5, 10), { records: [], nextBucket: KEY_BUCKET_COUNT });
      await store.flush();
      assert.equal(countRecords(store), expected.length);
    }));

  test(`${implementation.name}: row pages follow key order, also across long row keys that share their stored bytes`, () =>
    withOpen(async (store) => {
      const userKey = utf8('hash');
      const shared = 'x'.repeat(1_100);
      const rows = Array.from({ length: 300 }, (_, index) => rowKey(userKey, RowKind.Field, utf8(index % 3 === 0 ? `short:${index}` : `${shared}${index}`)));
      await store.write({ records: rows.slice(0, 200).map((key) => makeRecord(key, 'v')), purgeKeys: [] });
      void store.write({ records: rows.slice(200).map((key) => makeRecord(key, 'w')), purgeKeys: [] }); // pending in LMDB
      const expected = rows.slice().sort(compareBytes);
      for (const limit of [1, 7, 100, 1_000]) {
        const paged: Uint8Array[] = [];
        let after: Uint8Array | undefined;
        for (;;) {
          const page = store.scanRows(kindPrefix(userKey, RowKind.Field), after, limit);
          assert.ok(page.records.length <= limit);
          for (const record of page.records) paged.push(record.key);
          if (page.done) break;
          after = page.records[page.records.length - 1]!.key;
        }
        assert.deepEqual(paged, expected, `limit ${limit}`);
      }
      await store.flush();
    }));

  test(`${implementation.name}: scanFrom pages stop inside buckets and return every record once, in (bucket, key) order`, () =>
    withOpen(async (store) => {
      const userKey = utf8('big');
      const keys: Uint8Array[] = [];
      for (let index = 0; index < 3_000; index++) keys.push(rowKey(userKey, RowKind.Field, utf8(`f${index}`)));
      for (let index = 0; index < 300; index++) keys.push(rowKey(userKey, RowKind.Field, utf8(`${'x'.repeat(1_100)}${index}`)));
      for (let index = 0; index < 500; index++) keys.push(utf8(`key:${index}`));
      await store.write({ records: keys.slice(0, 2_000).map((key) => makeRecord(key, 'x')), purgeKeys: [] });
      void store.write({ records: keys.slice(2_000).map((key) => makeRecord(key, 'y')), purgeKeys: [keys[5]!] }); // pending in LMDB
      const expected = keys.filter((_, index) => index !== 5).sort(byBucketThenKey);
      for (const limit of [1, 7, 1_000, 10_000]) {
        const paged: Uint8Array[] = [];
        let bucket = 0;
        let after: Uint8Array | undefined;
        let pages = 0;
        while (bucket < KEY_BUCKET_COUNT) {
          const page = store.scanFrom(bucket, after, limit);
          assert.ok(page.records.length <= limit);
          for (const record of page.records) paged.push(record.key);
          bucket = page.nextBucket;
          after = page.nextAfter;
          assert.ok(++pages <= expected.length + 1);
        }
        assert.deepEqual(paged.map((key) => Buffer.from(key).toString('hex')), expected.map((key) => Buffer.from(key).toString('hex')), `limit ${limit}`);
      }
      assert.deepEqual(store.scanFrom(KEY_BUCKET_COUNT, undefined, 5), { records: [], nextBucket: KEY_BUCKET_COUNT, nextAfter: undefined });
      await store.flush();
    }));

  test(`${implementation.name}: hundreds of rows of one bucket pending at once (a big hash written in one batch) read, scan and commit as any`, () =>
    withOpen(async (store) => {
      // Every row of a key falls in its key's bucket: past BUCKET_LIST_ROWS_MAX the overlay gives the bucket a map.
      const userKey = utf8('big-hash');
      const prefix = kindPrefix(userKey, RowKind.Field);
      const rows = Array.from({ length: 300 }, (_, index) => rowKey(userKey, RowKind.Field, utf8(`f${index}`)));
      const expected = new Map(rows.map((row) => [bytesToMapKey(row), makeRecord(row, 'v1')]));
      const scanned = (): VersionedRecord[] => {
        const found: VersionedRecord[] = [];
        for (let after: Uint8Array | undefined; ; ) {
          const page = store.scanRows(prefix, after, 64);
          found.push(...page.records);
          if (page.done || page.records.length === 0) return found;
          after = page.records[page.records.length - 1]!.key;
        }
      };
      const check = (): void => {
        for (const row of rows) assert.deepEqual(store.get(row), expected.get(bytesToMapKey(row)));
        assert.deepEqual(scanned(), [...expected.values()].sort((a, b) => compareBytes(a.key, b.key)));
        assert.equal(countRecords(store), expected.size);
      };
      const first = store.write({ records: [...expected.values()], purgeKeys: [] });
      check();
      // A second batch while the first is pending: every other row rewritten, every fifth purged.
      const rewritten = rows.filter((_, index) => index % 2 === 0).map((row) => makeRecord(row, 'v2', 2_000));
      for (const record of rewritten) expected.set(bytesToMapKey(record.key), record);
      const purged = rows.filter((_, index) => index % 5 === 0);
      for (const row of purged) expected.delete(bytesToMapKey(row));
      const second = store.write({ records: rewritten, purgeKeys: purged });
      check();
      await first;
      check();
      await second;
      check();
      // The bucket empty of pending rows again: a few rows pending go back to its list.
      const few = rows.slice(1, 4).map((row) => makeRecord(row, 'v3', 3_000));
      for (const record of few) expected.set(bytesToMapKey(record.key), record);
      const third = store.write({ records: few, purgeKeys: [] });
      check();
      await third;
      check();
    }));

  test(`${implementation.name}: meta values read back at once and after commit`, () =>
    withOpen(async (store) => {
      assert.equal(store.getMeta('node-id'), undefined);
      const put = store.putMeta('node-id', utf8('abc'));
      assert.deepEqual(store.getMeta('node-id'), utf8('abc'));
      await put;
      await store.putMeta('node-id', utf8('def'));
      assert.deepEqual(store.getMeta('node-id'), utf8('def'));
      assert.equal(countRecords(store), 0, 'meta values are not records');
    }));

  test(`${implementation.name}: random operations match a simple model`, async () => {
    const keyArbitrary = fc.constantFrom(...['a', 'b', 'c', 'd', 'e', 'long'].map((name) => (name === 'long' ? 'L'.repeat(1_100) : name)));
    const operation = fc.record({
      records: fc.array(fc.record({ key: keyArbitrary, value: fc.option(fc.string({ maxLength: 4 }), { nil: null }) }), { maxLength: 3 }),
      purgeKeys: fc.array(keyArbitrary, { maxLength: 2 }),
      awaitIt: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(operation, { maxLength: 12 }), async (operations) => {
        await withOpen(async (store) => {
          const model = new Map<string, VersionedRecord>();
          let wallMs = 1;
          for (const step of operations) {
            const records = step.records.map((entry) => makeRecord(entry.key, entry.value, wallMs++));
            for (const record of records) model.set(bytesToMapKey(record.key), record);
            for (const key of step.purgeKeys) model.delete(key);
            const ack = store.write({ records, purgeKeys: step.purgeKeys.map(utf8) });
            if (step.awaitIt) await ack;
            assert.equal(countRecords(store), model.size);
            for (const [key, record] of model) assert.deepEqual(store.get(utf8(key)), record);
            const expected = [...model.values()].sort((a, b) => byBucketThenKey(a.key, b.key));
            assert.deepEqual(store.scanBuckets(0, KEY_BUCKET_COUNT, 1_000).records, expected);
            const walked: VersionedRecord[] = [];
            for (let position = { nextBucket: 0, nextAfter: undefined as Uint8Array | undefined }; position.nextBucket < KEY_BUCKET_COUNT; ) {
              const page = store.scanFrom(position.nextBucket, position.nextAfter, 2);
              walked.push(...page.records);
              position = page;
            }
            assert.deepEqual(walked, expected);
          }
          await store.flush();
        });
      }),
      { numRuns: 40, seed: 20_240_601 },
    );
  });
}

// Proves a merge reads no row of a bucket that held none before it (a new node catching up fills empty buckets) and still merges last-writer-wins: rows sent twice in one batch, rows of buckets that hold rows, tombstones, batches with a clear, and any split of a random history into batches end with the newest version of every row.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { utf8 } from '../../src/core/bytes.js';
import { compareVersions } from '../../src/core/record.js';
import { clearRowKey, encodeHeader, headerRowKey, KeyType, rowBucket } from '../../src/core/rows.js';
import type { VersionedRecord } from '../../src/core/types.js';
import { KeyspaceReplica } from '../support/keyspace-replica.js';

const A = 'a'.repeat(32);
const B = 'b'.repeat(32);
const NOW_MS = 1_700_000_000_000;

function header(name: string, wallMs: number, origin = B, value: string | null = 'v'): VersionedRecord {
  const encoded = value === null ? null : encodeHeader({ type: KeyType.String, base: { bytes: utf8(value), observed: new Map() } });
  return { key: headerRowKey(utf8(name)), value: encoded, hlc: { wallMs, logical: 0 }, origin, expiresAtMs: 0 };
}

/** Counts the store reads of one row (get) the keyspace makes. */
function countGets(replica: KeyspaceReplica): { count: number } {
  const reads = { count: 0 };
  const get = replica.store.get.bind(replica.store);
  replica.store.get = (key) => {
    reads.count++;
    return get(key);
  };
  return reads;
}

function storedValue(replica: KeyspaceReplica, name: string): VersionedRecord | undefined {
  return replica.rows().find((row) => Buffer.from(row.key).equals(Buffer.from(headerRowKey(utf8(name)))));
}

/** A name whose header row lies in the same bucket as `name`'s. */
function sameBucketAs(name: string): string {
  const bucket = rowBucket(headerRowKey(utf8(name)));
  for (let index = 0; ; index++) if (rowBucket(headerRowKey(utf8(`other:${index}`))) === bucket) return `other:${index}`;
}

test('a merge into empty buckets reads nothing, and a row sent twice in the batch keeps its newer version', () => {
  const replica = new KeyspaceReplica(A);
  const reads = countGets(replica);
  const batch = Array.from({ length: 2_000 }, (_, index) => header(`key:${index}`, NOW_MS - 1_000 + index));
  batch.push(header('key:7', NOW_MS - 5_000), header('key:8', NOW_MS + 5_000, B, 'newer'));
  const changes = replica.merge(batch, NOW_MS);
  assert.equal(reads.count, 0);
  assert.equal(changes.records.length, 2_000, 'each row once');
  assert.equal(replica.counters.records_stale_in, 1, 'the older key:7');
  assert.equal(storedValue(replica, 'key:7')!.hlc.wallMs, NOW_MS - 1_000 + 7);
  assert.equal(storedValue(replica, 'key:8')!.hlc.wallMs, NOW_MS + 5_000);
  assert.ok(replica.treeMatchesStore());
});

test('a bucket holding a row: the merge reads, and an older version of that row loses', () => {
  const replica = new KeyspaceReplica(A);
  replica.merge([header('held', NOW_MS)], NOW_MS);
  const neighbour = sameBucketAs('held');
  const reads = countGets(replica);
  replica.merge([header(neighbour, NOW_MS), header('held', NOW_MS - 1, B, 'older')], NOW_MS);
  assert.ok(reads.count >= 2, 'both rows read: the bucket held a row before');
  assert.equal(storedValue(replica, 'held')!.hlc.wallMs, NOW_MS);
  assert.equal(storedValue(replica, neighbour)!.hlc.wallMs, NOW_MS);
});

test('a batch with a clear reads every row: the clear removes rows, so counts no longer tell what was stored', () => {
  const replica = new KeyspaceReplica(A);
  replica.merge([header('kept', NOW_MS)], NOW_MS);
  const cleared = sameBucketAs('kept');
  const clear: VersionedRecord = { key: clearRowKey(utf8(cleared)), value: null, hlc: { wallMs: NOW_MS, logical: 1 }, origin: B, expiresAtMs: 0 };
  const reads = countGets(replica);
  replica.merge([clear, header('kept', NOW_MS - 1, B, 'older')], NOW_MS);
  assert.ok(reads.count >= 1);
  assert.equal(storedValue(replica, 'kept')!.hlc.wallMs, NOW_MS, 'the stored newer version stays');
});

test('any split of a history into batches, in any order, ends with the newest version of every row', () => {
  const version = fc.record({ key: fc.integer({ min: 0, max: 11 }), wallMs: fc.integer({ min: 0, max: 50 }), origin: fc.constantFrom(A, B), tombstone: fc.boolean() });
  fc.assert(
    fc.property(fc.array(version, { minLength: 1, maxLength: 60 }), fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 20 }), (history, cuts) => {
      const records = history.map((entry) => header(`k${entry.key}`, NOW_MS - 100 + entry.wallMs, entry.origin, entry.tombstone ? null : `v${entry.wallMs}`));
      const replica = new KeyspaceReplica('c'.repeat(32));
      let at = 0;
      for (let index = 0; at < records.length; index++) {
        const size = cuts[index % cuts.length]!;
        replica.merge(records.slice(at, at + size), NOW_MS);
        at += size;
      }
      const newest = new Map<string, VersionedRecord>();
      for (const record of records) {
        const name = Buffer.from(record.key).toString('latin1');
        const known = newest.get(name);
        if (known === undefined || compareVersions(record, known) > 0) newest.set(name, record);
      }
      const stored = replica.rows();
      assert.equal(stored.length, newest.size);
      for (const row of stored) assert.equal(compareVersions(row, newest.get(Buffer.from(row.key).toString('latin1'))!), 0);
      assert.ok(replica.treeMatchesStore());
    }),
    { numRuns: 300 },
  );
});

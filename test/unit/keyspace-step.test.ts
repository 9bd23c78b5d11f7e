// Proves the keyspace decides each step from its own earlier changes, not the store's stale view: a clear or flush in a batch removes rows written earlier in that batch (as on the replicas that merge it), and a purge followed by a sweep of the same key in one tick keeps the Merkle tree equal to the store.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { utf8 } from '../../src/core/bytes.js';
import type { ClientWrite } from '../../src/core/io.js';
import { clearRowKey, encodeFieldValue, encodeHeader, encodeSlotTotal, encodeStringHeader, FLUSH_ROW_KEY, headerRowKey, KeyType, rowKey, RowKind, slotElement } from '../../src/core/rows.js';
import type { VersionedRecord } from '../../src/core/types.js';
import { KeyspaceReplica } from '../support/keyspace-replica.js';

const A = 'a'.repeat(32);
const B = 'b'.repeat(32);
const KEY = utf8('k');
const NOW_MS = 1_700_000_000_000;

function describe(rows: readonly VersionedRecord[]): string[] {
  return rows.map((row) => `${Buffer.from(row.key).toString('hex')}@${row.hlc.wallMs}.${row.hlc.logical}/${row.origin.slice(0, 1)}${row.value === null ? ' T' : ''}`);
}

function hashWrites(): ClientWrite[] {
  return [
    { key: headerRowKey(KEY), value: encodeHeader({ type: KeyType.Hash, base: undefined }), expiresAtMs: 0 },
    { key: rowKey(KEY, RowKind.Field, utf8('f')), value: encodeFieldValue({ bytes: utf8('0'), observed: new Map() }), expiresAtMs: 0 },
    { key: rowKey(KEY, RowKind.Slot, slotElement(utf8('f'), A)), value: encodeSlotTotal({ integer: 3n, float: 0 }), expiresAtMs: 0 },
  ];
}

test('MULTI: a clear after rows of its key in the same write leaves only the clear, here and on a replica', () => {
  const origin = new KeyspaceReplica(A);
  const replica = new KeyspaceReplica(B);
  const persisted = origin.write([...hashWrites(), { key: clearRowKey(KEY), value: null, expiresAtMs: 0 }], NOW_MS);
  assert.deepEqual(describe(origin.rows()), describe(persisted));
  assert.equal(origin.rows().length, 1, 'only the clear row is stored');
  replica.merge(persisted, NOW_MS);
  assert.deepEqual(describe(replica.rows()), describe(origin.rows()));
  assert.ok(origin.treeMatchesStore() && replica.treeMatchesStore());
  assert.deepEqual(origin.tree.root(), replica.tree.root());
});

test('MULTI: FLUSHALL after writes in the same write leaves only the flush row', () => {
  const origin = new KeyspaceReplica(A);
  const replica = new KeyspaceReplica(B);
  const persisted = origin.write([...hashWrites(), { key: headerRowKey(utf8('s')), value: encodeStringHeader(utf8('v')), expiresAtMs: 0 }, { key: FLUSH_ROW_KEY, value: null, expiresAtMs: 0 }], NOW_MS);
  assert.equal(origin.rows().length, 1);
  replica.merge(persisted, NOW_MS);
  assert.deepEqual(describe(replica.rows()), describe(origin.rows()));
  assert.deepEqual(origin.tree.root(), replica.tree.root());
  assert.ok(origin.treeMatchesStore());
});

test('a tick that purges a clear row and then sweeps an expired header of the same key keeps the tree equal to the store', () => {
  const node = new KeyspaceReplica(A);
  const [clear] = node.write([{ key: clearRowKey(KEY), value: null, expiresAtMs: 0 }], NOW_MS);
  node.write([{ key: headerRowKey(KEY), value: encodeStringHeader(utf8('v')), expiresAtMs: NOW_MS + 500 }], NOW_MS + 100);
  // One step, as NodeCore.onTick runs it: early purge, then the sweep; the store sees both only afterwards.
  const purged = node.keyspace.takeExactTombstones([clear!]);
  assert.equal(purged.length, 1);
  const swept = node.keyspace.sweepSlice(NOW_MS + 1_000);
  void node.store.write({ records: [], purgeKeys: purged.map((row) => row.key) });
  void node.store.write({ records: swept.records, purgeKeys: swept.purgeKeys });
  node.keyspace.settle();
  assert.equal(swept.records.length, 1, 'the expired header became its marker (core/expiry.ts)');
  assert.equal(swept.records[0]!.value, null);
  assert.equal(swept.previous[0]!.value !== null, true, 'it replaced the expired header');
  assert.ok(node.treeMatchesStore(), 'the purged clear is not removed from the tree twice');
});

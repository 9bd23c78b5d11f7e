// Proves an expiry acts only while its header is the key's newest (core/expiry.ts): a header written before the expiry on a node that had not seen it keeps the key and its rows on every replica in any arrival order, expired rows stop counting at once but are removed only once the expiry is final, and a key created again after its expiry starts empty.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { utf8 } from '../../src/core/bytes.js';
import { DEFAULT_CORE_CONFIG } from '../../src/core/config.js';
import type { ClientWrite } from '../../src/core/io.js';
import { encodeFieldValue, encodeHeader, headerRowKey, KeyType, rowKey, RowKind } from '../../src/core/rows.js';
import type { VersionedRecord } from '../../src/core/types.js';
import { KeyspaceReplica } from '../support/keyspace-replica.js';

const A = 'a'.repeat(32);
const B = 'b'.repeat(32);
const C = 'c'.repeat(32);
const KEY = utf8('k');
const NOW_MS = 1_700_000_000_000;
const GRACE_MS = 10_000;
const CONFIG = { ...DEFAULT_CORE_CONFIG, tombstoneGraceMs: GRACE_MS };
const HASH = encodeHeader({ type: KeyType.Hash, base: undefined });

function header(expiresAtMs: number): ClientWrite {
  return { key: headerRowKey(KEY), value: HASH, expiresAtMs };
}

function field(name: string): ClientWrite {
  return { key: rowKey(KEY, RowKind.Field, utf8(name)), value: encodeFieldValue({ bytes: utf8('v'), observed: new Map() }), expiresAtMs: 0 };
}

function describe(rows: readonly VersionedRecord[]): string[] {
  return rows.map((row) => `${Buffer.from(row.key).toString('hex')}@${row.hlc.wallMs}.${row.hlc.logical}/${row.origin.slice(0, 1)}=${row.value === null ? 'T' : Buffer.from(row.value).toString('hex')}|${row.expiresAtMs}`);
}

/** A hash with a TTL written on A and replicated to B; then B, not having seen it expire, persists it (PERSIST: a newer header without expiry). */
function persistRace(): { a: KeyspaceReplica; b: KeyspaceReplica; created: VersionedRecord[]; persisted: VersionedRecord[] } {
  const a = new KeyspaceReplica(A, CONFIG);
  const b = new KeyspaceReplica(B, CONFIG);
  const created = a.write([header(NOW_MS + 1_000), field('f')], NOW_MS);
  b.merge(created, NOW_MS + 10);
  const persisted = b.write([header(0)], NOW_MS + 500);
  return { a, b, created, persisted };
}

test('a header written before an older header expired keeps the key and its fields, whichever arrives first', () => {
  const { a, b, created, persisted } = persistRace();
  // A, cut off from B, sweeps the expiry: the key reads as gone at once but its rows stay.
  const swept = a.sweep(NOW_MS + 2_000);
  assert.equal(swept.purgeKeys.length, 0, 'nothing is removed at the expiry itself');
  assert.equal(a.keyspace.liveKeys, 0);
  assert.equal(a.keyspace.fieldCount(KEY), 0);
  assert.equal(a.keyspace.liveKeysOf(a.rows(), NOW_MS + 2_000).keys.length, 0, 'SCAN does not see the expired key');
  // The persist arrives: the expiry never happened.
  a.merge(persisted, NOW_MS + 2_100);
  assert.equal(a.keyspace.liveKeys, 1);
  assert.equal(a.keyspace.fieldCount(KEY), 1);
  // B hears of the sweep afterwards: nothing changes.
  b.merge(swept.records, NOW_MS + 2_200);
  b.sweep(NOW_MS + 2_300);
  // C gets everything in the other order.
  const c = new KeyspaceReplica(C, CONFIG);
  c.merge(persisted, NOW_MS + 2_000);
  c.merge(created, NOW_MS + 2_000);
  c.merge(swept.records, NOW_MS + 2_000);
  for (const replica of [a, b, c]) {
    assert.deepEqual(describe(replica.rows()), describe(a.rows()));
    assert.equal(replica.keyspace.fieldCount(KEY), 1);
    assert.ok(replica.treeMatchesStore());
  }
});

test('rows dead by an expiry are removed once it is final, a late copy is dead on arrival, the marker goes one grace later', () => {
  const a = new KeyspaceReplica(A, CONFIG);
  const created = a.write([header(NOW_MS + 1_000), field('f')], NOW_MS);
  a.sweep(NOW_MS + 2_000);
  assert.equal(a.rows().length, 2, 'the marker and the field');
  const final = NOW_MS + 1_000 + GRACE_MS + 1;
  a.sweep(final);
  assert.equal(a.rows().length, 1, 'only the marker is left');
  assert.equal(a.rows()[0]!.value, null);
  a.merge(created.slice(1), final + 10);
  assert.equal(a.rows().length, 1, 'a late copy of the field is dead on arrival');
  a.sweep(final + GRACE_MS);
  assert.equal(a.rows().length, 0, 'the marker is purged one grace later');
  assert.ok(a.treeMatchesStore());
  assert.equal(a.keyspace.liveKeys, 0);
});

test('a key created again after its expiry starts empty (the clear of the expiry), and its new fields count', () => {
  const a = new KeyspaceReplica(A, CONFIG);
  const b = new KeyspaceReplica(B, CONFIG);
  const created = a.write([header(NOW_MS + 1_000), field('f')], NOW_MS);
  b.merge(created, NOW_MS + 10);
  a.sweep(NOW_MS + 2_000);
  const again = a.write([header(0), field('g')], NOW_MS + 3_000);
  assert.equal(a.keyspace.fieldCount(KEY), 1);
  assert.equal(a.keyspace.liveKeys, 1);
  b.merge(again, NOW_MS + 3_010);
  assert.deepEqual(describe(b.rows()), describe(a.rows()));
  assert.equal(b.keyspace.fieldCount(KEY), 1);
  assert.ok(a.treeMatchesStore() && b.treeMatchesStore());
});

test('a node that has nothing of a finally expired key takes its marker from a peer, and the dead rows that come after it stay dead', () => {
  const a = new KeyspaceReplica(A, CONFIG);
  const created = a.write([header(NOW_MS + 1_000), field('f')], NOW_MS);
  const swept = a.sweep(NOW_MS + 2_000);
  const late = new KeyspaceReplica(B, CONFIG);
  const final = NOW_MS + 1_000 + GRACE_MS + 1;
  late.merge([...swept.records, ...created.slice(1)], final);
  assert.equal(late.rows().length, 1, 'the marker only');
  assert.equal(late.keyspace.liveKeys, 0);
  assert.equal(late.keyspace.liveKeysOf(late.rows(), final).keys.length, 0);
});

// A clear whose key has no live element left (a drained list, a set emptied member by
// member) removes its header and first rows in its own step and the remaining tombstones in
// later steps (Keyspace.purgeClearedSlice): nothing reads differently meanwhile, the Merkle
// tree always describes the stored rows, a restart picks the work up again, and a clear of
// a key with live rows is still carried out whole in its step.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { utf8 } from '../../src/core/bytes.js';
import { DEFAULT_CORE_CONFIG } from '../../src/core/config.js';
import { createHlcClock, HLC_ZERO } from '../../src/core/hlc.js';
import type { ClientWrite } from '../../src/core/io.js';
import { Keyspace } from '../../src/core/keyspace.js';
import { MerkleTree } from '../../src/core/merkle.js';
import { clearRowKey, encodeHeader, headerRowKey, KeyType, rowKey, RowKind } from '../../src/core/rows.js';
import { TombstoneTracker } from '../../src/core/tombstones.js';
import type { VersionedRecord } from '../../src/core/types.js';
import { MemoryStore } from '../../src/storage/memory-store.js';

const A = 'a'.repeat(32);
const KEY = utf8('q');
const OTHER = utf8('other');
const MEMBERS = 3_000;
const PRESENT = new Uint8Array(0);

function replica(origin: string, store = new MemoryStore()) {
  const counters = new Proxy({} as Record<string, number>, { get: (target, name: string) => target[name] ?? 0 });
  const tree = new MerkleTree();
  const keyspace = new Keyspace(store, tree, new TombstoneTracker(origin, DEFAULT_CORE_CONFIG.tombstoneGraceMs), DEFAULT_CORE_CONFIG, counters);
  const clock = createHlcClock(HLC_ZERO, DEFAULT_CORE_CONFIG.hlcMaxOffsetMs);
  const apply = (changes: { records: VersionedRecord[]; purgeKeys: Uint8Array[] }): void => {
    void store.write({ records: changes.records, purgeKeys: changes.purgeKeys });
    keyspace.settle();
  };
  return {
    store,
    keyspace,
    tree,
    counters,
    write(writes: ClientWrite[], nowMs = 1_000) {
      const changes = keyspace.stamp(writes, clock, origin, nowMs);
      apply(changes);
      return changes;
    },
    merge(records: VersionedRecord[], nowMs = 1_000) {
      const changes = keyspace.merge(records, nowMs);
      apply(changes);
      return changes;
    },
    slice() {
      const changes = keyspace.purgeClearedSlice();
      apply(changes);
      return changes;
    },
    rows(): VersionedRecord[] {
      return store.scanBuckets(0, 65_536, 10_000_000).records;
    },
  };
}

const setHeader = (key: Uint8Array): ClientWrite => ({ key: headerRowKey(key), value: encodeHeader({ type: KeyType.Set, base: undefined }), expiresAtMs: 0 });
const member = (key: Uint8Array, index: number): ClientWrite => ({ key: rowKey(key, RowKind.Field, utf8(`m${index}`)), value: PRESENT, expiresAtMs: 0 });
const removed = (key: Uint8Array, index: number): ClientWrite => ({ key: rowKey(key, RowKind.Field, utf8(`m${index}`)), value: null, expiresAtMs: 0 });
const clear = (key: Uint8Array): ClientWrite => ({ key: clearRowKey(key), value: null, expiresAtMs: 0 });

/** A set of MEMBERS members, every one but the last removed one at a time (tombstones), as SREM leaves it. */
function drainedButOne(node: ReturnType<typeof replica>): VersionedRecord[] {
  const sent: VersionedRecord[] = [];
  sent.push(...node.write([setHeader(KEY), ...Array.from({ length: MEMBERS }, (_, index) => member(KEY, index))]).records);
  for (let index = 0; index < MEMBERS - 1; index++) sent.push(...node.write([removed(KEY, index)]).records);
  return sent;
}

/** What a read of the key's live rows returns. */
function liveRows(node: ReturnType<typeof replica>, key: Uint8Array): string[] {
  return node.rows().filter((row) => row.value !== null && Buffer.from(row.key).subarray(1, 1 + key.length).equals(Buffer.from(key)) && row.key[0] === key.length).map((row) => Buffer.from(row.key).toString('hex'));
}

function assertTreeMatchesRows(node: ReturnType<typeof replica>): void {
  assert.ok(node.tree.equals(MerkleTree.build(node.rows())), "the tree describes the stored rows");
}

test('the last removal of a drained set clears its header now and its tombstones over later steps, reading the same throughout', () => {
  const node = replica(A);
  node.write([setHeader(OTHER), member(OTHER, 1)]);
  drainedButOne(node);
  const last = node.write([clear(KEY), removed(KEY, MEMBERS - 1)]);
  // The step removed the header and at most a few hundred rows, not all 3,000.
  assert.ok(last.purgeKeys.length > 0 && last.purgeKeys.length < 1_000, `purged ${last.purgeKeys.length} rows in the clearing step`);
  assert.equal(node.counters.clears_deferred, 1); // deferred once
  assert.equal(node.keyspace.pendingClearCount, 1);
  assert.equal(node.store.get(headerRowKey(KEY)), undefined);
  assert.deepEqual(liveRows(node, KEY), []);
  assert.equal(node.keyspace.liveKeys, 1); // only OTHER
  assertTreeMatchesRows(node);
  // A member added between slices is newer than the clear: it survives them.
  node.write([setHeader(KEY), member(KEY, 7)]);
  let slices = 0;
  while (node.keyspace.pendingClearCount > 0) {
    node.slice();
    slices++;
    assertTreeMatchesRows(node);
    assert.equal(liveRows(node, KEY).length, 2); // the new header and member
  }
  assert.ok(slices > 1, `${slices} slices`);
  // Left: the clear, the last member's tombstone (stamped after the clear), the new header and member.
  const keyRows = node.rows().filter((row) => Buffer.from(row.key).subarray(0, 2).equals(Buffer.from([1, KEY[0]!])));
  assert.deepEqual(keyRows.map((row) => (row.value === null ? 'tombstone' : 'live')).sort(), ['live', 'live', 'tombstone', 'tombstone']);
  assert.equal(node.keyspace.fieldCount(KEY), 1);
  assert.equal(node.keyspace.liveKeys, 2);
  assert.deepEqual(liveRows(node, OTHER).length, 2);
});

test('a clear of a key that still has live rows past its first page removes them all in its step', () => {
  const node = replica(A);
  node.write([setHeader(KEY), ...Array.from({ length: MEMBERS }, (_, index) => member(KEY, index))]);
  const del = node.write([clear(KEY)]);
  assert.equal(del.purgeKeys.length, MEMBERS + 1);
  assert.equal(node.keyspace.pendingClearCount, 0);
  assert.equal(node.counters.clears_deferred, 0);
  assert.equal(node.rows().length, 1); // the clear
  assert.equal(node.keyspace.liveKeys, 0);
  assertTreeMatchesRows(node);
});

test('a replica defers the same clear, and both end with the same rows', () => {
  const origin = replica(A);
  const other = replica('b'.repeat(32));
  const sent = drainedButOne(origin);
  other.merge(sent);
  const lastBatch = origin.write([clear(KEY), removed(KEY, MEMBERS - 1)]).records;
  const merged = other.merge(lastBatch);
  assert.ok(merged.purgeKeys.length < 1_000);
  assert.equal(other.keyspace.pendingClearCount, 1);
  assert.deepEqual(liveRows(other, KEY), []);
  while (origin.keyspace.pendingClearCount > 0) origin.slice();
  while (other.keyspace.pendingClearCount > 0) other.slice();
  assert.ok(other.tree.equals(origin.tree));
  assert.equal(other.rows().length, origin.rows().length);
});

test('a restart in the middle of a deferred clear finds its tombstones again and removes them', () => {
  const node = replica(A);
  drainedButOne(node);
  node.write([clear(KEY), removed(KEY, MEMBERS - 1)]);
  node.slice();
  const left = node.rows().length;
  assert.ok(left > 100, `${left} rows left`);
  const restarted = replica(A, node.store);
  assert.equal(restarted.keyspace.pendingClearCount, 0);
  restarted.keyspace.load();
  assert.equal(restarted.keyspace.pendingClearCount, 1);
  while (restarted.keyspace.pendingClearCount > 0) restarted.slice();
  assert.equal(restarted.rows().length, 2); // the clear and the last tombstone
  assertTreeMatchesRows(restarted);
  // A store with nothing left to clear resumes nothing.
  const again = replica(A, node.store);
  again.keyspace.load();
  assert.equal(again.keyspace.pendingClearCount, 0);
});

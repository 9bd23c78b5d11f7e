// Proves the core's cluster-wide clear (the flush row) and its type-conflict count: a flush removes every row stamped at or below it, locally and when merged from a peer, refuses older rows that arrive later (also after a restart), keeps the key counts right, is purged by the sweep after the grace period; and a remote header meeting a live local header of another type is counted in type_conflicts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { utf8 } from '../../src/core/bytes.js';
import { DEFAULT_CORE_CONFIG } from '../../src/core/config.js';
import { createHlcClock, HLC_ZERO, type HlcClock } from '../../src/core/hlc.js';
import type { ClientWrite } from '../../src/core/io.js';
import { Keyspace } from '../../src/core/keyspace.js';
import { MerkleTree } from '../../src/core/merkle.js';
import { encodeFieldValue, encodeHeader, encodeStringHeader, FLUSH_ROW_KEY, headerRowKey, KeyType, rowKey, RowKind } from '../../src/core/rows.js';
import { TombstoneTracker } from '../../src/core/tombstones.js';
import type { VersionedRecord } from '../../src/core/types.js';
import { MemoryStore } from '../../src/storage/memory-store.js';

const START_MS = 1_800_000_000_000;
const A = 'a'.repeat(32);
const B = 'b'.repeat(32);

/** A keyspace over a memory store whose changes are written at once, as a node persists them. */
function node(id: string, store = new MemoryStore()) {
  const counters: Record<string, number> = new Proxy({} as Record<string, number>, { get: (target, name: string) => target[name] ?? 0 });
  const keyspace = new Keyspace(store, new MerkleTree(), new TombstoneTracker(id, DEFAULT_CORE_CONFIG.tombstoneGraceMs), DEFAULT_CORE_CONFIG, counters);
  keyspace.load();
  const clock: HlcClock = createHlcClock(HLC_ZERO, DEFAULT_CORE_CONFIG.hlcMaxOffsetMs);
  const apply = (changes: { records: VersionedRecord[]; purgeKeys: Uint8Array[] }) => void store.write({ records: changes.records, purgeKeys: changes.purgeKeys });
  return {
    store,
    keyspace,
    counters,
    /** Stamp local writes; returns the stamped rows (what replication would send). */
    write(writes: ClientWrite[], nowMs: number): VersionedRecord[] {
      const changes = keyspace.stamp(writes, clock, id, nowMs);
      apply(changes);
      return changes.records.filter((record) => writes.some((write) => equal(write.key, record.key)));
    },
    merge(records: VersionedRecord[], nowMs: number): void {
      apply(keyspace.merge(records, nowMs));
    },
    sweep(nowMs: number): void {
      do apply(keyspace.sweepSlice(nowMs));
      while (!keyspace.sweepWrapped());
    },
  };
}

function equal(left: Uint8Array, right: Uint8Array): boolean {
  return left.length === right.length && left.every((byte, index) => byte === right[index]);
}

const set = (key: string, value = 'v', expiresAtMs = 0): ClientWrite => ({ key: headerRowKey(utf8(key)), value: encodeStringHeader(utf8(value)), expiresAtMs });
const FLUSH: ClientWrite = { key: FLUSH_ROW_KEY, value: null, expiresAtMs: 0 };

function hashWrites(key: string, fields: string[]): ClientWrite[] {
  return [
    { key: headerRowKey(utf8(key)), value: encodeHeader({ type: KeyType.Hash, base: undefined }), expiresAtMs: 0 },
    ...fields.map((field) => ({ key: rowKey(utf8(key), RowKind.Field, utf8(field)), value: encodeFieldValue({ bytes: utf8('x'), observed: new Map() }), expiresAtMs: 0 })),
  ];
}

function storedRows(store: MemoryStore): VersionedRecord[] {
  return store.scanBuckets(0, 65_536, Number.MAX_SAFE_INTEGER).records;
}

test('a local flush removes every row of every key and keeps the counts right', () => {
  const a = node(A);
  a.write([set('s1'), set('s2', 'v', START_MS + 60_000)], START_MS);
  a.write(hashWrites('h', ['f1', 'f2']), START_MS + 1);
  assert.equal(a.keyspace.liveKeys, 3);
  assert.equal(a.keyspace.keysWithExpiry, 1);
  a.write([FLUSH], START_MS + 2);
  assert.equal(a.keyspace.liveKeys, 0);
  assert.equal(a.keyspace.keysWithExpiry, 0);
  assert.deepEqual(storedRows(a.store).map((record) => [...record.key]), [[...FLUSH_ROW_KEY]], 'only the flush row is left');
  a.write([set('after')], START_MS + 3);
  assert.equal(a.keyspace.liveKeys, 1, 'writes after the flush live');
});

test('a flush merged from a peer removes the rows stamped before it and keeps the later ones; older rows arriving later are refused', () => {
  const a = node(A);
  const b = node(B);
  const early = a.write([set('early')], START_MS);
  b.merge(early, START_MS);
  const flush = a.write([FLUSH], START_MS + 10);
  b.write([set('written-on-b-after')], START_MS + 20); // stamped after the flush, before it arrives
  const straggler = { ...early[0]!, key: headerRowKey(utf8('straggler')) }; // stamped before the flush, arrives after it
  b.merge(flush, START_MS + 30);
  assert.equal(b.store.get(headerRowKey(utf8('early'))), undefined);
  assert.ok(b.store.get(headerRowKey(utf8('written-on-b-after'))) !== undefined);
  assert.equal(b.keyspace.liveKeys, 1);
  const staleBefore = b.counters.records_stale_in!;
  b.merge([straggler], START_MS + 40);
  assert.equal(b.store.get(straggler.key), undefined, 'a row stamped below the flush is dead on arrival');
  assert.equal(b.counters.records_stale_in, staleBefore + 1);
  a.merge([straggler], START_MS + 40);
  assert.equal(a.store.get(straggler.key), undefined);
});

test('a restarted node restores the flush stamp from storage and still refuses rows stamped below it', () => {
  const a = node(A);
  const old = a.write([set('old')], START_MS);
  a.write([FLUSH], START_MS + 10);
  const restarted = node(A, a.store);
  assert.equal(restarted.keyspace.liveKeys, 0);
  restarted.merge(old, START_MS + 20);
  assert.equal(restarted.store.get(old[0]!.key), undefined);
  assert.equal(restarted.keyspace.liveKeys, 0);
});

test('both nodes end with the same rows and Merkle root after a flush replicates', () => {
  const a = node(A);
  const b = node(B);
  const rows = a.write([set('x'), set('y')], START_MS);
  b.merge(rows, START_MS);
  b.merge(b.write([set('z')], START_MS + 1), START_MS + 1);
  a.merge([...b.store.scanBuckets(0, 65_536, 100).records], START_MS + 2);
  const flush = a.write([FLUSH], START_MS + 5);
  b.merge(flush, START_MS + 6);
  const after = b.write([set('later')], START_MS + 7);
  a.merge(after, START_MS + 8);
  assert.deepEqual(a.keyspace.tree.root(), b.keyspace.tree.root());
  assert.equal(a.keyspace.liveKeys, 1);
  assert.equal(b.keyspace.liveKeys, 1);
});

test('the sweep purges the flush row after the tombstone grace period', () => {
  const a = node(A);
  a.write([set('k')], START_MS);
  a.write([FLUSH], START_MS + 1);
  a.sweep(START_MS + 2);
  assert.ok(a.store.get(FLUSH_ROW_KEY) !== undefined, 'kept within the grace');
  a.sweep(START_MS + 2 + DEFAULT_CORE_CONFIG.tombstoneGraceMs);
  assert.equal(a.store.get(FLUSH_ROW_KEY), undefined);
  assert.equal(storedRows(a.store).length, 0);
});

test('type_conflicts counts a remote header meeting a live local header of another type, on either side of the race', () => {
  const a = node(A);
  const b = node(B);
  const asString = a.write([set('k')], START_MS);
  const asHash = b.write(hashWrites('k', ['f']), START_MS + 1);
  a.merge(asHash, START_MS + 2); // the hash header wins here
  b.merge(asString, START_MS + 2); // the string header loses here
  assert.equal(a.counters.type_conflicts, 1);
  assert.equal(b.counters.type_conflicts, 1);
  assert.deepEqual(a.keyspace.tree.root(), b.keyspace.tree.root());
  // Not conflicts: the same type again, a header over an expired one, a key replaced through its clear.
  a.merge(asHash, START_MS + 3);
  const expiring = a.write([set('e', 'v', START_MS + 10)], START_MS + 4);
  b.merge(expiring, START_MS + 5);
  b.merge(node(B).write(hashWrites('e', ['f']), START_MS + 20), START_MS + 20);
  const replaced = a.write([{ key: rowKey(utf8('k'), RowKind.Clear), value: null, expiresAtMs: 0 }, set('k')], START_MS + 30);
  b.merge(replaced, START_MS + 31);
  assert.equal(a.counters.type_conflicts, 1);
  assert.equal(b.counters.type_conflicts, 1);
});

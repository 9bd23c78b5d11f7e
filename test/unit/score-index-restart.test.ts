// Proves a sorted set's score index follows the paths that change rows without a command: after a restart a keyspace loading the reopened LMDB store rebuilds the same index from the rows alone (counter slots from another origin included, deleted and non-zset keys not); the sweep of an expired sorted set drops its index; a resync that forgets old rows leaves the index equal to the rows that remain.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { utf8 } from '../../src/core/bytes.js';
import { DEFAULT_CORE_CONFIG } from '../../src/core/config.js';
import { createHlcClock, HLC_ZERO } from '../../src/core/hlc.js';
import type { ClientWrite } from '../../src/core/io.js';
import { Keyspace } from '../../src/core/keyspace.js';
import { MerkleTree } from '../../src/core/merkle.js';
import { clearRowKey, encodeFieldValue, encodeHeader, encodeSlotTotal, headerRowKey, KeyType, rowKey, RowKind, slotElement } from '../../src/core/rows.js';
import { TombstoneTracker } from '../../src/core/tombstones.js';
import type { VersionedRecord } from '../../src/core/types.js';
import { openLmdbStore, type LmdbStore } from '../../src/storage/lmdb-store.js';
import { MemoryStore } from '../../src/storage/memory-store.js';
import type { Store } from '../../src/storage/store.js';

const A = 'a'.repeat(32);
const B = 'b'.repeat(32);
const NOW_MS = 1_800_000_000_000;
const MEMBERS = 3_000;

function keyspaceOver(store: Store): Keyspace {
  const counters: Record<string, number> = new Proxy({} as Record<string, number>, { get: (target, name: string) => target[name] ?? 0 });
  const keyspace = new Keyspace(store, new MerkleTree(), new TombstoneTracker(A, DEFAULT_CORE_CONFIG.tombstoneGraceMs), DEFAULT_CORE_CONFIG, counters);
  keyspace.load();
  return keyspace;
}

const zsetHeader = (key: Uint8Array): ClientWrite => ({ key: headerRowKey(key), value: encodeHeader({ type: KeyType.ZSet, base: undefined }), expiresAtMs: 0 });
const member = (key: Uint8Array, name: string, score: string): ClientWrite => ({ key: rowKey(key, RowKind.Field, utf8(name)), value: encodeFieldValue({ bytes: utf8(score), observed: new Map() }), expiresAtMs: 0 });

test('the score index is rebuilt from the rows when a node restarts', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'peerkv-score-index-'));
  try {
    let store = await openLmdbStore({ dir, fsync: 'no' });
    const keyspace = keyspaceOver(store);
    const clock = createHlcClock(HLC_ZERO, DEFAULT_CORE_CONFIG.hlcMaxOffsetMs);
    const write = (writes: ClientWrite[]) => {
      const changes = keyspace.stamp(writes, clock, A, NOW_MS);
      void store.write({ records: changes.records, purgeKeys: changes.purgeKeys });
      keyspace.settle();
    };
    const board = utf8('board');
    const gone = utf8('gone');
    const hash = utf8('hash');
    const writes: ClientWrite[] = [];
    for (let index = 0; index < MEMBERS; index++) writes.push(member(board, `m${index}`, String((index * 7919) % 1000)));
    write([...writes, zsetHeader(board)]);
    write([member(gone, 'x', '1'), zsetHeader(gone)]);
    write([{ key: clearRowKey(gone), value: null, expiresAtMs: 0 }]);
    write([member(hash, 'f', '5'), { key: headerRowKey(hash), value: encodeHeader({ type: KeyType.Hash, base: undefined }), expiresAtMs: 0 }]);
    // Another origin's ZINCRBY of m7 by 0.5, replicated here.
    const merged = keyspace.merge([{ key: rowKey(board, RowKind.Slot, slotElement(utf8('m7'), B)), value: encodeSlotTotal({ integer: 0n, float: 0.5 }), hlc: { wallMs: NOW_MS + 1, logical: 0 }, origin: B, expiresAtMs: 0 }], NOW_MS);
    void store.write({ records: merged.records, purgeKeys: merged.purgeKeys });
    keyspace.settle();

    const before = keyspace.scoreIndexes.of(board)!.entries();
    assert.equal(before.length, MEMBERS);
    assert.equal(keyspace.scoreIndexes.of(board)!.scoreOf('m7'), ((7 * 7919) % 1000) + 0.5);
    assert.equal(keyspace.scoreIndexes.of(gone), undefined);
    assert.equal(keyspace.scoreIndexes.of(hash), undefined);
    await store.close();

    store = await openLmdbStore({ dir, fsync: 'no' });
    const restarted = keyspaceOver(store);
    assert.deepEqual(restarted.scoreIndexes.of(board)!.entries(), before);
    assert.equal(restarted.scoreIndexes.of(board)!.rankOf('m7'), before.findIndex((entry) => entry.member === 'm7'));
    assert.equal(restarted.scoreIndexes.of(gone), undefined);
    assert.equal(restarted.scoreIndexes.of(hash), undefined);
    assert.equal(restarted.scoreIndexes.count, 1);
    await store.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the sweep of an expired sorted set and a resync that forgets old rows keep the index equal to the rows', () => {
  const store = new MemoryStore();
  const keyspace = keyspaceOver(store);
  const clock = createHlcClock(HLC_ZERO, DEFAULT_CORE_CONFIG.hlcMaxOffsetMs);
  const apply = (changes: { records: VersionedRecord[]; purgeKeys: Uint8Array[] }) => {
    void store.write({ records: changes.records, purgeKeys: changes.purgeKeys });
    keyspace.settle();
  };
  const expiring = utf8('expiring');
  const board = utf8('board');
  apply(keyspace.stamp([member(expiring, 'x', '1'), { ...zsetHeader(expiring), expiresAtMs: NOW_MS + 10 }], clock, A, NOW_MS));
  apply(keyspace.stamp([member(board, 'old', '1'), zsetHeader(board)], clock, A, NOW_MS));
  apply(keyspace.stamp([member(board, 'new', '2'), zsetHeader(board)], clock, A, NOW_MS + 5_000));
  assert.equal(keyspace.scoreIndexes.of(expiring)!.size, 1);
  // The sweep turns the expired header into its clear: rows and index go.
  for (let slice = 0; slice < 64; slice++) apply(keyspace.sweepSlice(NOW_MS + 1_000));
  assert.equal(keyspace.scoreIndexes.of(expiring), undefined);
  assert.deepEqual(keyspace.scoreIndexes.of(board)!.entries(), [
    { score: 1, member: 'old' },
    { score: 2, member: 'new' },
  ]);
  // A resync forgets rows older than its horizon: "old" goes, the newer header and "new" stay.
  keyspace.dropOlderThan(NOW_MS + 2_000, (keys) => void store.write({ records: [], purgeKeys: keys }));
  keyspace.settle();
  assert.deepEqual(keyspace.scoreIndexes.of(board)!.entries(), [{ score: 2, member: 'new' }]);
});

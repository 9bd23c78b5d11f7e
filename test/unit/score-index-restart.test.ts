// Proves a sorted set's score index comes back after a restart: a keyspace over a real LMDB store indexes its sorted sets (counter slots from another origin included, deleted and non-zset keys not), and a new keyspace loading the reopened store rebuilds the same index from the rows alone.
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
import { openLmdbStore, type LmdbStore } from '../../src/storage/lmdb-store.js';

const A = 'a'.repeat(32);
const B = 'b'.repeat(32);
const NOW_MS = 1_800_000_000_000;
const MEMBERS = 3_000;

function keyspaceOver(store: LmdbStore): Keyspace {
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

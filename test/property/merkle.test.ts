// Proves the Merkle tree is a function of the record set alone: insertion order and update paths do not change it, and it tells sets apart.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { bytesToMapKey } from '../../src/core/bytes.js';
import { rowBucket } from '../../src/core/rows.js';
import { MERKLE_FANOUT, MERKLE_HASH_BYTES, MERKLE_LEAF_LEVEL, MerkleTree, merkleNodeCount } from '../../src/core/merkle.js';
import { mergeRecords } from '../../src/core/record.js';
import type { VersionedRecord } from '../../src/core/types.js';

const ORIGINS = ['0'.repeat(32), '7'.repeat(32), 'f'.repeat(32)];

const record: fc.Arbitrary<VersionedRecord> = fc
  .record({
    key: fc.integer({ min: 0, max: 200 }),
    wallMs: fc.integer({ min: 0, max: 2 ** 45 }),
    logical: fc.integer({ min: 0, max: 3 }),
    origin: fc.constantFrom(...ORIGINS),
    value: fc.option(fc.uint8Array({ maxLength: 8 }), { nil: null }),
  })
  .map((fields) => ({
    key: new TextEncoder().encode(`key:${fields.key}`),
    value: fields.value,
    hlc: { wallMs: fields.wallMs, logical: fields.logical },
    origin: fields.origin,
    expiresAtMs: 0,
  }));

/** One record per key (the LWW winner), as a store would hold. */
function storeOf(records: VersionedRecord[]): Map<string, VersionedRecord> {
  const store = new Map<string, VersionedRecord>();
  for (const item of records) store.set(bytesToMapKey(item.key), mergeRecords(store.get(bytesToMapKey(item.key)), item));
  return store;
}

test('the tree does not depend on insertion order', () => {
  fc.assert(
    fc.property(fc.array(record, { maxLength: 60 }), fc.integer(), (records, seed) => {
      const held = [...storeOf(records).values()];
      const shuffled = fc.sample(fc.shuffledSubarray(held, { minLength: held.length, maxLength: held.length }), { seed, numRuns: 1 })[0]!;
      const a = MerkleTree.build(held);
      const b = MerkleTree.build(shuffled);
      assert.deepEqual(a.root(), b.root());
      assert.ok(a.equals(b));
    }),
    { numRuns: 200, seed: 1 },
  );
});

test('update(before, after) along any write history equals a rebuild of the final store', () => {
  fc.assert(
    fc.property(fc.array(record, { maxLength: 80 }), (writes) => {
      const store = new Map<string, VersionedRecord>();
      const tree = new MerkleTree();
      for (const write of writes) {
        const mapKey = bytesToMapKey(write.key);
        const before = store.get(mapKey);
        const after = mergeRecords(before, write);
        store.set(mapKey, after);
        tree.update(write.key, before, after);
      }
      // Delete a third of the keys physically (purged tombstones).
      let index = 0;
      for (const [mapKey, held] of [...store]) {
        if (index++ % 3 === 0) {
          tree.update(held.key, held, undefined);
          store.delete(mapKey);
        }
      }
      assert.ok(tree.equals(MerkleTree.build(store.values())));
    }),
    { numRuns: 200, seed: 2 },
  );
});

test('walking the tree finds exactly the buckets whose versions differ', () => {
  fc.assert(
    fc.property(fc.array(record, { maxLength: 60 }), fc.array(record, { maxLength: 60 }), (left, right) => {
      const storeA = storeOf(left);
      const storeB = storeOf(right);
      const a = MerkleTree.build(storeA.values());
      const b = MerkleTree.build(storeB.values());
      const naive = new Set<number>();
      for (const mapKey of new Set([...storeA.keys(), ...storeB.keys()])) {
        const x = storeA.get(mapKey);
        const y = storeB.get(mapKey);
        const same = x !== undefined && y !== undefined && x.hlc.wallMs === y.hlc.wallMs && x.hlc.logical === y.hlc.logical && x.origin === y.origin;
        if (!same) naive.add(rowBucket((x ?? y)!.key));
      }
      // Descend from the root into differing children only, as the protocol does.
      let frontier = a.equalsNodeHash(0, 0, hashBytes(b, 0, 0), 0) ? [] : [0];
      for (let level = 0; level < MERKLE_LEAF_LEVEL; level++) {
        const next: number[] = [];
        for (const parent of frontier) {
          const children = new Uint8Array(MERKLE_FANOUT * MERKLE_HASH_BYTES);
          b.writeChildHashes(level, parent, children, 0);
          const mask = a.differingChildren(level, parent, children, 0);
          for (let child = 0; child < MERKLE_FANOUT; child++) if ((mask >>> child) & 1) next.push(parent * MERKLE_FANOUT + child);
        }
        frontier = next;
      }
      assert.ok(frontier.every((bucket) => bucket < merkleNodeCount(MERKLE_LEAF_LEVEL)));
      assert.deepEqual(frontier, [...naive].sort((x, y) => x - y));
      assert.equal(naive.size === 0, a.equals(b));
    }),
    { numRuns: 300, seed: 3 },
  );
});

function hashBytes(tree: MerkleTree, level: number, index: number): Uint8Array {
  const bytes = new Uint8Array(MERKLE_HASH_BYTES);
  tree.writeNodeHash(level, index, bytes, 0);
  return bytes;
}

// Proves what a version hash covers (key, hlc, origin; not value, tombstone or expiry) and that the tree's wire helpers and node bitmaps agree with its nodes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { utf8 } from '../../src/core/bytes.js';
import { rowBucket } from '../../src/core/rows.js';
import { expiredToTombstone } from '../../src/core/record.js';
import {
  bitmapToRanges,
  createNodeBitmap,
  findClearBit,
  findSetBit,
  MERKLE_FANOUT,
  MERKLE_HASH_BYTES,
  MerkleTree,
  merkleNodeCount,
  rangesToBitmap,
  recordVersionHash,
  setBitmapBit,
} from '../../src/core/merkle.js';
import type { VersionedRecord } from '../../src/core/types.js';

const ORIGIN = 'ab'.repeat(16);
const base: VersionedRecord = { key: utf8('user:1'), value: utf8('alice'), hlc: { wallMs: 1_700_000_000_000, logical: 3 }, origin: ORIGIN, expiresAtMs: 1_700_000_005_000 };

test('level sizes are 1, 16, 256, 4096, 65536', () => {
  assert.deepEqual([0, 1, 2, 3, 4].map(merkleNodeCount), [1, 16, 256, 4096, 65_536]);
  assert.throws(() => merkleNodeCount(5));
});

test('an empty tree has a zero root', () => {
  assert.deepEqual(new MerkleTree().root(), [0, 0]);
  assert.ok(new MerkleTree().isEmptyNode(0, 0));
});

test('a version hash ignores value, tombstone flag and expiry, and covers key, hlc and origin', () => {
  const hash = recordVersionHash(base);
  assert.deepEqual(recordVersionHash({ ...base, value: utf8('other') }), hash);
  assert.deepEqual(recordVersionHash(expiredToTombstone(base)), hash);
  assert.deepEqual(recordVersionHash({ ...base, expiresAtMs: 0 }), hash);
  assert.notDeepEqual(recordVersionHash({ ...base, key: utf8('user:2') }), hash);
  assert.notDeepEqual(recordVersionHash({ ...base, hlc: { wallMs: base.hlc.wallMs + 1, logical: 3 } }), hash);
  assert.notDeepEqual(recordVersionHash({ ...base, hlc: { wallMs: base.hlc.wallMs + 2 ** 32, logical: 3 } }), hash);
  assert.notDeepEqual(recordVersionHash({ ...base, hlc: { wallMs: base.hlc.wallMs, logical: 4 } }), hash);
  assert.notDeepEqual(recordVersionHash({ ...base, origin: 'ab'.repeat(15) + 'ac' }), hash);
});

test('an update touches the leaf of the key and its ancestors only', () => {
  const tree = new MerkleTree();
  tree.update(base.key, undefined, base);
  const bucket = rowBucket(base.key);
  const hash = recordVersionHash(base);
  assert.deepEqual(tree.root(), hash);
  assert.deepEqual(tree.nodeHash(4, bucket), hash);
  assert.deepEqual(tree.nodeHash(3, bucket >>> 4), hash);
  assert.ok(tree.isEmptyNode(4, bucket ^ 1));
  // Same version again (e.g. the sweep turning it into its tombstone): nothing changes.
  tree.update(base.key, base, expiredToTombstone(base));
  assert.deepEqual(tree.root(), hash);
  tree.update(base.key, base, undefined);
  assert.deepEqual(tree.root(), [0, 0]);
});

test('child hashes on the wire compare equal to the tree they came from', () => {
  const a = MerkleTree.build([base]);
  const b = new MerkleTree();
  const bytes = new Uint8Array(MERKLE_FANOUT * MERKLE_HASH_BYTES + 3);
  a.writeChildHashes(0, 0, bytes, 3);
  assert.equal(a.differingChildren(0, 0, bytes, 3), 0);
  const bucket = rowBucket(base.key);
  assert.equal(b.differingChildren(0, 0, bytes, 3), 1 << (bucket >>> 12));
  const children = a.childHashes(0, 0);
  assert.equal(children.length, 32);
  assert.deepEqual(children.slice((bucket >>> 12) * 2, (bucket >>> 12) * 2 + 2), a.root());
  assert.throws(() => a.childHashes(4, 0));
  assert.throws(() => a.nodeHash(2, 256));
});

test('node bitmaps convert to and from bucket ranges', () => {
  const bitmap = createNodeBitmap();
  for (const index of [0, 1, 2, 9, 64, 65, 65_535]) setBitmapBit(bitmap, index);
  const ranges = bitmapToRanges(bitmap);
  assert.deepEqual(ranges, [0, 3, 9, 10, 64, 66, 65_535, 65_536]);
  const copy = createNodeBitmap();
  rangesToBitmap(ranges, copy);
  assert.deepEqual(copy, bitmap);
  assert.equal(findSetBit(bitmap, 10, 65_536), 64);
  assert.equal(findClearBit(bitmap, 64, 65_536), 66);
  assert.equal(findSetBit(createNodeBitmap(), 0, 4096), 4096);
  const full = createNodeBitmap().fill(0xff);
  assert.deepEqual(bitmapToRanges(full), [0, 65_536]);
});

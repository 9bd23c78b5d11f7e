// Proves the sweep reads only where it may act: with no tombstone and no expiry anywhere it reads nothing, a slice starts at the next bucket holding such a row, and an expiring key, a tombstone past its grace and a restart (counts rebuilt by load) are handled as before.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { utf8 } from '../../src/core/bytes.js';
import { DEFAULT_CORE_CONFIG } from '../../src/core/config.js';
import type { ClientWrite } from '../../src/core/io.js';
import { Keyspace } from '../../src/core/keyspace.js';
import { MerkleTree } from '../../src/core/merkle.js';
import { encodeHeader, headerRowKey, KeyType, rowBucket } from '../../src/core/rows.js';
import { TombstoneTracker } from '../../src/core/tombstones.js';
import { KeyspaceReplica } from '../support/keyspace-replica.js';

const A = 'a'.repeat(32);
const NOW_MS = 1_700_000_000_000;
const GRACE_MS = 10_000;
const CONFIG = { ...DEFAULT_CORE_CONFIG, tombstoneGraceMs: GRACE_MS };

function set(name: string, expiresAtMs = 0): ClientWrite {
  return { key: headerRowKey(utf8(name)), value: encodeHeader({ type: KeyType.String, base: { bytes: utf8('v'), observed: new Map() } }), expiresAtMs };
}

function del(name: string): ClientWrite {
  return { key: headerRowKey(utf8(name)), value: null, expiresAtMs: 0 };
}

/** The first bucket of every scan the sweep makes. */
function watchScans(replica: KeyspaceReplica): number[] {
  const starts: number[] = [];
  const scanFrom = replica.store.scanFrom.bind(replica.store);
  replica.store.scanFrom = (fromBucket, after, limit) => {
    starts.push(fromBucket);
    return scanFrom(fromBucket, after, limit);
  };
  return starts;
}

/** Slices until the pass wraps; the changes of all of them. */
function fullPass(replica: KeyspaceReplica, nowMs: number): { records: number; purges: number } {
  let records = 0;
  let purges = 0;
  do {
    const swept = replica.sweep(nowMs);
    records += swept.records.length;
    purges += swept.purgeKeys.length;
  } while (!replica.keyspace.sweepWrapped());
  return { records, purges };
}

test('no tombstone and no expiry: the sweep reads nothing', () => {
  const replica = new KeyspaceReplica(A, CONFIG);
  for (let index = 0; index < 3_000; index += 100) replica.write(Array.from({ length: 100 }, (_, offset) => set(`plain:${index + offset}`)), NOW_MS);
  const scans = watchScans(replica);
  assert.deepEqual(fullPass(replica, NOW_MS + 1_000), { records: 0, purges: 0 });
  assert.deepEqual(scans, []);
});

test('an expiring key among plain ones: the slice starts at its bucket, it is swept, then the sweep reads nothing again', () => {
  const replica = new KeyspaceReplica(A, CONFIG);
  for (let index = 0; index < 3_000; index += 100) replica.write(Array.from({ length: 100 }, (_, offset) => set(`plain:${index + offset}`)), NOW_MS);
  replica.write([set('session', NOW_MS + 500)], NOW_MS);
  const scans = watchScans(replica);
  const bucket = rowBucket(headerRowKey(utf8('session')));
  assert.deepEqual(fullPass(replica, NOW_MS + 100), { records: 0, purges: 0 }, 'not expired yet: nothing to do');
  assert.equal(scans[0], bucket, 'the first slice starts at the only bucket with a row to act on');
  assert.equal(fullPass(replica, NOW_MS + 1_000).records, 1, 'the expired header becomes its marker');
  assert.equal(replica.counters.expired_swept, 1);
  // The marker (a tombstone) stays until two graces after the expiry, then goes.
  assert.equal(fullPass(replica, NOW_MS + 500 + 2 * GRACE_MS + 1).purges, 1);
  assert.ok(replica.treeMatchesStore());
  scans.length = 0;
  assert.deepEqual(fullPass(replica, NOW_MS + 3 * GRACE_MS), { records: 0, purges: 0 });
  assert.deepEqual(scans, [], 'nothing left to act on: no reads');
});

test('a tombstone past its grace is purged; counts are rebuilt by load after a restart', () => {
  const replica = new KeyspaceReplica(A, CONFIG);
  replica.write([set('gone'), set('stays'), set('ttl', NOW_MS + 50 * GRACE_MS)], NOW_MS);
  replica.write([del('gone')], NOW_MS + 1);
  // A restart: a new keyspace over the same rows.
  const restarted = new Keyspace(replica.store, new MerkleTree(), new TombstoneTracker(A, GRACE_MS), CONFIG, { ...replica.counters });
  restarted.load();
  let purges = 0;
  do {
    const swept = restarted.sweepSlice(NOW_MS + GRACE_MS + 10);
    void replica.store.write({ records: swept.records, purgeKeys: swept.purgeKeys });
    restarted.settle();
    purges += swept.purgeKeys.length;
  } while (!restarted.sweepWrapped());
  assert.equal(purges, 1, 'the tombstone of gone, found after the restart');
  assert.ok(replica.store.get(headerRowKey(utf8('gone'))) === undefined);
  assert.ok(replica.store.get(headerRowKey(utf8('ttl'))) !== undefined, 'the key with a far expiry stays');
});

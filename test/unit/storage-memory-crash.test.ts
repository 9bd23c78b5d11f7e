// Proves the memory store's crash model: uncommitted writes are visible until a crash, then lost; committed ones survive, in order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { utf8 } from '../../src/core/bytes.js';
import type { VersionedRecord } from '../../src/core/types.js';
import { MemoryStore } from '../../src/storage/memory-store.js';
import { countRecords } from '../support/records.js';

function makeRecord(key: string, value: string, wallMs: number): VersionedRecord {
  return { key: utf8(key), value: utf8(value), hlc: { wallMs, logical: 0 }, origin: '0'.repeat(32), expiresAtMs: 0 };
}

test('writes held for commit are visible, then lost by a crash', async () => {
  const store = new MemoryStore({ autoCommit: false });
  let committed = false;
  void store.write({ records: [makeRecord('a', '1', 1)], purgeKeys: [] }).then(() => (committed = true));
  void store.putMeta('incarnation', utf8('1'));
  assert.deepEqual(store.get(utf8('a'))?.value, utf8('1'));
  assert.deepEqual(store.getMeta('incarnation'), utf8('1'));
  assert.equal(countRecords(store), 1);
  assert.equal(store.pendingWriteCount(), 2);
  store.crash();
  await Promise.resolve();
  assert.equal(committed, false, 'a lost write never resolves');
  assert.equal(store.get(utf8('a')), undefined);
  assert.equal(store.getMeta('incarnation'), undefined);
  assert.equal(countRecords(store), 0);
  assert.equal(store.pendingWriteCount(), 0);
});

test('a partial commit keeps the oldest writes and resolves them in order', async () => {
  const store = new MemoryStore({ autoCommit: false });
  const empty = store.write({ records: [], purgeKeys: [] }); // waits for its commit like any write
  store.commitPending();
  await empty;
  const order: string[] = [];
  void store.write({ records: [makeRecord('a', '1', 1)], purgeKeys: [] }).then(() => order.push('first'));
  void store.write({ records: [makeRecord('a', '2', 2)], purgeKeys: [] }).then(() => order.push('second'));
  void store.flush().then(() => order.push('flush'));
  void store.write({ records: [makeRecord('b', '3', 3)], purgeKeys: [utf8('a')] }).then(() => order.push('third'));
  assert.equal(store.get(utf8('a')), undefined);
  store.commitPending(2);
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(order, ['first', 'second', 'flush']);
  store.crash();
  assert.deepEqual(store.get(utf8('a'))?.value, utf8('2'));
  assert.equal(store.get(utf8('b')), undefined);
  assert.equal(countRecords(store), 1);
});

test('close commits what is pending; reopen allows writes again', async () => {
  const store = new MemoryStore({ autoCommit: false });
  const ack = store.write({ records: [makeRecord('k', 'v', 1)], purgeKeys: [] });
  await store.close();
  await ack;
  assert.throws(() => store.write({ records: [], purgeKeys: [] }), /after close/);
  store.crash();
  assert.deepEqual(store.get(utf8('k'))?.value, utf8('v'));
  store.reopen();
  const rewrite = store.write({ records: [makeRecord('k', 'w', 2)], purgeKeys: [] });
  store.commitPending();
  await rewrite;
  assert.deepEqual(store.get(utf8('k'))?.value, utf8('w'));
});

test('stored bytes are copies: mutating the caller buffers changes nothing', async () => {
  const store = new MemoryStore();
  const record = makeRecord('k', 'v', 1);
  await store.write({ records: [record], purgeKeys: [] });
  (record.value as Uint8Array)[0] = 0;
  (record.key as Uint8Array)[0] = 0;
  assert.deepEqual(store.get(utf8('k'))?.value, utf8('v'));
});

// Proves a BLPOP client on one MemoryEngine wakes when a push arrives from a peer as replicated rows, and that pushes from two replicas delivered in either order read the same on both.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { MemoryEngine, startMemoryServer } from '../support/memory-engine.js';
import type { RespServer } from '../../src/net/resp-listener.js';

const ORIGIN_A = 'a'.repeat(32);
const ORIGIN_B = 'b'.repeat(32);
let server: RespServer;
let engineA: MemoryEngine;
let engineB: MemoryEngine;
let serverB: RespServer;
const clients: Redis[] = [];

function client(port: number): Redis {
  const redis = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 0, retryStrategy: () => null });
  clients.push(redis);
  return redis;
}

before(async () => {
  engineA = new MemoryEngine({ nodeId: ORIGIN_A, keepBatches: true });
  engineB = new MemoryEngine({ nodeId: ORIGIN_B, keepBatches: true });
  ({ server } = await startMemoryServer({ engine: engineA }));
  ({ server: serverB } = await startMemoryServer({ engine: engineB }));
});

after(async () => {
  for (const redis of clients) redis.disconnect();
  await server.close();
  await serverB.close();
});

test('BLPOP wakes on a remote push', async () => {
  const waiter = client(server.port);
  const popped = waiter.blpop('queue', 5);
  await new Promise((resolve) => setTimeout(resolve, 50));
  const start = engineB.batches.length;
  await client(serverB.port).rpush('queue', 'job');
  for (const batch of engineB.batches.slice(start)) engineA.applyRemote(batch);
  assert.deepEqual(await popped, ['queue', 'job']);
  assert.equal(await client(server.port).exists('queue'), 0);
});

test('pushes on two replicas, delivered in either order, read the same on both', async () => {
  const a = client(server.port);
  const b = client(serverB.port);
  const startA = engineA.batches.length;
  const startB = engineB.batches.length;
  await a.rpush('both', 'a1', 'a2');
  await b.rpush('both', 'b1');
  await b.lpush('both', 'b0');
  await a.lpush('both', 'a0');
  const fromA = engineA.batches.slice(startA);
  const fromB = engineB.batches.slice(startB);
  for (const batch of [...fromB].reverse()) engineA.applyRemote(batch);
  for (const batch of fromA) engineB.applyRemote(batch);
  const listA = await a.lrange('both', 0, -1);
  const listB = await b.lrange('both', 0, -1);
  assert.deepEqual(listA, listB);
  assert.equal(listA.length, 5);
  assert.equal(await a.llen('both'), 5);
});

test('a push concurrent with the pop of the last element survives it as a list on both replicas', async () => {
  const a = client(server.port);
  const b = client(serverB.port);
  const startA = engineA.batches.length;
  await a.rpush('race', 'x');
  for (const batch of engineA.batches.slice(startA)) engineB.applyRemote(batch);
  const popAt = engineA.batches.length;
  assert.equal(await a.lpop('race'), 'x');
  await new Promise((resolve) => setTimeout(resolve, 5));
  const pushAt = engineB.batches.length;
  await b.rpush('race', 'y');
  for (const batch of engineA.batches.slice(popAt)) engineB.applyRemote(batch);
  for (const batch of engineB.batches.slice(pushAt)) engineA.applyRemote(batch);
  for (const redis of [a, b]) {
    assert.equal(await redis.type('race'), 'list');
    assert.deepEqual(await redis.lrange('race', 0, -1), ['y']);
    assert.equal(await redis.llen('race'), 1);
  }
});

test('a queue drained by LPOP/RPOP reads past its known tombstones, and an item written inside them from anywhere is seen', async () => {
  const a = client(server.port);
  const b = client(serverB.port);
  const startB = engineB.batches.length;
  await b.rpush('drained', 'seed'); // B knows the key, so its later LPUSH is a push to the same list
  for (const batch of engineB.batches.slice(startB)) engineA.applyRemote(batch);
  await a.rpush('drained', ...Array.from({ length: 300 }, (_, index) => `job${index}`));
  assert.equal(await a.lpop('drained'), 'seed');
  for (let index = 0; index < 150; index++) assert.equal(await a.lpop('drained'), `job${index}`);
  for (let index = 299; index >= 250; index--) assert.equal(await a.rpop('drained'), `job${index}`);

  // Once the ends are known, a pop reads a few rows, not the 200 tombstones before it.
  let rowsRead = 0;
  const scanRows = engineA.scanRows.bind(engineA);
  const scanRowsReverse = engineA.scanRowsReverse.bind(engineA);
  engineA.scanRows = (prefix, after, limit) => {
    const page = scanRows(prefix, after, limit);
    rowsRead += page.records.length;
    return page;
  };
  engineA.scanRowsReverse = (prefix, before, limit) => {
    const page = scanRowsReverse(prefix, before, limit);
    rowsRead += page.records.length;
    return page;
  };
  try {
    assert.equal(await a.lpop('drained'), 'job150');
    assert.equal(await a.rpop('drained'), 'job249');
    assert.ok(rowsRead <= 8, `${rowsRead} rows read for one LPOP and one RPOP`);
  } finally {
    engineA.scanRows = scanRows;
    engineA.scanRowsReverse = scanRowsReverse;
  }

  // An LPUSH on B (before every tombstone of A's head) and an RPUSH on A itself are seen.
  const fromB = engineB.batches.length;
  await b.lpush('drained', 'urgent');
  for (const batch of engineB.batches.slice(fromB)) engineA.applyRemote(batch);
  await a.rpush('drained', 'last');
  assert.equal(await a.lindex('drained', 0), 'urgent');
  assert.equal(await a.lpop('drained'), 'urgent');
  assert.equal(await a.rpop('drained'), 'last');
  assert.equal(await a.llen('drained'), 98);
  assert.deepEqual((await a.lrange('drained', 0, 1)), ['job151', 'job152']);
});

test('pops that read their items by row key (rows an earlier pop saw past the end) see an item inserted among them from anywhere, a changed one, and skip removed ones', async () => {
  const a = client(server.port);
  const b = client(serverB.port);
  const startA = engineA.batches.length;
  await a.rpush('ahead', ...Array.from({ length: 10 }, (_, index) => `j${index}`));
  for (const batch of engineA.batches.slice(startA)) engineB.applyRemote(batch);
  assert.equal(await a.lpop('ahead'), 'j0');
  assert.equal(await a.lpop('ahead'), 'j1');
  const startB = engineB.batches.length;
  assert.equal(await b.linsert('ahead', 'BEFORE', 'j3', 'mid'), 11);
  for (const batch of engineB.batches.slice(startB)) engineA.applyRemote(batch);
  assert.equal(await a.lrem('ahead', 1, 'j4'), 1);
  assert.equal(await a.lpop('ahead'), 'j2');
  assert.equal(await a.lpop('ahead'), 'mid');
  assert.equal(await a.lpop('ahead'), 'j3');
  assert.equal(await a.lset('ahead', 0, 'j5x'), 'OK');
  assert.equal(await a.lpop('ahead'), 'j5x');
  assert.equal(await a.rpop('ahead'), 'j9');
  assert.deepEqual(await a.lpop('ahead', 5), ['j6', 'j7', 'j8']);
  assert.equal(await a.exists('ahead'), 0);
});

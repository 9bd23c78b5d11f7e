// Proves the blocking sorted-set pops through a real listener over MemoryEngines: BZPOPMIN BZPOPMAX BZMPOP reply, wait, time out, answer inside EXEC and to CLIENT UNBLOCK as Redis 7.0 does; a ZADD or ZINCRBY here or from a peer wakes them; ready keys serve waiters in Redis's order; lists and sorted sets share one waiting mechanism.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { MemoryEngine, RawClient, startMemoryServer } from '../support/memory-engine.js';
import type { RespServer } from '../../src/net/resp-listener.js';

const ORIGIN_A = 'a'.repeat(32);
const ORIGIN_B = 'b'.repeat(32);
let server: RespServer;
let serverB: RespServer;
let engine: MemoryEngine;
let engineB: MemoryEngine;
const clients: Redis[] = [];
let redis: Redis;

function client(port = server.port): Redis {
  const connection = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 0, retryStrategy: () => null });
  clients.push(connection);
  return connection;
}

before(async () => {
  engine = new MemoryEngine({ nodeId: ORIGIN_A, keepBatches: true });
  engineB = new MemoryEngine({ nodeId: ORIGIN_B, keepBatches: true });
  ({ server } = await startMemoryServer({ engine }));
  ({ server: serverB } = await startMemoryServer({ engine: engineB }));
  redis = client();
});

after(async () => {
  for (const connection of clients) connection.disconnect();
  await server.close();
  await serverB.close();
});

async function call(...args: (string | number)[]): Promise<unknown> {
  try {
    return await redis.call(String(args[0]), ...args.slice(1));
  } catch (error) {
    return (error as Error).message;
  }
}

/** Until INFO counts `count` blocked clients (what Redis's own tests wait for). */
async function blockedClients(count: number): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    if (String(await call('info', 'clients')).includes(`blocked_clients:${count}\r`)) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.fail(`blocked_clients never reached ${count}`);
}

test('BZPOPMIN BZPOPMAX BZMPOP serve at once from the first non-empty key, with Redis 7.0 errors', async () => {
  await call('zadd', 'z1', 1, 'a', 2, 'b', 3, 'c');
  assert.deepEqual(await call('bzpopmin', 'none', 'z1', 0), ['z1', 'a', '1']);
  assert.deepEqual(await call('bzpopmax', 'z1', 0), ['z1', 'c', '3']);
  await call('zadd', 'z2', 4, 'd', 5, 'e');
  assert.deepEqual(await call('bzmpop', 0, 3, 'none', 'z1', 'z2', 'max', 'count', 10), ['z1', [['b', '2']]]);
  assert.equal(await call('exists', 'z1'), 0);
  assert.deepEqual(await call('bzmpop', 0, 1, 'z2', 'min'), ['z2', [['d', '4']]]);
  assert.deepEqual(await call('zmpop', 1, 'z2', 'min'), ['z2', [['e', '5']]]);
  await call('set', 'str', 'x');
  assert.match(String(await call('bzpopmin', 'none', 'str', 1)), /^WRONGTYPE/);
  assert.match(String(await call('bzmpop', 1, 2, 'str', 'none', 'min')), /^WRONGTYPE/);
  assert.equal(await call('bzpopmin', 'z', 'abc'), 'ERR timeout is not a float or out of range');
  assert.equal(await call('bzpopmin', 'z', -1), 'ERR timeout is negative');
  assert.equal(await call('bzmpop', 0, 0, 'z', 'min'), 'ERR numkeys should be greater than 0');
  assert.equal(await call('bzmpop', 0, 1, 'z', 'min', 'count', 0), 'ERR count should be greater than 0');
  assert.equal(await call('bzmpop', 0, 1, 'z', 'bad'), 'ERR syntax error');
  assert.equal(await call('bzmpop', 0, 1, 'z', 'min', 'count', 1, 'count', 2), 'ERR syntax error');
  assert.equal(await call('bzmpop', 'x', 0, 'z', 'min'), 'ERR numkeys should be greater than 0'); // the timeout is read last
  assert.equal(await call('bzmpop', 'x', 1, 'z', 'min'), 'ERR timeout is not a float or out of range');
  assert.equal(await call('bzmpop', 0, 1), "ERR wrong number of arguments for 'bzmpop' command");
});

test('a blocked client wakes for ZADD and ZINCRBY, times out with a null array, and never waits inside EXEC', async () => {
  const waiter = client();
  const first = waiter.call('bzpopmin', 'w1', 'w2', 0);
  await blockedClients(1);
  assert.equal(await call('zadd', 'w2', 7, 'm', 8, 'n'), 2);
  assert.deepEqual(await first, ['w2', 'm', '7']);
  const second = waiter.call('bzmpop', 0, 1, 'w3', 'max', 'count', 5);
  await blockedClients(1);
  assert.equal(await call('zincrby', 'w3', 2.5, 'x'), '2.5');
  assert.deepEqual(await second, ['w3', [['x', '2.5']]]);
  assert.equal(await call('exists', 'w3'), 0);
  assert.equal(await waiter.call('bzpopmax', 'w3', 0.05), null);
  assert.equal(await waiter.call('bzmpop', 0.05, 1, 'w3', 'min'), null);
  const results = await waiter.multi().bzpopmin('w3', 0).call('bzmpop', 0, 1, 'w3', 'min').exec();
  assert.deepEqual(results, [[null, null], [null, null]]);
  await blockedClients(0);
});

test('RESP3: the score of a served pop is a double; a timeout is a null', async () => {
  const raw = new RawClient(server.port);
  await raw.connected;
  raw.send('*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n');
  await raw.waitFor((text) => text.includes('modules'));
  const before = raw.text().length;
  raw.send('*3\r\n$8\r\nBZPOPMIN\r\n$2\r\nr3\r\n$1\r\n0\r\n');
  await blockedClients(1);
  await call('zadd', 'r3', 1.5, 'm');
  const served = await raw.waitFor((text) => text.length > before + 20);
  assert.equal(served.slice(before), '*3\r\n$2\r\nr3\r\n$1\r\nm\r\n,1.5\r\n');
  const next = raw.text().length;
  raw.send('*3\r\n$8\r\nBZPOPMAX\r\n$2\r\nr3\r\n$4\r\n0.01\r\n');
  assert.equal((await raw.waitFor((text) => text.length > next)).slice(next), '_\r\n');
  raw.send('*1\r\n$4\r\nQUIT\r\n');
  await raw.waitClosed();
});

test('ready keys serve waiters in the order they blocked, each from the key that became ready', async () => {
  const [one, two, three] = [client(), client(), client()];
  const first = one.call('bzmpop', 0, 2, 'o1', 'o2', 'min', 'count', 1);
  await blockedClients(1);
  const second = two.call('bzmpop', 0, 2, 'o1', 'o2', 'max', 'count', 10);
  await blockedClients(2);
  const third = three.call('bzpopmin', 'o1', 'o2', 0);
  await blockedClients(3);
  // o2 becomes ready first: waiters blocked on o1 and o2 are served from o2, in block order.
  await redis.multi().zadd('o2', 1, 'a', 2, 'b').zadd('o1', 3, 'c').exec();
  assert.deepEqual(await first, ['o2', [['a', '1']]]);
  assert.deepEqual(await second, ['o2', [['b', '2']]]);
  assert.deepEqual(await third, ['o1', 'c', '3']);
  assert.equal(await call('exists', 'o1', 'o2'), 0);
});

test('ZADD then DEL in one EXEC does not wake; a key of another type keeps a waiter waiting', async () => {
  const waiter = client();
  const popped = waiter.call('bzpopmin', 'd1', 0);
  await blockedClients(1);
  await redis.multi().zadd('d1', 0, 'foo').del('d1').exec();
  await call('set', 'd1', 'string'); // wakes the key, but a string cannot serve a sorted-set pop
  await call('rpush', 'd1x', 'v');
  await new Promise((resolve) => setTimeout(resolve, 20));
  await blockedClients(1);
  await call('del', 'd1');
  await call('zadd', 'd1', 1, 'bar');
  assert.deepEqual(await popped, ['d1', 'bar', '1']);
});

test('list and sorted-set waiters on one key: each is served only by its own type', async () => {
  const [listWaiter, zsetWaiter] = [client(), client()];
  const list = listWaiter.blpop('both', 0);
  await blockedClients(1);
  const zset = zsetWaiter.bzpopmax('both', 0);
  await blockedClients(2);
  await call('zadd', 'both', 5, 'z');
  assert.deepEqual(await zset, ['both', 'z', '5']);
  await blockedClients(1);
  await call('rpush', 'both', 'l');
  assert.deepEqual(await list, ['both', 'l']);
});

test('CLIENT UNBLOCK ends a sorted-set wait as a timeout or with an error', async () => {
  const waiter = client();
  const id = Number(await waiter.client('ID'));
  const first = waiter.call('bzmpop', 0, 1, 'ub', 'min');
  await blockedClients(1);
  assert.equal(await call('client', 'unblock', id, 'timeout'), 1);
  assert.equal(await first, null);
  const second = waiter.call('bzpopmin', 'ub', 0).catch((error: Error) => error.message);
  await blockedClients(1);
  assert.equal(await call('client', 'unblock', id, 'error'), 1);
  assert.equal(await second, 'UNBLOCKED client unblocked via CLIENT UNBLOCK');
  await blockedClients(0);
});

test('BZPOPMIN wakes for a ZADD and a ZINCRBY that arrive from a peer', async () => {
  const waiter = client();
  const popped = waiter.call('bzpopmin', 'remote', 0);
  await blockedClients(1);
  const peer = client(serverB.port);
  let start = engineB.batches.length;
  await peer.zadd('remote', 3, 'from-b');
  for (const batch of engineB.batches.slice(start)) engine.applyRemote(batch);
  assert.deepEqual(await popped, ['remote', 'from-b', '3']);
  const again = waiter.call('bzpopmax', 'counted', 0);
  await blockedClients(1);
  start = engineB.batches.length;
  await peer.zincrby('counted', 4, 'c');
  for (const batch of engineB.batches.slice(start)) engine.applyRemote(batch);
  assert.deepEqual(await again, ['counted', 'c', '4']);
});

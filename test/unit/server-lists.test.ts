// Proves the list commands through a real listener over the MemoryEngine: Redis 7.0's replies and errors, lists disappearing with their last element, types, encodings and keyspace events.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { Redis } from 'ioredis';
import { MemoryEngine, startMemoryServer } from '../support/memory-engine.js';
import type { RespServer } from '../../src/net/resp-listener.js';
import type { KeyspaceEvent } from '../../src/server/engine.js';

let server: RespServer;
let engine: MemoryEngine;
let redis: Redis;
const WRONGTYPE = 'WRONGTYPE Operation against a key holding the wrong kind of value';

before(async () => {
  engine = new MemoryEngine();
  ({ server } = await startMemoryServer({ engine }));
  redis = new Redis({ host: '127.0.0.1', port: server.port, maxRetriesPerRequest: 0, retryStrategy: () => null });
});

after(async () => {
  redis.disconnect();
  await server.close();
});

/** The reply or the error message of one command. */
async function call(...args: (string | number | Buffer)[]): Promise<unknown> {
  try {
    return await redis.call(String(args[0]), ...args.slice(1));
  } catch (error) {
    return (error as Error).message;
  }
}

test('LPUSH RPUSH LPUSHX RPUSHX LLEN LRANGE LINDEX', async () => {
  assert.equal(await call('rpush', 'l1', 'a', 'b', 'c'), 3);
  assert.equal(await call('lpush', 'l1', 'x', 'y'), 5);
  assert.deepEqual(await call('lrange', 'l1', 0, -1), ['y', 'x', 'a', 'b', 'c']);
  assert.deepEqual(await call('lrange', 'l1', -2, 100), ['b', 'c']);
  assert.deepEqual(await call('lrange', 'l1', 3, 1), []);
  assert.deepEqual(await call('lrange', 'l1', 'a', 1), 'ERR value is not an integer or out of range');
  assert.equal(await call('llen', 'l1'), 5);
  assert.equal(await call('lindex', 'l1', 0), 'y');
  assert.equal(await call('lindex', 'l1', -1), 'c');
  assert.equal(await call('lindex', 'l1', 2), 'a');
  assert.equal(await call('lindex', 'l1', 5), null);
  assert.equal(await call('lpushx', 'nolist', 'a'), 0);
  assert.equal(await call('rpushx', 'l1', 'z'), 6);
  assert.equal(await call('exists', 'nolist'), 0);
  assert.equal(await call('type', 'l1'), 'list');
  await call('set', 'str', 'v');
  assert.equal(await call('lpush', 'str', 'a'), WRONGTYPE);
  assert.equal(await call('llen', 'str'), WRONGTYPE);
  assert.equal(await call('lrange', 'str', 0, 1), WRONGTYPE);
  assert.equal(await call('llen', 'nolist'), 0);
  assert.deepEqual(await call('lrange', 'nolist', 0, -1), []);
});

test('LPOP RPOP with and without count; the last pop deletes the key', async () => {
  await call('rpush', 'p1', 'a', 'b', 'c', 'd');
  assert.equal(await call('lpop', 'p1'), 'a');
  assert.equal(await call('rpop', 'p1'), 'd');
  assert.deepEqual(await call('lpop', 'p1', 0), []);
  assert.deepEqual(await call('rpop', 'p1', 5), ['c', 'b']);
  assert.equal(await call('exists', 'p1'), 0);
  assert.equal(await call('lpop', 'p1'), null);
  assert.equal(await call('lpop', 'p1', 2), null);
  assert.equal(await call('lpop', 'p1', -1), 'ERR value is out of range, must be positive');
  assert.equal(await call('lpop', 'p1', 1, 1), "ERR wrong number of arguments for 'lpop' command");
  await call('rpush', 'p1', 'x');
  assert.equal(await call('lpop', 'p1'), 'x');
  assert.equal(await call('type', 'p1'), 'none');
});

test('keyspace events name pushes and pops', async () => {
  const events: string[] = [];
  const stop = engine.onKeyspaceEvent((event: KeyspaceEvent) => {
    if (Buffer.from(event.key).toString() === 'ev') events.push(event.event);
  });
  await call('rpush', 'ev', 'a');
  await call('lpush', 'ev', 'b');
  await call('rpop', 'ev');
  await call('lpop', 'ev');
  stop();
  assert.deepEqual(events, ['new', 'rpush', 'lpush', 'rpop', 'lpop', 'del']);
});

test('LSET LINSERT LREM LTRIM LPOS', async () => {
  await call('rpush', 'e1', 'a', 'b', 'c', 'b', 'd');
  assert.equal(await call('lset', 'e1', 1, 'B'), 'OK');
  assert.equal(await call('lset', 'e1', -1, 'D'), 'OK');
  assert.equal(await call('lset', 'e1', 9, 'x'), 'ERR index out of range');
  assert.equal(await call('lset', 'nokey', 0, 'x'), 'ERR no such key');
  assert.deepEqual(await call('lrange', 'e1', 0, -1), ['a', 'B', 'c', 'b', 'D']);
  assert.equal(await call('linsert', 'e1', 'before', 'c', 'x'), 6);
  assert.equal(await call('linsert', 'e1', 'after', 'D', 'y'), 7);
  assert.equal(await call('linsert', 'e1', 'before', 'a', 'z'), 8);
  assert.equal(await call('linsert', 'e1', 'after', 'nope', 'z'), -1);
  assert.equal(await call('linsert', 'e1', 'middle', 'a', 'z'), 'ERR syntax error');
  assert.equal(await call('linsert', 'nokey', 'after', 'a', 'z'), 0);
  assert.deepEqual(await call('lrange', 'e1', 0, -1), ['z', 'a', 'B', 'x', 'c', 'b', 'D', 'y']);
  assert.equal(await call('lpos', 'e1', 'b'), 5);
  assert.deepEqual(await call('lpos', 'e1', 'nope', 'COUNT', 0), []);
  assert.equal(await call('lpos', 'e1', 'b', 'RANK', 0), "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list");
  await call('rpush', 'e2', 'a', 'b', 'a', 'c', 'a');
  assert.deepEqual(await call('lpos', 'e2', 'a', 'COUNT', 0), [0, 2, 4]);
  assert.deepEqual(await call('lpos', 'e2', 'a', 'RANK', -1, 'COUNT', 2), [4, 2]);
  assert.deepEqual(await call('lpos', 'e2', 'a', 'COUNT', 0, 'MAXLEN', 3), [0, 2]);
  assert.equal(await call('lpos', 'e2', 'a', 'COUNT', -1), "ERR COUNT can't be negative");
  assert.equal(await call('lrem', 'e2', -1, 'a'), 1);
  assert.deepEqual(await call('lrange', 'e2', 0, -1), ['a', 'b', 'a', 'c']);
  assert.equal(await call('lrem', 'e2', 0, 'a'), 2);
  assert.deepEqual(await call('lrange', 'e2', 0, -1), ['b', 'c']);
  assert.equal(await call('ltrim', 'e1', 1, -2), 'OK');
  assert.deepEqual(await call('lrange', 'e1', 0, -1), ['a', 'B', 'x', 'c', 'b', 'D']);
  assert.equal(await call('ltrim', 'e1', 5, 1), 'OK');
  assert.equal(await call('exists', 'e1'), 0);
  assert.equal(await call('lrem', 'e2', 0, 'b'), 1);
  assert.equal(await call('lrem', 'e2', 0, 'c'), 1);
  assert.equal(await call('exists', 'e2'), 0);
});

test('LMOVE RPOPLPUSH LMPOP', async () => {
  await call('rpush', 'm1', 'a', 'b', 'c');
  assert.equal(await call('lmove', 'm1', 'm2', 'left', 'right'), 'a');
  assert.equal(await call('rpoplpush', 'm1', 'm2'), 'c');
  assert.deepEqual(await call('lrange', 'm2', 0, -1), ['c', 'a']);
  assert.equal(await call('lmove', 'm1', 'm1', 'left', 'right'), 'b');
  assert.deepEqual(await call('lrange', 'm1', 0, -1), ['b']);
  assert.equal(await call('lmove', 'm1', 'm2', 'up', 'right'), 'ERR syntax error');
  assert.equal(await call('lmove', 'nokey', 'm2', 'left', 'right'), null);
  await call('set', 'mstr', 'v');
  assert.equal(await call('lmove', 'm1', 'mstr', 'left', 'right'), WRONGTYPE);
  assert.deepEqual(await call('lmpop', 2, 'nokey', 'm2', 'right', 'count', 5), ['m2', ['a', 'c']]);
  assert.equal(await call('exists', 'm2'), 0);
  assert.equal(await call('lmpop', 1, 'nokey', 'left'), null);
  assert.equal(await call('lmpop', 0, 'm1', 'left'), 'ERR numkeys should be greater than 0');
  assert.equal(await call('lmpop', 1, 'm1', 'left', 'count', 0), 'ERR count should be greater than 0');
  assert.equal(await call('lmpop', 1, 'm1', 'bad'), 'ERR syntax error');
});

test('BLPOP serves at once, waits for a push, times out, and acts as LPOP inside MULTI', async () => {
  await call('rpush', 'b1', 'x');
  assert.deepEqual(await call('blpop', 'nokey', 'b1', 0), ['b1', 'x']);
  assert.equal(await call('blpop', 'b1', 'abc'), 'ERR timeout is not a float or out of range');
  assert.equal(await call('blpop', 'b1', -1), 'ERR timeout is negative');
  const waiter = new Redis({ host: '127.0.0.1', port: server.port, maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    const popped = waiter.call('brpop', 'b1', 'b2', 0);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.match(String(await call('info', 'clients')), /blocked_clients:1/);
    await call('rpush', 'b2', 'p', 'q');
    assert.deepEqual(await popped, ['b2', 'q']);
    assert.deepEqual(await waiter.call('blmove', 'b2', 'b3', 'left', 'left', 0), 'p');
    assert.equal(await waiter.call('blpop', 'b1', 0.05), null);
    assert.equal(await waiter.call('blmpop', 0.05, 1, 'b1', 'left'), null);
    const results = await waiter.multi().blpop('b1', 0).brpoplpush('b1', 'b4', 0).exec();
    assert.deepEqual(results, [[null, null], [null, null]]);
  } finally {
    waiter.disconnect();
  }
  assert.match(String(await call('info', 'clients')), /blocked_clients:0/);
});

test('a client that disconnects while blocked stops waiting and pops nothing', async () => {
  const waiter = new Redis({ host: '127.0.0.1', port: server.port, maxRetriesPerRequest: 0, retryStrategy: () => null });
  void waiter.call('blpop', 'gone', 0).catch(() => undefined);
  await new Promise((resolve) => setTimeout(resolve, 50));
  waiter.disconnect();
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.match(String(await call('info', 'clients')), /blocked_clients:0/);
  await call('rpush', 'gone', 'v');
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.deepEqual(await call('lrange', 'gone', 0, -1), ['v']);
});

test('TYPE, OBJECT ENCODING, COPY and RENAME of lists', async () => {
  await call('rpush', 'c1', 'a', 'b');
  assert.equal(await call('type', 'c1'), 'list');
  assert.equal(await call('object', 'encoding', 'c1'), 'quicklist'); // Redis 7.0 lists are always quicklists
  assert.equal(await call('copy', 'c1', 'c2'), 1);
  assert.deepEqual(await call('lrange', 'c2', 0, -1), ['a', 'b']);
  assert.equal(await call('rename', 'c2', 'c3'), 'OK');
  assert.deepEqual(await call('lrange', 'c3', 0, -1), ['a', 'b']);
  assert.equal(await call('rpush', 'c3', 'c'), 3);
  await call('rpush', 'c4', ...Array.from({ length: 129 }, (_, index) => String(index)));
  assert.equal(await call('object', 'encoding', 'c4'), 'quicklist');
  await call('rpush', 'c5', 'x'.repeat(9000));
  assert.equal(await call('object', 'encoding', 'c5'), 'quicklist');
});

test('SORT of a list: numeric, ALPHA, DESC, LIMIT, BY, GET, STORE', async () => {
  await call('rpush', 's1', '3', '1', '2');
  assert.deepEqual(await call('sort', 's1'), ['1', '2', '3']);
  assert.deepEqual(await call('sort', 's1', 'desc', 'limit', 0, 2), ['3', '2']);
  await call('mset', 'w_1', '30', 'w_2', '20', 'w_3', '10', 'v_1', 'one');
  assert.deepEqual(await call('sort', 's1', 'by', 'w_*'), ['3', '2', '1']);
  assert.deepEqual(await call('sort', 's1', 'by', 'nosort', 'get', '#', 'get', 'v_*'), ['3', null, '1', 'one', '2', null]);
  await call('rpush', 's2', 'b', 'a', 'c');
  assert.equal(await call('sort', 's2'), "ERR One or more scores can't be converted into double");
  assert.equal(await call('sort', 's2', 'alpha', 'store', 's3'), 3);
  assert.deepEqual(await call('lrange', 's3', 0, -1), ['a', 'b', 'c']);
  assert.equal(await call('sort', 's2', 'bad'), 'ERR syntax error');
});

test('CLIENT UNBLOCK ends a wait as a timeout or with an error', async () => {
  const waiter = new Redis({ host: '127.0.0.1', port: server.port, maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    const id = Number(await waiter.client('ID'));
    const first = waiter.blpop('ub', 0);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(await call('client', 'unblock', id, 'timeout'), 1);
    assert.equal(await first, null);
    const second = waiter.call('blpop', 'ub', 0).catch((error: Error) => error.message);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(await call('client', 'unblock', id, 'error'), 1);
    assert.equal(await second, 'UNBLOCKED client unblocked via CLIENT UNBLOCK');
    assert.equal(await call('client', 'unblock', id), 0);
    assert.equal(await call('client', 'unblock', 'asd'), 'ERR value is not an integer or out of range');
  } finally {
    waiter.disconnect();
  }
});

test('pushes and pops keep a list TTL; an expired list is replaced by a push', async () => {
  await call('rpush', 't1', 'a', 'b');
  assert.equal(await call('expire', 't1', 100), 1);
  await call('lpush', 't1', 'c');
  await call('rpop', 't1');
  await call('lset', 't1', 0, 'C');
  await call('linsert', 't1', 'after', 'C', 'd');
  assert.equal(await call('ttl', 't1'), 100);
  assert.deepEqual(await call('lrange', 't1', 0, -1), ['C', 'd', 'a']);
  assert.equal(await call('pexpire', 't1', 1), 1);
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(await call('rpush', 't1', 'new'), 1);
  assert.deepEqual(await call('lrange', 't1', 0, -1), ['new']);
  assert.equal(await call('ttl', 't1'), -1);
});

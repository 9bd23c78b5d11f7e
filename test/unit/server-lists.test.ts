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
  assert.deepEqual(events, ['rpush', 'lpush', 'rpop', 'lpop', 'del']);
});

// Proves the set commands through a real listener over the MemoryEngine: Redis 7.0's replies and errors, the rows they write (empty-valued Field rows, the key's clear with its last member), SPOP/SRANDMEMBER forms, SSCAN, SMOVE and the set algebra with its STORE forms.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { Redis } from 'ioredis';
import { MemoryEngine, RawClient, startMemoryServer } from '../support/memory-engine.js';
import type { RespServer } from '../../src/net/resp-listener.js';
import { clearRowKey, RowKind, rowKey } from '../../src/core/rows.js';

let server: RespServer;
let engine: MemoryEngine;
let redis: Redis;
const WRONGTYPE = /^WRONGTYPE Operation against a key holding the wrong kind of value$/;

before(async () => {
  engine = new MemoryEngine({});
  ({ server } = await startMemoryServer({ engine }));
  redis = new Redis({ host: '127.0.0.1', port: server.port, maxRetriesPerRequest: 0, retryStrategy: () => null });
});

after(async () => {
  redis.disconnect();
  await server.close();
});

async function call(...args: (string | number)[]): Promise<unknown> {
  try {
    return await redis.call(String(args[0]), ...args.slice(1));
  } catch (error) {
    return (error as Error).message;
  }
}

/** Raw RESP bytes of one command after HELLO 3 on a fresh connection. */
async function rawResp3(command: string[]): Promise<string> {
  const client = new RawClient(server.port);
  await client.connected;
  const encode = (parts: string[]) => `*${parts.length}\r\n${parts.map((part) => `$${Buffer.byteLength(part)}\r\n${part}\r\n`).join('')}`;
  client.send(encode(['HELLO', '3']));
  await client.waitFor((text) => text.includes('modules'));
  await new Promise((resolve) => setTimeout(resolve, 20));
  const skip = client.text().length;
  client.send(encode(command) + encode(['PING']));
  const text = await client.waitFor((received) => received.endsWith('+PONG\r\n'));
  client.destroy();
  return text.slice(skip, text.length - '+PONG\r\n'.length);
}

const sorted = (value: unknown) => [...(value as string[])].sort();

test('SADD SREM SCARD SISMEMBER SMISMEMBER SMEMBERS TYPE OBJECT ENCODING', async () => {
  assert.equal(await call('sadd', 's1', 'a', 'b', 'a'), 2);
  assert.equal(await call('sadd', 's1', 'b', 'c'), 1);
  assert.equal(await call('scard', 's1'), 3);
  assert.equal(await call('scard', 'absent'), 0);
  assert.equal(await call('sismember', 's1', 'a'), 1);
  assert.equal(await call('sismember', 's1', 'z'), 0);
  assert.deepEqual(await call('smismember', 's1', 'a', 'z', 'c'), [1, 0, 1]);
  assert.deepEqual(await call('smismember', 'absent', 'a'), [0]);
  assert.deepEqual(sorted(await call('smembers', 's1')), ['a', 'b', 'c']);
  assert.deepEqual(await call('smembers', 'absent'), []);
  assert.equal(await call('type', 's1'), 'set');
  assert.equal(await call('object', 'encoding', 's1'), 'hashtable');
  await call('sadd', 'ints', '1', '2', '3');
  assert.equal(await call('object', 'encoding', 'ints'), 'intset');
  assert.deepEqual(engine.lastWrites.map((write) => write.value?.length), [0, 0, 0, 1]); // empty member rows, then the header (stamped last)
  assert.equal(await call('srem', 's1', 'a', 'a', 'z'), 1);
  assert.equal(await call('srem', 'absent', 'a'), 0);
  assert.equal(await call('srem', 's1', 'b', 'c'), 2);
  assert.deepEqual(engine.lastWrites.map((write) => write.key), [clearRowKey(Buffer.from('s1')), rowKey(Buffer.from('s1'), RowKind.Field, Buffer.from('b')), rowKey(Buffer.from('s1'), RowKind.Field, Buffer.from('c'))]);
  assert.equal(await call('exists', 's1'), 0);
  assert.equal(await call('type', 's1'), 'none');
});

test('WRONGTYPE and argument errors', async () => {
  await call('set', 'str', 'v');
  for (const args of [['sadd', 'str', 'a'], ['srem', 'str', 'a'], ['smembers', 'str'], ['scard', 'str'], ['sismember', 'str', 'a'], ['spop', 'str'], ['srandmember', 'str'], ['sscan', 'str', 0], ['sinter', 'str'], ['sunion', 'str'], ['sdiff', 'str'], ['smove', 'str', 'x', 'a']]) {
    assert.match(String(await call(...args)), WRONGTYPE, args.join(' '));
  }
  assert.equal(await call('spop', 's', '-1'), 'ERR value is out of range, must be positive');
  assert.equal(await call('spop', 's', '1', '2'), 'ERR syntax error');
  assert.equal(await call('srandmember', 's', 'x'), 'ERR value is not an integer or out of range');
  assert.equal(await call('sintercard', '0', 'a'), 'ERR numkeys should be greater than 0');
  assert.equal(await call('sintercard', '3', 'a'), "ERR Number of keys can't be greater than number of args");
  assert.equal(await call('sintercard', '1', 'a', 'limit', '-1'), "ERR LIMIT can't be negative");
  assert.equal(await call('sintercard', '1', 'a', 'foo'), 'ERR syntax error');
});

test('SPOP and SRANDMEMBER: single, counted, negative counts; the last pop deletes the key', async () => {
  await call('sadd', 'sp', 'a', 'b', 'c', 'd');
  const one = (await call('spop', 'sp')) as string;
  assert.ok(['a', 'b', 'c', 'd'].includes(one));
  assert.equal(await call('scard', 'sp'), 3);
  assert.equal(((await call('spop', 'sp', 2)) as string[]).length, 2);
  assert.deepEqual(await call('spop', 'sp', 0), []);
  assert.equal(((await call('spop', 'sp', 10)) as string[]).length, 1);
  assert.equal(await call('exists', 'sp'), 0);
  assert.equal(await call('spop', 'sp'), null);
  assert.deepEqual(await call('spop', 'sp', 3), []);
  await call('sadd', 'sr', 'a', 'b', 'c');
  assert.ok(['a', 'b', 'c'].includes((await call('srandmember', 'sr')) as string));
  assert.deepEqual(sorted(await call('srandmember', 'sr', 5)), ['a', 'b', 'c']);
  assert.equal(new Set((await call('srandmember', 'sr', 2)) as string[]).size, 2);
  assert.equal(((await call('srandmember', 'sr', -7)) as string[]).length, 7);
  assert.equal(await call('srandmember', 'absent'), null);
  assert.deepEqual(await call('srandmember', 'absent', 3), []);
});

test('SMOVE, SSCAN', async () => {
  await call('sadd', 'm1', 'a', 'b');
  await call('sadd', 'm2', 'c');
  assert.equal(await call('smove', 'm1', 'm2', 'a'), 1);
  assert.equal(await call('smove', 'm1', 'm2', 'zz'), 0);
  assert.equal(await call('smove', 'absent', 'm2', 'a'), 0);
  assert.equal(await call('smove', 'm2', 'm2', 'a'), 1);
  assert.equal(await call('smove', 'm1', 'm3', 'b'), 1);
  assert.equal(await call('exists', 'm1'), 0);
  assert.deepEqual(await call('smembers', 'm3'), ['b']);
  assert.deepEqual(sorted(await call('smembers', 'm2')), ['a', 'c']);
  await call('set', 'str2', 'v');
  assert.match(String(await call('smove', 'm2', 'str2', 'a')), WRONGTYPE);
  const members = Array.from({ length: 300 }, (_, index) => `m${index}`);
  await call('sadd', 'big', ...members);
  const seen = new Set<string>();
  let cursor = '0';
  do {
    const [next, items] = (await call('sscan', 'big', cursor, 'count', 50)) as [string, string[]];
    for (const item of items) seen.add(item);
    cursor = next;
  } while (cursor !== '0');
  assert.equal(seen.size, 300);
  const [, matched] = (await call('sscan', 'm2', 0, 'match', 'a*')) as [string, string[]];
  assert.deepEqual(matched, ['a']);
});

test('SINTER SUNION SDIFF SINTERCARD and the STORE forms', async () => {
  await call('sadd', 'x', 'a', 'b', 'c', 'd');
  await call('sadd', 'y', 'b', 'c', 'e');
  await call('sadd', 'z', 'c', 'f');
  assert.deepEqual(sorted(await call('sinter', 'x', 'y')), ['b', 'c']);
  assert.deepEqual(sorted(await call('sinter', 'x', 'y', 'z')), ['c']);
  assert.deepEqual(await call('sinter', 'x', 'absent'), []);
  assert.deepEqual(sorted(await call('sunion', 'x', 'y', 'absent')), ['a', 'b', 'c', 'd', 'e']);
  assert.deepEqual(sorted(await call('sdiff', 'x', 'y', 'absent')), ['a', 'd']);
  assert.deepEqual(await call('sdiff', 'absent', 'x'), []);
  assert.equal(await call('sintercard', 2, 'x', 'y'), 2);
  assert.equal(await call('sintercard', 2, 'x', 'y', 'limit', 1), 1);
  assert.equal(await call('sinterstore', 'dst', 'x', 'y'), 2);
  assert.deepEqual(sorted(await call('smembers', 'dst')), ['b', 'c']);
  assert.equal(await call('sunionstore', 'dst', 'dst', 'z'), 3);
  assert.deepEqual(sorted(await call('smembers', 'dst')), ['b', 'c', 'f']);
  assert.equal(await call('sdiffstore', 'dst', 'x', 'y'), 2);
  assert.deepEqual(sorted(await call('smembers', 'dst')), ['a', 'd']);
  await call('set', 'str3', 'v');
  assert.equal(await call('sinterstore', 'str3', 'x', 'absent'), 0);
  assert.equal(await call('exists', 'str3'), 0);
  assert.equal(await call('sunionstore', 'str3', 'z'), 2);
  assert.equal(await call('type', 'str3'), 'set');
});

test('RESP3: SMEMBERS, SPOP count and set algebra reply with set headers', async () => {
  await call('sadd', 'r3', 'x');
  assert.equal(await rawResp3(['SMEMBERS', 'r3']), '~1\r\n$1\r\nx\r\n');
  assert.equal(await rawResp3(['SUNION', 'r3', 'absent']), '~1\r\n$1\r\nx\r\n');
  assert.equal(await rawResp3(['SMEMBERS', 'absent']), '~0\r\n');
  assert.equal(await rawResp3(['SPOP', 'r3', '5']), '~1\r\n$1\r\nx\r\n');
});

test('an add keeps the TTL (the header is rewritten with it); a set expired is replaced, not extended', async () => {
  await call('sadd', 'ttl1', 'a');
  assert.equal(await call('expire', 'ttl1', 100), 1);
  assert.equal(await call('sadd', 'ttl1', 'b'), 1);
  assert.equal(await call('ttl', 'ttl1'), 100);
  await call('zadd', 'ttl2', 1, 'a');
  await call('expire', 'ttl2', 100);
  await call('zincrby', 'ttl2', 1, 'a');
  assert.equal(await call('ttl', 'ttl2'), 100);
  await call('sadd', 'ttl3', 'old');
  await call('pexpire', 'ttl3', 1);
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(await call('sadd', 'ttl3', 'new'), 1);
  assert.deepEqual(await call('smembers', 'ttl3'), ['new']);
  assert.equal(await call('ttl', 'ttl3'), -1);
});

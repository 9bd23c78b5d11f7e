// Proves the hash commands through a real listener over the MemoryEngine: Redis 7.0's replies and errors for every command, the rows they write, empty hashes reading as absent everywhere, counters, HSCAN cursors, HRANDFIELD forms and keyspace events.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { Redis } from 'ioredis';
import { MemoryEngine, RawClient, startMemoryServer } from '../support/memory-engine.js';
import type { RespServer } from '../../src/net/resp-listener.js';
import { clearRowKey, decodeFieldValue, decodeSlotTotal, headerRowKey, KeyType, RowKind, rowKey, slotElement } from '../../src/core/rows.js';
import type { KeyspaceEvent } from '../../src/server/engine.js';

let server: RespServer;
let engine: MemoryEngine;
let clockMs = Date.now();
let redis: Redis;
const WRONGTYPE = /^WRONGTYPE Operation against a key holding the wrong kind of value$/;

before(async () => {
  engine = new MemoryEngine({ nowMs: () => clockMs });
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

/** Raw RESP bytes of one command on a fresh connection (after HELLO 3 when resp3). */
async function raw(command: string[], resp3 = false): Promise<string> {
  const client = new RawClient(server.port);
  await client.connected;
  const encode = (parts: string[]) => `*${parts.length}\r\n${parts.map((part) => `$${Buffer.byteLength(part)}\r\n${part}\r\n`).join('')}`;
  let skip = 0;
  if (resp3) {
    client.send(encode(['HELLO', '3']));
    await client.waitFor((text) => text.includes('modules'));
    await new Promise((resolve) => setTimeout(resolve, 20));
    skip = client.text().length;
  }
  client.send(encode(command) + encode(['PING']));
  const text = await client.waitFor((received) => received.endsWith('+PONG\r\n'));
  client.destroy();
  return text.slice(skip, text.length - '+PONG\r\n'.length);
}

function events(): { list: string[]; stop: () => void } {
  const list: string[] = [];
  // `new` (class n, outside A) has its own test in server-strings.test.ts.
  const stop = engine.onKeyspaceEvent((event: KeyspaceEvent) => void (event.event !== 'new' && list.push(`${Buffer.from(event.key).toString()}:${event.event}`)));
  return { list, stop };
}

test('HSET HGET HMSET HMGET HSETNX HEXISTS HSTRLEN HLEN: replies as Redis 7.0', async () => {
  assert.equal(await call('hset', 'h1', 'a', '1', 'b', '2'), 2);
  assert.equal(await call('hset', 'h1', 'a', 'x', 'c', '3', 'c', '4'), 1); // a updated, c new once
  assert.equal(await call('hget', 'h1', 'a'), 'x');
  assert.equal(await call('hget', 'h1', 'c'), '4');
  assert.equal(await call('hget', 'h1', 'nope'), null);
  assert.equal(await call('hget', 'absent', 'a'), null);
  assert.equal(await call('hmset', 'h1', 'd', '5'), 'OK');
  assert.deepEqual(await call('hmget', 'h1', 'a', 'nope', 'd'), ['x', null, '5']);
  assert.deepEqual(await call('hmget', 'absent', 'a', 'b'), [null, null]);
  assert.equal(await call('hsetnx', 'h1', 'a', 'y'), 0);
  assert.equal(await call('hsetnx', 'h1', 'e', 'y'), 1);
  assert.equal(await call('hsetnx', 'hnx', 'f', 'v'), 1);
  assert.equal(await call('hget', 'hnx', 'f'), 'v');
  assert.equal(await call('hexists', 'h1', 'e'), 1);
  assert.equal(await call('hexists', 'h1', 'nope'), 0);
  assert.equal(await call('hexists', 'absent', 'e'), 0);
  assert.equal(await call('hstrlen', 'h1', 'a'), 1);
  assert.equal(await call('hstrlen', 'h1', 'nope'), 0);
  assert.equal(await call('hstrlen', 'absent', 'a'), 0);
  assert.equal(await call('hlen', 'h1'), 5);
  assert.equal(await call('hlen', 'absent'), 0);
  assert.equal(await call('type', 'h1'), 'hash');
  const binary = Buffer.from([0, 0xff, 13, 10]);
  assert.equal(await redis.hset('hbin', binary, binary), 1);
  assert.ok((await redis.hgetBuffer('hbin', binary))?.equals(binary));
  assert.equal(await call('hset', 'hempty', '', ''), 1);
  assert.equal(await call('hget', 'hempty', ''), '');
});

test('argument errors: odd pairs, arity, field size, WRONGTYPE for every hash command', async () => {
  assert.equal(await call('hset', 'h2', 'a', '1', 'b'), "ERR wrong number of arguments for 'hset' command");
  assert.equal(await call('hmset', 'h2', 'a', '1', 'b'), "ERR wrong number of arguments for 'hmset' command");
  assert.equal(await call('hset', 'h2', 'a'), "ERR wrong number of arguments for 'hset' command");
  assert.equal(await call('hget', 'h2'), "ERR wrong number of arguments for 'hget' command");
  assert.equal(await call('hdel', 'h2'), "ERR wrong number of arguments for 'hdel' command");
  assert.equal(await call('exists', 'h2'), 0);
  assert.match(String(await call('hset', 'h2', 'x'.repeat(64 * 1024 + 1), 'v')), /^ERR hash field is 65537 bytes/);
  await call('set', 'str', 'v');
  const commands: (string | number)[][] = [
    ['hset', 'str', 'a', '1'], ['hmset', 'str', 'a', '1'], ['hsetnx', 'str', 'a', '1'], ['hget', 'str', 'a'], ['hmget', 'str', 'a'],
    ['hdel', 'str', 'a'], ['hlen', 'str'], ['hexists', 'str', 'a'], ['hstrlen', 'str', 'a'], ['hincrby', 'str', 'a', 1],
    ['hincrbyfloat', 'str', 'a', 1], ['hgetall', 'str'], ['hkeys', 'str'], ['hvals', 'str'], ['hscan', 'str', 0],
    ['hrandfield', 'str'], ['hrandfield', 'str', 2], ['hrandfield', 'str', 0],
  ];
  for (const args of commands) assert.match(String(await call(...args)), WRONGTYPE, args.join(' '));
  assert.equal(await call('get', 'str'), 'v');
  await call('hset', 'h2', 'a', '1');
  assert.match(String(await call('get', 'h2')), WRONGTYPE);
  assert.equal(await call('set', 'h2', 'now a string'), 'OK');
  assert.equal(await call('get', 'h2'), 'now a string');
  assert.equal(await call('hget', 'h2', 'a') instanceof Error, false);
});

test('HDEL: counts each live field once; the last field deletes the key everywhere (TYPE, EXISTS, DBSIZE, KEYS, SCAN)', async () => {
  const before = (await call('dbsize')) as number;
  await call('hset', 'hd', 'a', '1', 'b', '2', 'c', '3');
  assert.equal(await call('dbsize'), before + 1);
  assert.equal(await call('hdel', 'hd', 'a', 'a', 'nope'), 1);
  assert.deepEqual(engine.lastWrites.map((write) => write.value), [null]); // one tombstone
  assert.equal(await call('hdel', 'hd', 'x'), 0);
  assert.equal(await call('hdel', 'absent', 'x'), 0);
  assert.equal(await call('hdel', 'hd', 'b', 'c'), 2);
  // The clear row first, then the tombstones of the fields it named.
  assert.deepEqual(engine.lastWrites.map((write) => Buffer.from(write.key)), [Buffer.from(clearRowKey(Buffer.from('hd'))), Buffer.from(rowKey(Buffer.from('hd'), RowKind.Field, Buffer.from('b'))), Buffer.from(rowKey(Buffer.from('hd'), RowKind.Field, Buffer.from('c')))]);
  assert.equal(engine.get(headerRowKey(Buffer.from('hd'))), undefined);
  assert.equal(await call('type', 'hd'), 'none');
  assert.equal(await call('exists', 'hd'), 0);
  assert.equal(await call('hlen', 'hd'), 0);
  assert.equal(await call('dbsize'), before);
  assert.deepEqual(await call('keys', 'hd'), []);
  assert.deepEqual(await call('hgetall', 'hd'), {}); // ioredis turns HGETALL into an object
  // A hash header left without a live field (two nodes each deleted one of the last two): absent too.
  await engine.write([
    { key: headerRowKey(Buffer.from('hollow')), value: Uint8Array.of(KeyType.Hash), expiresAtMs: 0 },
    { key: rowKey(Buffer.from('hollow'), RowKind.Field, Buffer.from('f')), value: null, expiresAtMs: 0 },
  ]);
  assert.equal(await call('type', 'hollow'), 'none');
  assert.equal(await call('exists', 'hollow'), 0);
  assert.equal(await call('dbsize'), before);
  assert.deepEqual(await call('keys', 'hollow'), []);
  assert.equal(await call('hset', 'hollow', 'g', '1'), 1);
  assert.equal(await call('dbsize'), before + 1);
  await call('del', 'hollow');
});

test('fields that outlived their header (a concurrent HSET after a clear) read as a hash without expiry', async () => {
  await engine.write([{ key: rowKey(Buffer.from('orphan'), RowKind.Field, Buffer.from('f')), value: Buffer.from([0, 0x76]), expiresAtMs: 0 }]);
  assert.equal(await call('type', 'orphan'), 'hash');
  assert.equal(await call('exists', 'orphan'), 1);
  assert.equal(await call('ttl', 'orphan'), -1);
  assert.deepEqual(await call('hgetall', 'orphan'), { f: 'v' });
  assert.deepEqual(await call('keys', 'orphan'), ['orphan']);
  assert.deepEqual(await call('scan', 0, 'match', 'orph*', 'type', 'hash', 'count', 100000), ['0', ['orphan']]);
  assert.equal(await call('hset', 'orphan', 'g', 'w'), 1);
  assert.equal(await call('expire', 'orphan', 100), 1);
  assert.equal(await call('ttl', 'orphan'), 100);
  assert.equal(await call('del', 'orphan'), 1);
  assert.equal(await call('exists', 'orphan'), 0);
});

test('rows: a new hash writes its header then its fields in one write; later HSETs write one row per field', async () => {
  const calls = engine.writeCalls;
  await call('hset', 'hrows', 'a', '1', 'b', '2');
  assert.equal(engine.writeCalls, calls + 1);
  assert.deepEqual(engine.lastWrites.map((write) => Buffer.from(write.key)), [headerRowKey(Buffer.from('hrows')), rowKey(Buffer.from('hrows'), RowKind.Field, Buffer.from('a')), rowKey(Buffer.from('hrows'), RowKind.Field, Buffer.from('b'))].map((key) => Buffer.from(key)));
  assert.deepEqual(Buffer.from(engine.lastWrites[0]!.value!), Buffer.from([KeyType.Hash]));
  assert.deepEqual(Buffer.from(decodeFieldValue(engine.lastWrites[1]!.value!)!.bytes), Buffer.from('1'));
  await call('hset', 'hrows', 'c', '3');
  assert.equal(engine.lastWrites.length, 1);
  await call('hsetnx', 'hrows', 'd', '4');
  assert.equal(engine.lastWrites.length, 1);
});

test('an expired hash is gone: HSET creates a new one (clear first), TTL -2 before', async () => {
  await call('hset', 'hexp', 'a', '1', 'n', '10');
  await call('hincrby', 'hexp', 'n', 5);
  await call('pexpire', 'hexp', 100);
  clockMs += 200;
  assert.equal(await call('ttl', 'hexp'), -2);
  assert.equal(await call('hlen', 'hexp'), 0);
  assert.equal(await call('hset', 'hexp', 'a', '2'), 1); // a is new: the old key expired
  assert.equal(engine.lastWrites[0]!.value, null); // the clear of the expired key
  assert.equal(await call('hlen', 'hexp'), 1);
  assert.equal(await call('ttl', 'hexp'), -1);
  assert.equal(await call('hincrby', 'hexp', 'n', 1), 1); // the old counter went with the key
  assert.deepEqual(await call('hgetall', 'hexp'), { a: '2', n: '1' });
});

test('HINCRBY: slots over a base, created fields, errors and overflow as Redis 7.0', async () => {
  assert.equal(await call('hincrby', 'hi', 'n', 2), 2);
  assert.deepEqual(await call('hgetall', 'hi'), { n: '2' });
  assert.equal(await call('hincrby', 'hi', 'n', 3), 5);
  const slot = engine.get(rowKey(Buffer.from('hi'), RowKind.Slot, slotElement(Buffer.from('n'), engine.nodeId())));
  assert.deepEqual(decodeSlotTotal(slot!.value!), { integer: 5n, float: 0 });
  assert.equal(engine.lastWrites.length, 1); // an existing field: its slot row only
  assert.equal(await call('hset', 'hi', 'n', '100'), 0);
  assert.equal(await call('hincrby', 'hi', 'n', 2), 102); // the new base observed the slot
  assert.equal(await call('hset', 'hi', 'big', '17179869184'), 1);
  assert.equal(await call('hincrby', 'hi', 'big', 17179869184), 34359738368);
  assert.equal(await call('hincrby', 'hi', 'n', 'x'), 'ERR value is not an integer or out of range');
  assert.equal(await call('hincrby', 'hi', 'n', '1.5'), 'ERR value is not an integer or out of range');
  for (const bad of [' 11', '11 ', 'abc', '1.5', '']) {
    await call('hset', 'hi', 's', bad);
    assert.equal(await call('hincrby', 'hi', 's', 1), 'ERR hash value is not an integer', JSON.stringify(bad));
  }
  await call('hset', 'hi', 'n', '-9223372036854775484');
  assert.equal(await call('hincrby', 'hi', 'n', -1), -9223372036854775485);
  assert.equal(await call('hincrby', 'hi', 'n', -10000), 'ERR increment or decrement would overflow');
  await call('hset', 'hi', 'm', '9223372036854775807');
  assert.equal(await call('hincrby', 'hi', 'm', 1), 'ERR increment or decrement would overflow');
  assert.equal(await raw(['HINCRBY', 'hi', 'm', '-9223372036854775807']), ':0\r\n');
  assert.equal(await call('hget', 'hi', 'm'), '0');
  // A slot total that would leave 64 bits takes a new base instead.
  await call('hincrby', 'hi', 'w', '9223372036854775807');
  await call('hset', 'hi', 'w', '0');
  assert.equal(await raw(['HINCRBY', 'hi', 'w', '5']), ':5\r\n');
  assert.equal(await call('hget', 'hi', 'w'), '5');
  assert.equal(await raw(['HINCRBY', 'hi', 'w', '9223372036854775802']), ':9223372036854775807\r\n');
  assert.equal(await call('hget', 'hi', 'w'), '9223372036854775807');
});

test('HINCRBYFLOAT: float slots, Redis text, errors', async () => {
  assert.equal(await call('hincrbyfloat', 'hf', 'f', '1.23'), '1.23');
  assert.equal(await call('hincrbyfloat', 'hf', 'f', '0.77'), '2');
  assert.equal(await call('hincrbyfloat', 'hf', 'f', '-0.1'), '1.9');
  assert.equal(await call('hget', 'hf', 'f'), '1.9');
  assert.equal(await call('hincrbyfloat', 'hf', 'g', '2.5'), '2.5');
  assert.equal(await call('hincrbyfloat', 'hf', 'g', '3.5'), '6');
  assert.equal(await call('hincrby', 'hf', 'g', 1), 7); // "6" is an integer again
  assert.equal(await call('hget', 'hf', 'g'), '7');
  await call('hset', 'hf', 'h', '100');
  assert.equal(await call('hincrbyfloat', 'hf', 'h', '2.5'), '102.5');
  assert.equal(await call('hincrby', 'hf', 'h', 1), 'ERR hash value is not an integer');
  await call('hset', 'hf', 'e', '17179869184');
  assert.equal(await call('hincrbyfloat', 'hf', 'e', '17179869184'), '34359738368');
  assert.equal(await call('hincrbyfloat', 'hf', 'x', '5.0e3'), '5000');
  assert.equal(await call('hincrbyfloat', 'hf', 'y', '0x10'), '16');
  assert.equal(await call('hincrbyfloat', 'hf', 'f', 'abc'), 'ERR value is not a valid float');
  assert.equal(await call('hincrbyfloat', 'hf', 'f', ' 1'), 'ERR value is not a valid float');
  assert.equal(await call('hincrbyfloat', 'hf', 'f', 'nan'), 'ERR value is not a valid float');
  assert.equal(await call('hincrbyfloat', 'hnan', 'f', '+inf'), 'ERR value is NaN or Infinity');
  assert.equal(await call('exists', 'hnan'), 0);
  for (const bad of [' 11', '11 ', '1\x002']) {
    await call('hset', 'hf', 's', bad);
    assert.equal(await call('hincrbyfloat', 'hf', 's', 1), 'ERR hash value is not a float', JSON.stringify(bad));
  }
  await call('hset', 'hf', 'inf', 'inf');
  assert.equal(await call('hincrbyfloat', 'hf', 'inf', 1), 'ERR increment would produce NaN or Infinity');
  await call('hset', 'hf', 'max', '1.7e308');
  assert.equal(await call('hincrbyfloat', 'hf', 'max', '1.7e308'), 'ERR increment would produce NaN or Infinity');
});

test('HGETALL HKEYS HVALS: RESP2 arrays, RESP3 map, empty replies', async () => {
  await call('hset', 'hall', 'b', '2', 'a', '1', 'n', '0');
  await call('hincrby', 'hall', 'n', 7);
  assert.deepEqual(await call('hgetall', 'hall'), { a: '1', b: '2', n: '7' });
  assert.deepEqual(await call('hkeys', 'hall'), ['a', 'b', 'n']);
  assert.deepEqual(await call('hvals', 'hall'), ['1', '2', '7']);
  assert.deepEqual(await call('hkeys', 'absent'), []);
  assert.deepEqual(await call('hvals', 'absent'), []);
  assert.equal(await raw(['HGETALL', 'hall']), '*6\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nn\r\n$1\r\n7\r\n');
  assert.equal(await raw(['HGETALL', 'hall'], true), '%3\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nn\r\n$1\r\n7\r\n');
  assert.equal(await raw(['HGETALL', 'absent'], true), '%0\r\n');
  assert.equal(await raw(['HGETALL', 'absent']), '*0\r\n');
  assert.equal(await raw(['HKEYS', 'hall'], true), '*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nn\r\n');
  assert.equal(await raw(['HGET', 'hall', 'zz'], true), '_\r\n');
});

test('HSCAN: every field once through cursors, MATCH, COUNT, cursor and option errors as Redis', async () => {
  const fields: string[] = [];
  for (let index = 0; index < 1000; index++) fields.push(`key:${index}`, String(index));
  await call('hset', 'hs', ...fields);
  let cursor = '0';
  const seen = new Map<string, string>();
  let calls = 0;
  do {
    const [next, items] = (await call('hscan', 'hs', cursor)) as [string, string[]];
    calls++;
    assert.ok(items.length <= 20);
    for (let index = 0; index < items.length; index += 2) {
      assert.equal(seen.has(items[index]!), false);
      seen.set(items[index]!, items[index + 1]!);
    }
    cursor = next;
  } while (cursor !== '0');
  assert.equal(seen.size, 1000);
  assert.ok(calls >= 100);
  for (const [field, value] of seen) assert.equal(field, `key:${value}`);
  // A cursor sent again continues the same way; an unknown one starts over.
  const [first] = (await call('hscan', 'hs', 0, 'count', 5)) as [string, string[]];
  const again1 = (await call('hscan', 'hs', first, 'count', 5)) as [string, string[]];
  const again2 = (await call('hscan', 'hs', first, 'count', 5)) as [string, string[]];
  assert.deepEqual(again1[1], again2[1]);
  const restart = (await call('hscan', 'hs', '987654321987', 'count', 5)) as [string, string[]];
  assert.deepEqual(restart[1], ((await call('hscan', 'hs', 0, 'count', 5)) as [string, string[]])[1]);
  // A small hash comes back whole, with a MATCH filter.
  await call('hmset', 'hsm', 'foo', '1', 'fab', '2', 'fiz', '3', 'foobar', '10', '1', 'a', '2', 'b');
  assert.deepEqual(await call('hscan', 'hsm', 0, 'MATCH', 'foo*', 'COUNT', 10000), ['0', ['foo', '1', 'foobar', '10']]);
  assert.deepEqual(await call('hscan', 'hsm', 0, 'match', '*'), ['0', ['1', 'a', '2', 'b', 'fab', '2', 'fiz', '3', 'foo', '1', 'foobar', '10']]);
  assert.deepEqual(await call('hscan', 'absent', 0), ['0', []]);
  assert.deepEqual(await call('hscan', 'absent', 0, 'bogus'), ['0', []]); // Redis checks options only on an existing key
  assert.equal(await call('hscan', 'hs', 'x'), 'ERR invalid cursor');
  assert.equal(await call('hscan', 'hs', ' 1'), 'ERR invalid cursor');
  assert.equal(await call('hscan', 'hs', '18446744073709551616'), 'ERR invalid cursor');
  assert.equal((await call('hscan', 'hs', '18446744073709551615') as unknown[])?.length, 2);
  assert.equal(await call('hscan', 'hs', 0, 'count', 0), 'ERR syntax error');
  assert.equal(await call('hscan', 'hs', 0, 'count', 'x'), 'ERR value is not an integer or out of range');
  assert.equal(await call('hscan', 'hs', 0, 'count'), 'ERR syntax error');
  assert.equal(await call('hscan', 'hs', 0, 'type', 'hash'), 'ERR syntax error');
  assert.equal(await call('hscan', 'hs', 0, 'novalues'), 'ERR syntax error');
});

test('HRANDFIELD: single, positive and negative counts, WITHVALUES in RESP2 and RESP3, errors as Redis', async () => {
  await call('hset', 'hr', 'a', '1', 'b', '2', 'c', '3', 'd', '4', 'e', '5');
  const all = new Set(['a', 'b', 'c', 'd', 'e']);
  const seen = new Set<string>();
  for (let index = 0; index < 200; index++) seen.add((await call('hrandfield', 'hr')) as string);
  assert.deepEqual(seen, all);
  assert.equal(await call('hrandfield', 'absent'), null);
  assert.deepEqual(await call('hrandfield', 'absent', 5), []);
  assert.deepEqual(await call('hrandfield', 'hr', 0), []);
  assert.equal(await raw(['HRANDFIELD', 'hr', '0']), '*0\r\n');
  assert.equal(await raw(['HRANDFIELD', 'absent', '3']), '*0\r\n');
  const three = (await call('hrandfield', 'hr', 3)) as string[];
  assert.equal(new Set(three).size, 3);
  for (const field of three) assert.ok(all.has(field));
  assert.deepEqual(new Set(await call('hrandfield', 'hr', 10) as string[]), all);
  const pairs = (await call('hrandfield', 'hr', 10, 'withvalues')) as string[];
  assert.equal(pairs.length, 10);
  for (let index = 0; index < pairs.length; index += 2) assert.equal(pairs[index + 1], String(pairs[index]!.charCodeAt(0) - 96));
  const repeated = (await call('hrandfield', 'hr', -1001)) as string[];
  assert.equal(repeated.length, 1001);
  assert.deepEqual(new Set(repeated), all);
  assert.equal(((await call('hrandfield', 'hr', -20, 'WITHVALUES')) as string[]).length, 40);
  const resp3 = await raw(['HRANDFIELD', 'hr', '2', 'WITHVALUES'], true);
  assert.match(resp3, /^\*2\r\n\*2\r\n\$1\r\n[a-e]\r\n\$1\r\n[1-5]\r\n\*2\r\n\$1\r\n[a-e]\r\n\$1\r\n[1-5]\r\n$/);
  assert.match(await raw(['HRANDFIELD', 'hr', '-3', 'WITHVALUES'], true), /^\*3\r\n(\*2\r\n\$1\r\n[a-e]\r\n\$1\r\n[1-5]\r\n){3}$/);
  assert.match(await raw(['HRANDFIELD', 'hr', '2'], true), /^\*2\r\n(\$1\r\n[a-e]\r\n){2}$/);
  assert.equal(await call('hrandfield', 'hr', -9223372036854775808n.toString()), 'ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807');
  assert.equal(await call('hrandfield', 'hr', '-9223372036854770000', 'withvalues'), 'ERR value is out of range');
  assert.equal(await call('hrandfield', 'hr', '-9223372036854775808', 'withvalues'), 'ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807');
  assert.equal(await call('hrandfield', 'hr', 'x'), 'ERR value is not an integer or out of range');
  assert.equal(await call('hrandfield', 'hr', 2, 'bogus'), 'ERR syntax error');
  assert.equal(await call('hrandfield', 'hr', 2, 'withvalues', 'x'), 'ERR syntax error');
});

test('keyspace events: one hset per HSET, hdel then del for the last field, hincrby for a created field', async () => {
  const { list, stop } = events();
  await call('hset', 'hev', 'a', '1', 'b', '2', 'c', '3');
  await call('hset', 'hev', 'a', '9');
  await call('hsetnx', 'hev', 'd', '1');
  await call('hincrby', 'hev', 'n', 1);
  await call('hincrby', 'hev', 'n', 1);
  await call('hincrbyfloat', 'hev', 'n', '0.5');
  await call('hdel', 'hev', 'a');
  await call('hdel', 'hev', 'b', 'c', 'd', 'n');
  await call('hincrby', 'hev2', 'x', 1);
  stop();
  assert.deepEqual(list, ['hev:hset', 'hev:hset', 'hev:hset', 'hev:hincrby', 'hev:hincrby', 'hev:hincrbyfloat', 'hev:hdel', 'hev:hdel', 'hev:del', 'hev2:hincrby']);
});

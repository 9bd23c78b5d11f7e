// Proves the string commands (SET options, GETSET GETEX GETDEL SETNX SETEX PSETEX MSETNX STRLEN APPEND GETRANGE SUBSTR SETRANGE SETBIT GETBIT LCS) reply as Redis 7.0 does through a real listener, errors included, and name the keyspace events Redis names (or the documented row-derived ones).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { Redis, type RedisOptions } from 'ioredis';
import { MemoryEngine, startMemoryServer } from '../support/memory-engine.js';
import type { RespServer } from '../../src/net/resp-listener.js';
import { encodeHeader, headerRowKey, KeyType } from '../../src/core/rows.js';
import type { KeyspaceEvent } from '../../src/server/engine.js';
import { longestCommonSubsequence } from '../../src/server/lcs.js';

let server: RespServer;
let engine: MemoryEngine;
let clockMs = Date.now();
const clients: Redis[] = [];

function client(options: RedisOptions = {}): Redis {
  const redis = new Redis({ host: '127.0.0.1', port: server.port, maxRetriesPerRequest: 0, retryStrategy: () => null, ...options });
  clients.push(redis);
  return redis;
}

/** Make `key` a hash (no hash commands on this branch): its header row only. */
/** A key holding another type than string: a hash of one field. */
async function makeHash(key: string): Promise<void> {
  await client().hset(key, 'field', 'value');
}

/** The keyspace events the commands run by `body` emit, as "event:key". */
async function eventsOf(body: () => Promise<unknown>): Promise<string[]> {
  const events: string[] = [];
  // `new` (class n, outside A) has its own test in server-strings.test.ts.
  const stop = engine.onKeyspaceEvent((event: KeyspaceEvent) => void (event.event !== 'new' && events.push(`${event.event}:${Buffer.from(event.key).toString()}`)));
  try {
    await body();
  } finally {
    stop();
  }
  return events;
}

before(async () => {
  engine = new MemoryEngine({ nowMs: () => clockMs });
  ({ server } = await startMemoryServer({ engine }));
});

after(async () => {
  for (const redis of clients) redis.disconnect();
  await server.close();
});

const WRONGTYPE = /^ReplyError: WRONGTYPE Operation against a key holding the wrong kind of value$/;

test('SET options as Redis 7.0 parses them: GET with NX, repeated options, syntax before numbers', async () => {
  const redis = client();
  await makeHash('set:hash');
  assert.equal(await redis.call('SET', 'set:a', 'v1', 'NX', 'GET'), null);
  assert.equal(await redis.get('set:a'), 'v1');
  assert.equal(await redis.call('SET', 'set:a', 'v2', 'NX', 'GET'), 'v1');
  assert.equal(await redis.get('set:a'), 'v1');
  assert.equal(await redis.call('SET', 'set:none', 'v', 'XX', 'GET'), null);
  assert.equal(await redis.exists('set:none'), 0);
  assert.equal(await redis.call('SET', 'set:a', 'v3', 'EX', 10, 'EX', 20), 'OK');
  assert.equal(await redis.ttl('set:a'), 20);
  assert.equal(await redis.call('SET', 'set:a', 'v4', 'KEEPTTL', 'KEEPTTL', 'NX', 'NX', 'GET', 'GET'), 'v3');
  assert.equal(await redis.call('SET', 'set:a', 'v5', 'KEEPTTL'), 'OK');
  assert.equal(await redis.ttl('set:a'), 20);
  await assert.rejects(redis.call('SET', 'set:a', 'v', 'EX', 'abc', 'BOGUS'), /syntax error/);
  await assert.rejects(redis.call('SET', 'set:a', 'v', 'KEEPTTL', 'EX', 10), /syntax error/);
  await assert.rejects(redis.call('SET', 'set:a', 'v', 'EX', 10, 'PXAT', 10), /syntax error/);
  await assert.rejects(redis.call('SET', 'set:a', 'v', 'PERSIST'), /syntax error/);
  await assert.rejects(redis.call('SET', 'set:a', 'v', 'EX'), /syntax error/);
  await assert.rejects(redis.call('SET', 'set:a', 'v', 'XX', 'NX'), /syntax error/);
  await assert.rejects(redis.call('SET', 'set:a', 'v', 'EX', '1.5'), /value is not an integer or out of range/);
  await assert.rejects(redis.call('SET', 'set:a', 'v', 'PX', -1), /invalid expire time in 'set' command/);
  await assert.rejects(redis.call('SET', 'set:a', 'v', 'EX', '9223372036854775'), /invalid expire time in 'set' command/);
  await assert.rejects(redis.call('SET', 'set:a', 'v', 'EX', '9223372036854775808'), /value is not an integer/);
  await assert.rejects(redis.call('SET', 'set:hash', 'v', 'GET'), WRONGTYPE);
  await assert.rejects(redis.call('SET', 'set:hash', 'v', 'NX', 'GET'), WRONGTYPE);
  assert.equal(await redis.call('SET', 'set:hash', 'v', 'NX'), null);
  assert.equal(await redis.set('set:hash', 'now a string'), 'OK');
  assert.equal(await redis.get('set:hash'), 'now a string');
  assert.deepEqual(await eventsOf(() => redis.call('SET', 'set:ev', 'v', 'PX', 5000)), ['set:set:ev', 'expire:set:ev']);
});

test('GETSET returns the old value, sets the new one and drops the TTL', async () => {
  const redis = client();
  assert.equal(await redis.getset('gs', 'one'), null);
  await redis.expire('gs', 100);
  assert.equal(await redis.getset('gs', 'two'), 'one');
  assert.equal(await redis.get('gs'), 'two');
  assert.equal(await redis.ttl('gs'), -1);
  await makeHash('gs:hash');
  await assert.rejects(redis.getset('gs:hash', 'x'), WRONGTYPE);
  await assert.rejects(redis.call('GETSET', 'gs'), /wrong number of arguments for 'getset' command/);
  assert.deepEqual(await eventsOf(() => redis.getset('gs', 'three')), ['set:gs']);
});

test('GETEX: EX PX EXAT PXAT PERSIST, past times delete, errors after the type check', async () => {
  const redis = client();
  await redis.set('gx', 'bar');
  assert.equal(await redis.getex('gx'), 'bar');
  assert.equal(await redis.ttl('gx'), -1);
  assert.equal(await redis.call('GETEX', 'gx', 'EX', 10), 'bar');
  assert.equal(await redis.ttl('gx'), 10);
  assert.equal(await redis.call('GETEX', 'gx', 'PX', 5000), 'bar');
  assert.equal(await redis.pttl('gx'), 5000);
  assert.equal(await redis.call('GETEX', 'gx', 'EXAT', Math.floor(clockMs / 1000) + 100), 'bar');
  assert.ok((await redis.ttl('gx')) > 98);
  assert.equal(await redis.call('GETEX', 'gx', 'PXAT', clockMs + 7000), 'bar');
  assert.equal(await redis.pttl('gx'), 7000);
  assert.equal(await redis.call('GETEX', 'gx', 'PERSIST'), 'bar');
  assert.equal(await redis.ttl('gx'), -1);
  assert.equal(await redis.call('GETEX', 'gx', 'PXAT', clockMs - 1), 'bar');
  assert.equal(await redis.exists('gx'), 0);
  assert.equal(await redis.call('GETEX', 'gx', 'EX', 10), null);
  await assert.rejects(redis.call('GETEX', 'gx', 'non-existent-option'), /syntax error/);
  await assert.rejects(redis.call('GETEX', 'gx', 'EX', 10, 'PERSIST'), /syntax error/);
  await assert.rejects(redis.call('GETEX', 'gx', 'KEEPTTL'), /syntax error/);
  await assert.rejects(redis.call('GETEX', 'gx', 'NX'), /syntax error/);
  await assert.rejects(redis.call('GETEX'), /wrong number of arguments for 'getex' command/);
  await redis.set('gx', 'bar');
  await assert.rejects(redis.call('GETEX', 'gx', 'EX', 0), /invalid expire time in 'getex' command/);
  await assert.rejects(redis.call('GETEX', 'gx', 'EX', 'x'), /value is not an integer/);
  await makeHash('gx:hash');
  await assert.rejects(redis.call('GETEX', 'gx:hash', 'EX', 0), WRONGTYPE);
  const writes = engine.writeCalls;
  await redis.call('GETEX', 'gx', 'PERSIST');
  assert.equal(engine.writeCalls, writes, 'PERSIST of a key without TTL writes nothing');
  assert.deepEqual(await eventsOf(() => redis.call('GETEX', 'gx', 'EX', 10)), ['expire:gx']);
  assert.deepEqual(await eventsOf(() => redis.call('GETEX', 'gx', 'PERSIST')), ['persist:gx']);
  assert.deepEqual(await eventsOf(() => redis.call('GETEX', 'gx', 'EXAT', 1)), ['del:gx']);
});

test('GETDEL SETNX SETEX PSETEX STRLEN', async () => {
  const redis = client();
  await redis.set('gd', 'bar');
  assert.deepEqual(await eventsOf(async () => assert.equal(await redis.getdel('gd'), 'bar')), ['del:gd']);
  assert.equal(await redis.getdel('gd'), null);
  await makeHash('gd:hash');
  await assert.rejects(redis.getdel('gd:hash'), WRONGTYPE);
  assert.equal(await redis.setnx('nx', 'a'), 1);
  assert.equal(await redis.setnx('nx', 'b'), 0);
  assert.equal(await redis.setnx('gd:hash', 'b'), 0);
  assert.equal(await redis.get('nx'), 'a');
  assert.equal(await redis.setex('sx', 10, 'v'), 'OK');
  assert.equal(await redis.ttl('sx'), 10);
  assert.equal(await redis.psetex('sx', 1500, 'w'), 'OK');
  assert.equal(await redis.pttl('sx'), 1500);
  await assert.rejects(redis.setex('sx', 0, 'v'), /invalid expire time in 'setex' command/);
  await assert.rejects(redis.psetex('sx', -5, 'v'), /invalid expire time in 'psetex' command/);
  await assert.rejects(redis.call('SETEX', 'sx', 'ten', 'v'), /value is not an integer or out of range/);
  await assert.rejects(redis.call('SETEX', 'sx', '9223372036854775', 'v'), /invalid expire time in 'setex' command/);
  assert.equal(await redis.strlen('sx'), 1);
  assert.equal(await redis.strlen('strlen:none'), 0);
  await redis.set('strlen:int', -555);
  assert.equal(await redis.strlen('strlen:int'), 4);
  await assert.rejects(redis.strlen('gd:hash'), WRONGTYPE);
  assert.deepEqual(await eventsOf(() => redis.setex('sx', 10, 'v')), ['set:sx', 'expire:sx']);
});

test('MSETNX: all or nothing on the local view, the same key twice, arity', async () => {
  const redis = client();
  await redis.set('mx:x', 'old');
  assert.equal(await redis.msetnx('mx:1', 'a', 'mx:2', 'b', 'mx:x', 'c'), 0);
  assert.equal(await redis.exists('mx:1', 'mx:2'), 0);
  assert.equal(await redis.msetnx('mx:1', 'a', 'mx:2', 'b'), 1);
  assert.deepEqual(await redis.mget('mx:1', 'mx:2'), ['a', 'b']);
  assert.equal(await redis.msetnx('mx:3', 'x', 'mx:3', 'y'), 1);
  assert.equal(await redis.get('mx:3'), 'y');
  assert.equal(await redis.msetnx('mx:3', 'x', 'mx:3', 'z'), 0);
  await assert.rejects(redis.call('MSETNX', 'mx:4', 'a', 'mx:5'), /wrong number of arguments for 'msetnx' command/);
  await makeHash('mx:hash');
  assert.equal(await redis.msetnx('mx:hash', 'a'), 0);
  assert.deepEqual(await eventsOf(() => redis.msetnx('mx:6', 'a', 'mx:7', 'b')), ['set:mx:6', 'set:mx:7']);
});

test('APPEND creates, appends, keeps the TTL, and refuses other types and oversize results', async () => {
  const redis = client();
  assert.equal(await redis.append('ap', 'Hello'), 5);
  assert.equal(await redis.append('ap', ' World'), 11);
  assert.equal(await redis.get('ap'), 'Hello World');
  await redis.expire('ap', 100);
  assert.equal(await redis.append('ap', '!'), 12);
  assert.equal(await redis.ttl('ap'), 100);
  await makeHash('ap:hash');
  await assert.rejects(redis.append('ap:hash', 'x'), WRONGTYPE);
  await redis.set('ap:big', Buffer.alloc(64 * 1024 * 1024 - 2, 'x'));
  await assert.rejects(redis.append('ap:big', 'abc'), /^ReplyError: ERR string exceeds maximum allowed size \(proto-max-bulk-len\)$/);
  assert.equal(await redis.append('ap:big', 'ab'), 64 * 1024 * 1024);
  await redis.del('ap:big');
  // Row-derived event: Redis names `append`; a header write reads as `set` (see README).
  assert.deepEqual(await eventsOf(() => redis.append('ap', '?')), ['set:ap']);
});

test('SETRANGE: padding, empty patches, offsets and the size limit, as Redis', async () => {
  const redis = client();
  assert.equal(await redis.setrange('sr', 0, 'foo'), 3);
  assert.equal(await redis.get('sr'), 'foo');
  await redis.del('sr');
  assert.equal(await redis.setrange('sr', 0, ''), 0);
  assert.equal(await redis.exists('sr'), 0);
  assert.equal(await redis.setrange('sr', 1, 'foo'), 4);
  assert.equal(await redis.get('sr'), '\0foo');
  await redis.set('sr', 'foo');
  assert.equal(await redis.setrange('sr', 0, ''), 3);
  assert.equal(await redis.setrange('sr', 1, 'b'), 3);
  assert.equal(await redis.get('sr'), 'fbo');
  assert.equal(await redis.setrange('sr', 4, 'bar'), 7);
  assert.equal(await redis.get('sr'), 'fbo\0bar');
  await redis.set('sr:int', 1234);
  assert.equal(await redis.setrange('sr:int', 5, '2'), 6);
  assert.equal(await redis.get('sr:int'), '1234\x002');
  await redis.expire('sr', 50);
  await redis.setrange('sr', 0, 'x');
  assert.equal(await redis.ttl('sr'), 50);
  await makeHash('sr:hash');
  await assert.rejects(redis.setrange('sr:hash', 0, 'bar'), WRONGTYPE);
  await assert.rejects(redis.setrange('sr', -1, 'world'), /^ReplyError: ERR offset is out of range$/);
  await assert.rejects(redis.setrange('sr', 'x', 'world'), /value is not an integer or out of range/);
  await assert.rejects(redis.setrange('sr:none', 512 * 1024 * 1024 - 4, 'world'), /string exceeds maximum allowed size/);
  await assert.rejects(redis.setrange('sr', '9223372036854775807', 'A'), /string exceeds maximum allowed size/);
  assert.equal(await redis.exists('sr:none'), 0);
  assert.deepEqual(await eventsOf(() => redis.setrange('sr', 1, 'y')), ['set:sr']);
});

test('GETRANGE and SUBSTR: negative, crossed and huge indexes', async () => {
  const redis = client();
  assert.equal(await redis.getrange('gr:none', 0, -1), '');
  await redis.set('gr', 'Hello World');
  assert.equal(await redis.getrange('gr', 0, 3), 'Hell');
  assert.equal(await redis.getrange('gr', 0, -1), 'Hello World');
  assert.equal(await redis.getrange('gr', -4, -1), 'orld');
  assert.equal(await redis.getrange('gr', 5, 3), '');
  assert.equal(await redis.getrange('gr', -1, -5), '');
  assert.equal(await redis.getrange('gr', 5, 5000), ' World');
  assert.equal(await redis.getrange('gr', -5000, 10000), 'Hello World');
  assert.equal(await redis.getrange('gr', 0, '4294967297'), 'Hello World');
  assert.equal(await redis.getrange('gr', '-9223372036854775808', '9223372036854775807'), 'Hello World');
  assert.equal(await redis.call('SUBSTR', 'gr', 6, -1), 'World');
  await redis.set('gr:empty', '');
  assert.equal(await redis.getrange('gr:empty', 0, -1), '');
  await assert.rejects(redis.getrange('gr', 'a', 1), /value is not an integer or out of range/);
  await assert.rejects(redis.getrange('gr', 0, '9223372036854775808'), /value is not an integer or out of range/);
  await makeHash('gr:hash');
  await assert.rejects(redis.getrange('gr:hash', 0, 1), WRONGTYPE);
});

test('SETBIT and GETBIT: bit order, growth, old bit, errors', async () => {
  const redis = client();
  assert.equal(await redis.setbit('bit', 1, 1), 0);
  assert.deepEqual(await redis.getBuffer('bit'), Buffer.from([0b01000000]));
  await redis.set('bit', '@');
  assert.equal(await redis.setbit('bit', 2, 1), 0);
  assert.equal(await redis.setbit('bit', 1, 0), 1);
  assert.deepEqual(await redis.getBuffer('bit'), Buffer.from([0b00100000]));
  assert.equal(await redis.setbit('bit', 17, 1), 0);
  assert.deepEqual(await redis.getBuffer('bit'), Buffer.from([0b00100000, 0, 0b01000000]));
  assert.equal(await redis.getbit('bit', 2), 1);
  assert.equal(await redis.getbit('bit', 3), 0);
  assert.equal(await redis.getbit('bit', 10000), 0);
  assert.equal(await redis.getbit('bit:none', 0), 0);
  await assert.rejects(redis.setbit('bit', 4 * 1024 * 1024 * 1024, 1), /^ReplyError: ERR bit offset is not an integer or out of range$/);
  await assert.rejects(redis.setbit('bit', -1, 1), /bit offset is not an integer or out of range/);
  await assert.rejects(redis.getbit('bit', -1), /bit offset is not an integer or out of range/);
  for (const bit of ['-1', '2', '10', '01', 'x']) {
    await assert.rejects(redis.call('SETBIT', 'bit', 0, bit), /^ReplyError: ERR bit is not an integer or out of range$/);
  }
  await makeHash('bit:hash');
  await assert.rejects(redis.setbit('bit:hash', 0, 1), WRONGTYPE);
  await assert.rejects(redis.getbit('bit:hash', 0), WRONGTYPE);
});

const RNA1 = 'CACCTTCCCAGGTAACAAACCAACCAACTTTCGATCTCTTGTAGATCTGTTCTCTAAACGAACTTTAAAATCTGTGTGGCTGTCACTCGGCTGCATGCTTAGTGCACTCACGCAGTATAATTAATAACTAATTACTGTCGTTGACAGGACACGAGTAACTCGTCTATCTTCTGCAGGCTGCTTACGGTTTCGTCCGTGTTGCAGCCGATCATCAGCACATCTAGGTTTCGTCCGGGTGTG';
const RNA2 = 'ATTAAAGGTTTATACCTTCCCAGGTAACAAACCAACCAACTTTCGATCTCTTGTAGATCTGTTCTCTAAACGAACTTTAAAATCTGTGTGGCTGTCACTCGGCTGCATGCTTAGTGCACTCACGCAGTATAATTAATAACTAATTACTGTCGTTGACAGGACACGAGTAACTCGTCTATCTTCTGCAGGCTGCTTACGGTTTCGTCCGTGTTGCAGCCGATCATCAGCACATCTAGGTTT';

test('LCS: the subsequence, LEN, IDX with MINMATCHLEN and WITHMATCHLEN (RESP2 and RESP3), errors', async () => {
  const redis = client();
  await redis.mset('lcs:1', RNA1, 'lcs:2', RNA2);
  const lcs = (await redis.call('LCS', 'lcs:1', 'lcs:2')) as string;
  assert.equal(lcs.length, 227);
  assert.ok(RNA2.includes(lcs.slice(0, 200)));
  assert.equal(await redis.call('LCS', 'lcs:1', 'lcs:2', 'LEN'), 227);
  assert.deepEqual(await redis.call('LCS', 'lcs:1', 'lcs:2', 'IDX'), [
    'matches',
    [[[238, 238], [239, 239]], [[236, 236], [238, 238]], [[229, 230], [236, 237]], [[224, 224], [235, 235]], [[1, 222], [13, 234]]],
    'len',
    227,
  ]);
  assert.deepEqual(await redis.call('LCS', 'lcs:1', 'lcs:2', 'IDX', 'WITHMATCHLEN', 'MINMATCHLEN', 5), ['matches', [[[1, 222], [13, 234], 222]], 'len', 227]);
  assert.deepEqual(await redis.call('LCS', 'lcs:1', 'lcs:2', 'IDX', 'MINMATCHLEN', -3), (await redis.call('LCS', 'lcs:1', 'lcs:2', 'IDX')) as unknown);
  await redis.mset('lcs:a', 'ohmytext', 'lcs:b', 'mynewtext');
  assert.equal(await redis.call('LCS', 'lcs:a', 'lcs:b'), 'mytext');
  assert.equal(await redis.call('LCS', 'lcs:a', 'lcs:none'), '');
  assert.equal(await redis.call('LCS', 'lcs:none', 'lcs:none', 'LEN'), 0);
  const resp3 = client({ protocol: 3, replyMapping: 'resp3' });
  assert.deepEqual(await resp3.call('LCS', 'lcs:a', 'lcs:b', 'IDX', 'WITHMATCHLEN'), { matches: [[[4, 7], [5, 8], 4], [[2, 3], [0, 1], 2]], len: 6 });
  await assert.rejects(redis.call('LCS', 'lcs:a', 'lcs:b', 'LEN', 'IDX'), /^ReplyError: ERR If you want both the length and indexes, please just use IDX\.$/);
  await assert.rejects(redis.call('LCS', 'lcs:a', 'lcs:b', 'MINMATCHLEN'), /syntax error/);
  await assert.rejects(redis.call('LCS', 'lcs:a', 'lcs:b', 'MINMATCHLEN', 'x'), /value is not an integer/);
  await assert.rejects(redis.call('LCS', 'lcs:a', 'lcs:b', 'BOGUS'), /syntax error/);
  await makeHash('lcs:hash');
  await assert.rejects(redis.call('LCS', 'lcs:a', 'lcs:hash'), /^ReplyError: ERR The specified keys must contain string values$/);
  await redis.set('lcs:big', Buffer.alloc(5000, 'a'));
  await assert.rejects(redis.call('LCS', 'lcs:big', 'lcs:big'), /transient memory for LCS exceeds proto-max-bulk-len/);
  await assert.rejects(redis.call('LCS', 'lcs:a'), /wrong number of arguments for 'lcs' command/);
});

test('LCS computation: the subsequence is common to both and as long as the table says', () => {
  const isSubsequence = (text: string, of: string): boolean => {
    let at = 0;
    for (const char of of) if (at < text.length && text[at] === char) at++;
    return at === text.length;
  };
  const result = longestCommonSubsequence(Buffer.from('ABCBDAB'), Buffer.from('BDCABA'));
  assert.equal(result.length, 4);
  const text = Buffer.from(result.text).toString();
  assert.ok(isSubsequence(text, 'ABCBDAB') && isSubsequence(text, 'BDCABA'), text);
  const matched = result.matches.reduce((sum, match) => sum + match.aEnd - match.aStart + 1, 0);
  assert.equal(matched, 4, 'the match ranges cover the subsequence');
  assert.deepEqual(longestCommonSubsequence(new Uint8Array(0), Buffer.from('x')), { length: 0, text: new Uint8Array(0), matches: [] });
});

test('a key created is `new` before its command event, once per key; overwriting, or SET over another type, is not', async () => {
  const all: string[] = [];
  const stop = engine.onKeyspaceEvent((event: KeyspaceEvent) => void all.push(`${event.event}:${Buffer.from(event.key).toString()}`));
  try {
    await client().set('fresh', '1');
    await client().set('fresh', '2');
    await client().hset('fresh-hash', 'a', '1', 'b', '2');
    await client().set('fresh-hash', 'now a string');
    await client().mset('m1', '1', 'm2', '2');
    await client().incr('fresh-counter');
  } finally {
    stop();
  }
  assert.deepEqual(all, [
    'new:fresh', 'set:fresh',
    'set:fresh',
    'new:fresh-hash', 'hset:fresh-hash',
    'del:fresh-hash', 'set:fresh-hash',
    'new:m1', 'set:m1', 'new:m2', 'set:m2',
    'new:fresh-counter', 'incrby:fresh-counter',
  ]);
});

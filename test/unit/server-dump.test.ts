// Proves DUMP and RESTORE over the MemoryEngine: payloads redis-server 7.0 wrote load (listpack, intset, quicklist, LZF, old ziplists), peerkv's payloads round-trip for every type with Redis's byte format for strings and small lists, and RESTORE's errors, options and expiry behave as Redis 7.0's.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { Redis } from 'ioredis';
import { MemoryEngine, startMemoryServer } from '../support/memory-engine.js';
import type { RespServer } from '../../src/net/resp-listener.js';
import { crc64 } from '../../src/server/rdb-crc64.js';
import { decodeDumpPayload, encodeDumpPayload, type DumpValue } from '../../src/server/rdb-codec.js';
import fc from 'fast-check';

let server: RespServer;
let engine: MemoryEngine;
let redis: Redis;
let clockMs = 1_700_000_000_000;

before(async () => {
  engine = new MemoryEngine({ nowMs: () => clockMs });
  ({ server } = await startMemoryServer({ engine }));
  redis = new Redis({ host: '127.0.0.1', port: server.port, maxRetriesPerRequest: 0, retryStrategy: () => null });
});

after(async () => {
  redis.disconnect();
  await server.close();
});

async function call(...args: (string | number | Buffer)[]): Promise<unknown> {
  try {
    return await redis.call(String(args[0]), ...args.slice(1));
  } catch (error) {
    return (error as Error).message;
  }
}

/** A payload written the way redis-cli --no-raw prints it. */
function escaped(text: string): Buffer {
  const bytes: number[] = [];
  for (let index = 0; index < text.length; index++) {
    if (text[index] === '\\') {
      const next = text[index + 1]!;
      if (next === 'x') {
        bytes.push(parseInt(text.slice(index + 2, index + 4), 16));
        index += 3;
      } else {
        bytes.push({ n: 10, r: 13, t: 9, '\\': 92, '"': 34 }[next] ?? next.charCodeAt(0));
        index += 1;
      }
    } else {
      bytes.push(text.charCodeAt(index));
    }
  }
  return Buffer.from(bytes);
}

/** A payload around an object, with Redis's footer (RDB version 10 and CRC-64). */
function payload(object: number[]): Buffer {
  const body = Buffer.from([...object, 10, 0]);
  const crc = Buffer.alloc(8);
  crc.writeBigUInt64LE(crc64(body));
  return Buffer.concat([body, crc]);
}

// Payloads redis-server 7.0.15 wrote (redis-cli --no-raw DUMP).
const REDIS_STRING = escaped('\\x00\\x03bar\\n\\x00\\xe6\\xbeI`\\xeef\\xfd\\x17');
const REDIS_LIST = escaped('\\x12\\x01\\x0233\\x00\\x00\\x00\\x06\\x00\\x81a\\x02\\x01\\x01\\xc1,\\x02\\xdf\\xfb\\x02\\xf2p\\x11\\x01\\x04\\x9aabcdefghijklmnopqrstuvwxyz\\x1b\\xff\\n\\x00f\\x1fe?(\\xfdc\\xb8');
const REDIS_INTSET = escaped('\\x0b\\x0e\\x02\\x00\\x00\\x00\\x03\\x00\\x00\\x00\\x01\\x00\\x02\\x00\\x03\\x00\\n\\x00\\xa5\\x02\\\\\\xe2mnM\\x1b');
const REDIS_ZSET = escaped('\\x11\\x14\\x14\\x00\\x00\\x00\\x04\\x00\\x81a\\x02\\x831.5\\x04\\x81b\\x02\\x02\\x01\\xff\\n\\x00\\xfa\\x02\\xb4%\\xaf\\x18\\x87c');
const REDIS_HASH = escaped('\\x10\\x12\\x12\\x00\\x00\\x00\\x04\\x00\\x81f\\x02\\x81v\\x02\\x81n\\x02\\x0c\\x01\\xff\\n\\x00\\x016\\x94\\x81\\xd3[\\x89t');

test('CRC-64 is Redis Jones CRC (check value)', () => {
  assert.equal(crc64(Buffer.from('123456789')), 0xe9c6d914c4b8d9can);
});

test('RESTORE loads what redis-server 7.0 DUMPs: string, listpack list, intset, listpack zset and hash', async () => {
  await call('flushall');
  assert.equal(await call('restore', 's', 0, REDIS_STRING), 'OK');
  assert.equal(await call('get', 's'), 'bar');
  assert.equal(await call('restore', 'l', 0, REDIS_LIST), 'OK');
  assert.deepEqual(await call('lrange', 'l', 0, -1), ['a', '1', '300', '-5', '70000', 'abcdefghijklmnopqrstuvwxyz']);
  assert.equal(await call('restore', 'i', 0, REDIS_INTSET), 'OK');
  assert.deepEqual(((await call('smembers', 'i')) as string[]).sort(), ['1', '2', '3']);
  assert.equal(await call('restore', 'z', 0, REDIS_ZSET), 'OK');
  assert.deepEqual(await call('zrange', 'z', 0, -1, 'withscores'), ['a', '1.5', 'b', '2']);
  assert.equal(await call('restore', 'h', 0, REDIS_HASH), 'OK');
  assert.deepEqual(await call('hgetall', 'h'), { f: 'v', n: '12' });
  assert.equal(await call('type', 'h'), 'hash');
});

test('DUMP writes the bytes redis-server writes for a string and a small list', async () => {
  await call('flushall');
  await call('set', 'foo', 'bar');
  assert.deepEqual(await redis.dumpBuffer('foo'), REDIS_STRING);
  await call('rpush', 'l', 'a', '1', '300', '-5', '70000', 'abcdefghijklmnopqrstuvwxyz');
  assert.deepEqual(await redis.dumpBuffer('l'), REDIS_LIST);
});

test('DUMP and RESTORE round-trip every type, with counters applied and binary data', async () => {
  await call('flushall');
  const binary = Buffer.from([0, 255, 13, 10, 0x80]);
  await call('set', 'str', binary);
  await call('set', 'counter', '10');
  await call('incrby', 'counter', 5);
  await call('rpush', 'list', ...Array.from({ length: 3000 }, (_, index) => (index % 3 === 0 ? String(index) : `element-${index}`)), binary);
  await call('sadd', 'set', 'x', 'y', '17', binary);
  await call('zadd', 'zset', '1.25', 'a', '-inf', 'b', '3', binary);
  await call('zincrby', 'zset', 2, 'a');
  await call('hset', 'hash', 'f1', 'v1', 'big', 'x'.repeat(70_000), binary, binary);
  await call('hincrby', 'hash', 'n', 7);
  for (const key of ['str', 'counter', 'list', 'set', 'zset', 'hash']) {
    const dumped = (await redis.dumpBuffer(key))!;
    assert.equal(await call('restore', `${key}:copy`, 0, dumped), 'OK', key);
    assert.equal(await call('type', `${key}:copy`), await call('type', key));
  }
  assert.deepEqual(await redis.getBuffer('str:copy'), binary);
  assert.equal(await call('get', 'counter:copy'), '15');
  assert.deepEqual(await redis.lrangeBuffer('list:copy', 0, -1), await redis.lrangeBuffer('list', 0, -1));
  assert.deepEqual(((await redis.smembersBuffer('set:copy')) as Buffer[]).map(String).sort(), ((await redis.smembersBuffer('set')) as Buffer[]).map(String).sort());
  assert.deepEqual(await call('zrange', 'zset:copy', 0, -1, 'withscores'), await call('zrange', 'zset', 0, -1, 'withscores'));
  assert.deepEqual(await redis.hgetallBuffer('hash:copy'), await redis.hgetallBuffer('hash'));
  assert.equal(await call('hget', 'hash:copy', 'n'), '7');
});

test('RESTORE: BUSYKEY, REPLACE, TTL forms and option errors in Redis order', async () => {
  await call('flushall');
  await call('set', 'foo', 'bar');
  const dumped = (await redis.dumpBuffer('foo'))!;
  assert.equal(await call('restore', 'foo', 0, dumped), 'BUSYKEY Target key name already exists.');
  assert.equal(await call('restore', 'foo', 0, '...', 'invalid-option'), 'ERR syntax error');
  assert.equal(await call('restore', 'new', 'x', dumped), 'ERR value is not an integer or out of range');
  assert.equal(await call('restore', 'new', -1, dumped), 'ERR Invalid TTL value, must be >= 0');
  assert.equal(await call('restore', 'new', 0, '...'), 'ERR DUMP payload version or checksum are wrong');
  assert.equal(await call('restore', 'new', 0, dumped, 'idletime', -1), 'ERR Invalid IDLETIME value, must be >= 0');
  assert.equal(await call('restore', 'new', 0, dumped, 'freq', 256), 'ERR Invalid FREQ value, must be >= 0 and <= 255');
  assert.equal(await call('restore', 'new', 0, dumped, 'freq', 1, 'idletime', 1), 'ERR syntax error');
  const corrupt = Buffer.from(dumped);
  corrupt[2] ^= 1;
  assert.equal(await call('restore', 'new', 0, corrupt), 'ERR DUMP payload version or checksum are wrong');
  const future = payload([0, 3, 0x62, 0x61, 0x72]);
  future[5] = 11;
  future.writeBigUInt64LE(crc64(future.subarray(0, 7)), 7);
  assert.equal(await call('restore', 'new', 0, future), 'ERR DUMP payload version or checksum are wrong');
  assert.equal(await call('restore', 'new', 0, payload([15, 0])), 'ERR Bad data format');
  assert.equal(await call('restore', 'new', 0, payload([2, 0])), 'ERR Bad data format'); // an empty set
  assert.equal(await call('restore', 'new', 0, payload([2, 2, 1, 0x61, 1, 0x61])), 'ERR Bad data format'); // a repeated member
  assert.equal(await call('exists', 'new'), 0);

  await call('rpush', 'list', 'a');
  assert.equal(await call('restore', 'list', 0, dumped, 'replace'), 'OK');
  assert.equal(await call('get', 'list'), 'bar');
  assert.equal(await call('restore', 'ttl', 5000, dumped), 'OK');
  assert.equal(await call('pttl', 'ttl'), 5000);
  assert.equal(await call('restore', 'abs', clockMs + 3000, dumped, 'absttl'), 'OK');
  assert.equal(await call('pttl', 'abs'), 3000);
  assert.equal(await call('restore', 'big', 2569591501, dumped, 'idletime', 1000), 'OK');
  assert.equal(await call('pttl', 'big'), 2569591501);
  // An absolute time in the past: the key is deleted, nothing restored.
  assert.equal(await call('restore', 'foo', clockMs - 3000, dumped, 'absttl', 'replace'), 'OK');
  assert.equal(await call('exists', 'foo'), 0);
  assert.equal(await call('dump', 'nonexisting_key'), null);
  clockMs += 10_000;
  assert.equal(await call('exists', 'ttl', 'abs'), 0);
});

test('RESTORE of a collection over a set replaces it whole; over an expired key, nothing of it remains', async () => {
  await call('flushall');
  await call('sadd', 'k', 'old1', 'old2');
  await call('hset', 'src', 'f', 'v');
  const dumped = (await redis.dumpBuffer('src'))!;
  assert.equal(await call('restore', 'k', 0, dumped, 'replace'), 'OK');
  assert.deepEqual(await call('hgetall', 'k'), { f: 'v' });
  await call('rpush', 'gone', 'x', 'y');
  await call('pexpire', 'gone', 10);
  clockMs += 20;
  assert.equal(await call('restore', 'gone', 0, dumped), 'OK');
  assert.deepEqual(await call('hgetall', 'gone'), { f: 'v' });
});

test('RESTORE reads the encodings of older Redis: ziplist quicklist, ziplist hash and zset, LZF strings, text scores', async () => {
  await call('flushall');
  // A ziplist of "a" and 12 (an immediate integer): zlbytes 16, tail 13, 2 entries.
  const ziplist = [16, 0, 0, 0, 13, 0, 0, 0, 2, 0, 0, 0x01, 0x61, 3, 0xfd, 0xff];
  assert.equal(await call('restore', 'q', 0, payload([14, 1, ziplist.length, ...ziplist])), 'OK');
  assert.deepEqual(await call('lrange', 'q', 0, -1), ['a', '12']);
  assert.equal(await call('restore', 'zl', 0, payload([10, ziplist.length, ...ziplist])), 'OK');
  assert.deepEqual(await call('lrange', 'zl', 0, -1), ['a', '12']);
  assert.equal(await call('restore', 'zh', 0, payload([13, ziplist.length, ...ziplist])), 'OK');
  assert.deepEqual(await call('hgetall', 'zh'), { a: '12' });
  assert.equal(await call('restore', 'zz', 0, payload([12, ziplist.length, ...ziplist])), 'OK');
  assert.deepEqual(await call('zrange', 'zz', 0, -1, 'withscores'), ['a', '12']);
  // RDB_TYPE_ZSET with text scores: "m" 2.5 and "n" -inf.
  assert.equal(await call('restore', 'tz', 0, payload([3, 2, 1, 0x6d, 3, 0x32, 0x2e, 0x35, 1, 0x6e, 255])), 'OK');
  assert.deepEqual(await call('zrange', 'tz', 0, -1, 'withscores'), ['n', '-inf', 'm', '2.5']);
  // An LZF string: "aaaaaaaaaaaaaaaaaaaaaaaaa" (25 bytes) as literal "a" then a back reference of 24.
  assert.equal(await call('restore', 'lzf', 0, payload([0, 0xc3, 5, 25, 0x00, 0x61, 0xe0, 15, 0x00])), 'OK');
  assert.equal(await call('get', 'lzf'), 'a'.repeat(25));
  // Integer-encoded strings (int8, int16, int32).
  assert.equal(await call('restore', 'i8', 0, payload([0, 0xc0, 0xfe])), 'OK');
  assert.equal(await call('get', 'i8'), '-2');
  assert.equal(await call('restore', 'i32', 0, payload([0, 0xc2, 0x00, 0x00, 0x00, 0x80])), 'OK');
  assert.equal(await call('get', 'i32'), '-2147483648');
});

/** A value with every byte string as a plain array, for comparison. */
function plain(value: unknown): unknown {
  if (value instanceof Uint8Array) return [...value];
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([name, inner]) => [name, plain(inner)]));
  return value;
}

test('the codec round-trips any value and never throws on arbitrary payloads', () => {
  const bytes = fc.uint8Array({ maxLength: 300 });
  const distinct = <T>(items: fc.Arbitrary<T>, key: (item: T) => Uint8Array) =>
    fc.uniqueArray(items, { minLength: 1, maxLength: 60, selector: (item) => Buffer.from(key(item)).toString('latin1') });
  const numeric = fc.oneof(bytes, fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((value) => new TextEncoder().encode(String(value))));
  const value: fc.Arbitrary<DumpValue> = fc.oneof(
    numeric.map((bytes) => ({ type: 'string' as const, value: bytes })),
    fc.array(numeric, { minLength: 1, maxLength: 300 }).map((elements) => ({ type: 'list' as const, elements })),
    distinct(numeric, (member) => member).map((members) => ({ type: 'set' as const, members })),
    distinct(fc.record({ member: bytes, score: fc.double({ noNaN: true }) }), (entry) => entry.member).map((entries) => ({ type: 'zset' as const, entries })),
    distinct(fc.tuple(bytes, numeric), ([field]) => field).map((fields) => ({ type: 'hash' as const, fields })),
  );
  fc.assert(fc.property(value, (original) => assert.deepEqual(plain(decodeDumpPayload(encodeDumpPayload(original))), plain(original))));
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 80 }), (body) => {
      const withVersion = Buffer.concat([body, Buffer.from([10, 0])]);
      const crc = Buffer.alloc(8);
      crc.writeBigUInt64LE(crc64(withVersion));
      const decoded = decodeDumpPayload(Buffer.concat([withVersion, crc]));
      assert.ok(typeof decoded === 'string' || typeof decoded === 'object');
    }),
    { numRuns: 5000 },
  );
});

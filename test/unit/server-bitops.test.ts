// Proves BITCOUNT BITPOS BITOP BITFIELD BITFIELD_RO through RESP give Redis 7.0's replies (BYTE/BIT ranges, zero padding, WRAP/SAT/FAIL overflow, errors), including on a counter-valued string.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { Redis } from 'ioredis';
import { MemoryEngine, startMemoryServer } from '../support/memory-engine.js';
import type { RespServer } from '../../src/net/resp-listener.js';

let server: RespServer;
let redis: Redis;

before(async () => {
  ({ server } = await startMemoryServer({ engine: new MemoryEngine() }));
  redis = new Redis({ host: '127.0.0.1', port: server.port, maxRetriesPerRequest: 0, retryStrategy: () => null });
});

after(async () => {
  redis.disconnect();
  await server.close();
});

test('BITCOUNT with byte and bit ranges', async () => {
  await redis.set('s', 'foobar');
  assert.equal(await redis.bitcount('s'), 26);
  assert.equal(await redis.bitcount('s', 1, -2), 18);
  assert.equal(await redis.call('bitcount', 's', 10, 14, 'bit'), 4);
  assert.equal(await redis.call('bitcount', 's', -6, -15, 'bit'), 0);
  assert.equal(await redis.bitcount('nokey'), 0);
  await assert.rejects(redis.call('bitcount', 's', 0), /ERR syntax error/);
  await assert.rejects(redis.call('bitcount', 's', 0, 1, 'hello'), /ERR syntax error/);
  await redis.set('n', 123); // counters read as their digits
  await redis.incr('n');
  assert.equal(await redis.bitcount('n'), 9);
});

test('BITPOS finds set and clear bits, -1 in a full explicit range', async () => {
  await redis.set('p', Buffer.from([0xff, 0xf0, 0x00]));
  assert.equal(await redis.bitpos('p', 0), 12);
  assert.equal(await redis.bitpos('p', 1, 2), -1);
  await redis.set('full', Buffer.from([0xff, 0xff]));
  assert.equal(await redis.bitpos('full', 0), 16);
  assert.equal(await redis.bitpos('full', 0, 0, -1), -1);
  assert.equal(await redis.call('bitpos', 'p', 0, 3, 15, 'bit'), 12);
  assert.equal(await redis.bitpos('nokey', 0), 0);
  assert.equal(await redis.bitpos('nokey', 1), -1);
  await assert.rejects(redis.call('bitpos', 'p', 2), /The bit argument must be 1 or 0/);
});

test('BITPOS with a BIT range leaves the value as it was (its masks apply to a copy)', async () => {
  for (const store of ['set', 'setbit'] as const) {
    const key = `masked-${store}`;
    if (store === 'set') await redis.set(key, Buffer.from([0x00, 0x00]));
    else await redis.setbit(key, 15, 0); // a value the server built (a Buffer) rather than one read back from storage
    assert.equal(await redis.call('bitpos', key, 0, 3, 10, 'bit'), 3);
    assert.equal(await redis.call('bitpos', key, 1, 3, 10, 'bit'), -1);
    assert.deepEqual(await redis.getBuffer(key), Buffer.from([0x00, 0x00]), store);
    await redis.set(key, Buffer.from([0xff, 0xff]));
    assert.equal(await redis.call('bitpos', key, 1, 3, 10, 'bit'), 3);
    assert.equal(await redis.call('bitpos', key, 0, 3, 10, 'bit'), -1);
    assert.deepEqual(await redis.getBuffer(key), Buffer.from([0xff, 0xff]), store);
  }
});

test('BITOP AND OR XOR NOT pad shorter sources with zeros; an empty result deletes the destination', async () => {
  await redis.set('a', Buffer.from([0xf0, 0x0f]));
  await redis.set('b', Buffer.from([0xff]));
  assert.equal(await redis.bitop('AND', 'd', 'a', 'b'), 2);
  assert.equal((await redis.getBuffer('d'))!.toString('hex'), 'f000');
  await redis.bitop('OR', 'd', 'a', 'b');
  assert.equal((await redis.getBuffer('d'))!.toString('hex'), 'ff0f');
  await redis.bitop('XOR', 'd', 'a', 'b');
  assert.equal((await redis.getBuffer('d'))!.toString('hex'), '0f0f');
  await redis.bitop('NOT', 'd', 'a');
  assert.equal((await redis.getBuffer('d'))!.toString('hex'), '0ff0');
  assert.equal(await redis.bitop('AND', 'd', 'none1', 'none2'), 0);
  assert.equal(await redis.exists('d'), 0);
  await assert.rejects(redis.bitop('NOT', 'd', 'a', 'b'), /BITOP NOT must be called with a single source key/);
  await redis.lpush('list', 'x');
  await assert.rejects(redis.bitop('OR', 'd', 'a', 'list'), /WRONGTYPE/);
});

test('BITFIELD GET SET INCRBY with WRAP SAT FAIL, #N offsets, BITFIELD_RO', async () => {
  assert.deepEqual(await redis.call('bitfield', 'bf', 'SET', 'i8', 0, -100, 'INCRBY', 'i8', 0, -100, 'OVERFLOW', 'SAT', 'INCRBY', 'u4', 8, 100, 'GET', 'u16', 0, 'OVERFLOW', 'FAIL', 'INCRBY', 'i8', 0, -200), [
    0, 56, 15, 14576, null,
  ]);
  assert.deepEqual(await redis.call('bitfield', 'bf2', 'SET', 'u8', '#1', 255, 'GET', 'u8', 8, 'GET', 'i64', 0), [0, 255, 71776119061217280]);
  assert.deepEqual(await redis.call('bitfield_ro', 'bf2', 'GET', 'u8', '#1'), [255]);
  await assert.rejects(redis.call('bitfield_ro', 'bf2', 'SET', 'u8', 0, 1), /BITFIELD_RO only supports the GET subcommand/);
  await assert.rejects(redis.call('bitfield', 'bf2', 'GET', 'u64', 0), /Invalid bitfield type/);
  await assert.rejects(redis.call('bitfield', 'bf2', 'OVERFLOW', 'nope'), /Invalid OVERFLOW type specified/);
  await assert.rejects(redis.call('bitfield', 'bf2', 'GET', 'u8', -1), /bit offset is not an integer or out of range/);
  assert.deepEqual(await redis.call('bitfield', 'nokey', 'GET', 'u8', 0), [0]);
  assert.equal(await redis.exists('nokey'), 0);
});

test('bit writes keep the key expiry', async () => {
  await redis.set('ttl', 'x', 'EX', 100);
  await redis.call('bitfield', 'ttl', 'SET', 'u8', 8, 1);
  assert.equal(await redis.ttl('ttl'), 100);
});

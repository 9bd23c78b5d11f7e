// Proves PFADD PFCOUNT PFMERGE PFDEBUG through RESP store Redis 7.0's exact HLL bytes (same hash, sparse and dense forms, cached cardinality), detect corrupted values as Redis, and that the codec round-trips and merges registers by max (fast-check).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { MemoryEngine, startMemoryServer } from '../support/memory-engine.js';
import type { RespServer } from '../../src/net/resp-listener.js';
import { decodeHll, denseRegister, encodeDense, encodeHll, encodeSparse, hllCount, HLL_REGISTERS, isHllValue, setDenseRegister } from '../../src/server/hll-codec.js';
import { hllSelfTest } from '../../src/server/hyperloglog.js';

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

// Made by redis-server 7.0.15: PFADD h a b c; GET h (sparse, cache stale).
const REDIS_ABC_SPARSE = '48594c4c01000000000000000000008060f38050b1844bfb80425a';
// sha256 of the same HLL after PFDEBUG TODENSE.
const REDIS_ABC_DENSE_SHA256 = 'd664e9fa98c53481f003f0bc0dc9fa9900b59be1cdec3ba76f85eaf3507ef59a';

test('PFADD writes the bytes Redis writes; PFCOUNT caches the cardinality in the header; TODENSE matches Redis', async () => {
  assert.equal(await redis.pfadd('h', 'a', 'b', 'c'), 1);
  assert.equal((await redis.getBuffer('h'))!.toString('hex'), REDIS_ABC_SPARSE);
  assert.equal(await redis.pfadd('h', 'a', 'b', 'c'), 0);
  assert.equal(await redis.object('ENCODING', 'h'), 'raw');
  assert.equal(await redis.pfcount('h'), 3);
  assert.equal((await redis.getrangeBuffer('h', 8, 15)).toString('hex'), '0300000000000000');
  await redis.pfadd('h', 'd'); // as Redis, the stale cache keeps its old bytes
  assert.equal((await redis.getrangeBuffer('h', 8, 15)).toString('hex'), '0300000000000080');
  await redis.del('h');
  await redis.pfadd('h', 'a', 'b', 'c');
  assert.equal(await redis.call('pfdebug', 'encoding', 'h'), 'sparse');
  assert.equal(await redis.call('pfdebug', 'todense', 'h'), 1);
  assert.equal(await redis.call('pfdebug', 'encoding', 'h'), 'dense');
  const dense = Buffer.from(await redis.getBuffer('h') as Buffer);
  dense[15] = 0x80; // Redis's copy had a stale cache
  dense.fill(0, 8, 15);
  assert.equal(createHash('sha256').update(dense).digest('hex'), REDIS_ABC_DENSE_SHA256);
  assert.equal(((await redis.call('pfdebug', 'getreg', 'h')) as number[]).length, HLL_REGISTERS);
});

test('an HLL value set from Redis bytes is read, merged and counted', async () => {
  await redis.set('from-redis', Buffer.from(REDIS_ABC_SPARSE, 'hex'));
  assert.equal(await redis.pfcount('from-redis'), 3);
  await redis.pfadd('other', 'c', 'd');
  assert.equal(await redis.pfcount('from-redis', 'other'), 4);
  assert.equal(await redis.pfmerge('merged', 'from-redis', 'other'), 'OK');
  assert.equal(await redis.pfcount('merged'), 4);
  assert.equal(await redis.pfadd('empty'), 1);
  assert.equal(await redis.pfcount('empty'), 0);
});

test('corrupted HLLs: WRONGTYPE for a bad header, INVALIDOBJ for a bad sparse body', async () => {
  await redis.set('plain', 'bar');
  await assert.rejects(redis.pfadd('plain', 'x'), /WRONGTYPE Key is not a valid HyperLogLog string value/);
  await redis.hset('hash', 'f', 'v');
  await assert.rejects(redis.pfcount('hash'), /WRONGTYPE Operation against a key/);
  await redis.pfadd('bad', 'a', 'b', 'c');
  await redis.append('bad', 'hello');
  await assert.rejects(redis.pfcount('bad'), /INVALIDOBJ Corrupted HLL object detected/);
  await redis.del('bad');
  await redis.pfadd('bad', 'a');
  await redis.setrange('bad', 4, Buffer.from([0]));
  await assert.rejects(redis.pfcount('bad'), /WRONGTYPE/);
});

test('sparse HLLs turn dense past hll-sparse-max-bytes', async () => {
  await redis.config('SET', 'hll-sparse-max-bytes', '200');
  const elements = Array.from({ length: 300 }, (_, index) => `e${index}`);
  await redis.pfadd('grow', ...elements.slice(0, 10));
  assert.equal(await redis.call('pfdebug', 'encoding', 'grow'), 'sparse');
  await redis.pfadd('grow', ...elements);
  assert.equal(await redis.call('pfdebug', 'encoding', 'grow'), 'dense');
  const count = await redis.pfcount('grow');
  assert.ok(Math.abs(count - 300) < 15, `estimate ${count}`);
  await redis.config('SET', 'hll-sparse-max-bytes', '3000');
});

test('PFSELFTEST passes', () => {
  assert.equal(hllSelfTest(), null);
});

const registersArbitrary = fc.uint8Array({ minLength: HLL_REGISTERS, maxLength: HLL_REGISTERS, max: 51 });
const sparseRegistersArbitrary = fc
  .array(fc.tuple(fc.integer({ min: 0, max: HLL_REGISTERS - 1 }), fc.integer({ min: 1, max: 32 })), { maxLength: 300 })
  .map((sets) => {
    const registers = new Uint8Array(HLL_REGISTERS);
    for (const [index, value] of sets) registers[index] = value;
    return registers;
  });

test('codec: dense and sparse forms decode to the registers encoded', () => {
  fc.assert(
    fc.property(registersArbitrary, (registers) => {
      const dense = encodeDense(registers);
      assert.ok(isHllValue(dense));
      assert.deepEqual(decodeHll(dense)!.registers, registers);
    }),
    { numRuns: 30 },
  );
  fc.assert(
    fc.property(sparseRegistersArbitrary, (registers) => {
      const sparse = encodeSparse(registers)!;
      assert.ok(isHllValue(sparse));
      assert.deepEqual(decodeHll(sparse)!.registers, registers);
      assert.equal(hllCount(decodeHll(encodeHll({ registers, dense: false }, 0))!.registers), hllCount(registers));
    }),
    { numRuns: 100 },
  );
});

test('codec: decoding arbitrary bytes after a valid header never throws', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (body) => {
      const value = new Uint8Array(16 + body.length);
      value.set(Buffer.from('HYLL\x01', 'latin1'));
      value.set(body, 16);
      const decoded = decodeHll(value);
      if (decoded !== undefined) assert.equal(decoded.registers.length, HLL_REGISTERS);
    }),
  );
});

test('codec: setting a dense register in place changes that register only', () => {
  fc.assert(
    fc.property(registersArbitrary, fc.integer({ min: 0, max: HLL_REGISTERS - 1 }), fc.integer({ min: 0, max: 51 }), (registers, index, value) => {
      const dense = encodeDense(registers);
      setDenseRegister(dense, index, value);
      assert.equal(denseRegister(dense, index), value);
      const expected = Uint8Array.from(registers);
      expected[index] = value;
      assert.deepEqual(decodeHll(dense)!.registers, expected);
    }),
    { numRuns: 30 },
  );
});

test('PFADD to a dense HLL sets the registers a sparse one gets', async () => {
  const elements = Array.from({ length: 200 }, (_, index) => `d${index}`);
  await redis.pfadd('dense', 'seed');
  await redis.call('pfdebug', 'todense', 'dense');
  await redis.pfadd('sparse', 'seed');
  assert.equal(await redis.pfadd('dense', ...elements), 1);
  assert.equal(await redis.pfadd('dense', ...elements), 0);
  await redis.pfadd('sparse', ...elements);
  assert.deepEqual(await redis.call('pfdebug', 'getreg', 'dense'), await redis.call('pfdebug', 'getreg', 'sparse'));
  assert.equal(await redis.pfcount('dense'), await redis.pfcount('sparse'));
});

// Proves the index-backed sorted-set reads and the backward list reads answer like a sorted array: ZRANGE by rank/score/lex (REV, LIMIT), ZRANK, ZCOUNT, ZLEXCOUNT, ZPOPMAX on a 3,000-member set; LRANGE/LINDEX/LSET near the tail, LPOS with a negative RANK, LREM with a negative count and LTRIM on a 3,000-element list; and that MULTI reads a sorted set it wrote from its rows.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { MemoryEngine, startMemoryServer } from '../support/memory-engine.js';
import type { RespServer } from '../../src/net/resp-listener.js';

let server: RespServer;
let redis: Redis;
const SIZE = 3_000;

before(async () => {
  ({ server } = await startMemoryServer({ engine: new MemoryEngine({}) }));
  redis = new Redis({ host: '127.0.0.1', port: server.port, maxRetriesPerRequest: 0, retryStrategy: () => null });
});

after(async () => {
  redis.disconnect();
  await server.close();
});

const call = (...args: (string | number)[]) => redis.call(String(args[0]), ...args.slice(1));

test('sorted-set ranges, ranks and counts of a 3,000-member set match the sorted truth', async () => {
  // Scores repeat (ties order by member), members are not in score order.
  const truth = Array.from({ length: SIZE }, (_, index) => ({ member: `m${String((index * 7919) % SIZE).padStart(4, '0')}`, score: (index * 31) % 97 }));
  for (let start = 0; start < SIZE; start += 500) await call('zadd', 'z', ...truth.slice(start, start + 500).flatMap((entry) => [entry.score, entry.member]));
  truth.sort((a, b) => a.score - b.score || (a.member < b.member ? -1 : a.member > b.member ? 1 : 0));
  const names = truth.map((entry) => entry.member);
  assert.deepEqual(await call('zrange', 'z', 0, 99), names.slice(0, 100));
  assert.deepEqual(await call('zrange', 'z', 1500, 1509), names.slice(1500, 1510));
  assert.deepEqual(await call('zrange', 'z', -10, -1), names.slice(-10));
  assert.deepEqual(await call('zrange', 'z', 0, 4, 'rev'), names.slice(-5).reverse());
  assert.deepEqual(await call('zrange', 'z', 5, 9, 'withscores'), truth.slice(5, 10).flatMap((entry) => [entry.member, String(entry.score)]));
  const inScore = (min: number, max: number) => truth.filter((entry) => entry.score >= min && entry.score <= max).map((entry) => entry.member);
  assert.deepEqual(await call('zrangebyscore', 'z', 40, 42), inScore(40, 42));
  assert.deepEqual(await call('zrangebyscore', 'z', '(40', 42, 'limit', 3, 7), inScore(41, 42).slice(3, 10));
  assert.deepEqual(await call('zrevrangebyscore', 'z', 42, 40, 'limit', 2, 5), inScore(40, 42).reverse().slice(2, 7));
  assert.deepEqual(await call('zrange', 'z', '-inf', '+inf', 'byscore', 'limit', 2990, 100), names.slice(2990));
  assert.equal(await call('zcount', 'z', 10, '(20'), truth.filter((entry) => entry.score >= 10 && entry.score < 20).length);
  assert.equal(await call('zcount', 'z', '-inf', '+inf'), SIZE);
  for (const rank of [0, 1, 777, 2999]) {
    assert.equal(await call('zrank', 'z', names[rank]!), rank);
    assert.equal(await call('zrevrank', 'z', names[rank]!), SIZE - 1 - rank);
  }
  assert.equal(await call('zrank', 'z', 'absent'), null);
  // Lex ranges on a set of equal scores.
  const lex = Array.from({ length: 500 }, (_, index) => `k${String((index * 37) % 500).padStart(3, '0')}`);
  await call('zadd', 'lex', ...lex.flatMap((name) => [0, name]));
  lex.sort();
  assert.deepEqual(await call('zrangebylex', 'lex', '[k100', '(k110'), lex.filter((name) => name >= 'k100' && name < 'k110'));
  assert.deepEqual(await call('zrevrangebylex', 'lex', '+', '(k490', 'limit', 1, 3), lex.filter((name) => name > 'k490').reverse().slice(1, 4));
  assert.equal(await call('zlexcount', 'lex', '(k100', '+'), lex.filter((name) => name > 'k100').length);
  assert.deepEqual(await call('zpopmax', 'z', 2), truth.slice(-2).reverse().flatMap((entry) => [entry.member, String(entry.score)]));
  assert.equal(await call('zcard', 'z'), SIZE - 2);
});

test('MULTI reads a sorted set it wrote from its rows', async () => {
  await call('del', 'mz');
  const replies = await redis.multi().zadd('mz', 2, 'b', 1, 'a', 3, 'c').zrange('mz', '0', '-1').zrank('mz', 'c').zrem('mz', 'a').zrange('mz', '0', '-1', 'WITHSCORES').zcount('mz', '2', '3').exec();
  assert.deepEqual(replies!.map(([error, reply]) => error ?? reply), [3, ['a', 'b', 'c'], 2, 1, ['b', '2', 'c', '3'], 2]);
});

test('list reads near the tail and edits at both ends of a 3,000-element list match the array', async () => {
  const truth = Array.from({ length: SIZE }, (_, index) => `e${index % 10 === 7 ? 'x' : index}`);
  for (let start = 0; start < SIZE; start += 500) await call('rpush', 'l', ...truth.slice(start, start + 500));
  assert.deepEqual(await call('lrange', 'l', -100, -1), truth.slice(-100));
  assert.deepEqual(await call('lrange', 'l', 2800, 2810), truth.slice(2800, 2811));
  assert.deepEqual(await call('lrange', 'l', 0, 9), truth.slice(0, 10));
  assert.equal(await call('lindex', 'l', -1), truth[SIZE - 1]);
  assert.equal(await call('lindex', 'l', -2999), truth[1]);
  assert.equal(await call('lset', 'l', -3, 'changed'), 'OK');
  truth[SIZE - 3] = 'changed';
  assert.deepEqual(await call('lpos', 'l', 'ex', 'rank', -2, 'count', 3), [2977, 2967, 2957]);
  assert.equal(await call('lrem', 'l', -2, 'ex'), 2);
  truth.splice(2987, 1);
  truth.splice(2977, 1);
  assert.deepEqual(await call('rpop', 'l', 3), truth.splice(-3).reverse());
  assert.equal(await call('ltrim', 'l', 5, -6), 'OK');
  const trimmed = truth.slice(5, truth.length - 5);
  assert.equal(await call('llen', 'l'), trimmed.length);
  assert.deepEqual(await call('lrange', 'l', 0, -1), trimmed);
});

// Proves the sorted-set commands through a real listener over the MemoryEngine: Redis 7.0's replies and errors for ZADD's flags, ZINCRBY on slots, ranges by rank/score/lex, pops, removals by range, the combine commands, COPY of counted scores, and the keyspace events sets and sorted sets name.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { Redis } from 'ioredis';
import { MemoryEngine, startMemoryServer } from '../support/memory-engine.js';
import type { RespServer } from '../../src/net/resp-listener.js';
import { clearRowKey, headerRowKey, isScoreValue, rowKey, RowKind, rowKindOf } from '../../src/core/rows.js';
import type { KeyspaceEvent } from '../../src/server/engine.js';
import { scoreText } from '../../src/server/zset-rows.js';

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

test('scores print as Redis 7.0 prints them (%.17g, integers plain)', () => {
  assert.equal(scoreText(1), '1');
  assert.equal(scoreText(-2.5), '-2.5');
  assert.equal(scoreText(0.1), '0.10000000000000001');
  assert.equal(scoreText(Infinity), 'inf');
  assert.equal(scoreText(-Infinity), '-inf');
  assert.equal(scoreText(1e30), '1e+30');
  assert.equal(scoreText(1.1e30), '1.1e+30');
  assert.equal(scoreText(123456789.123), '123456789.123');
  assert.equal(scoreText(1.5e-7), '1.4999999999999999e-07');
});

test('ZADD flags, ZSCORE ZMSCORE ZCARD ZREM, TYPE, OBJECT ENCODING', async () => {
  assert.equal(await call('zadd', 'z', 1, 'a', 2, 'b', 3, 'c'), 3);
  assert.equal(await call('zadd', 'z', 'ch', 5, 'a', 2, 'b', 4, 'd'), 2);
  assert.equal(await call('zadd', 'z', 'nx', 9, 'a', 6, 'e'), 1);
  assert.equal(await call('zadd', 'z', 'xx', 'ch', 9, 'a', 7, 'f'), 1);
  assert.equal(await call('zadd', 'z', 'gt', 'ch', 1, 'a', 10, 'b'), 1);
  assert.equal(await call('zadd', 'z', 'lt', 'ch', 20, 'a', 1, 'b'), 1);
  assert.equal(await call('zscore', 'z', 'a'), '9');
  assert.equal(await call('zscore', 'z', 'b'), '1');
  assert.equal(await call('zscore', 'z', 'nope'), null);
  assert.deepEqual(await call('zmscore', 'z', 'a', 'nope', 'c'), ['9', null, '3']);
  assert.equal(await call('zcard', 'z'), 5);
  assert.equal(await call('zadd', 'z', 'incr', 1.5, 'a'), '10.5');
  assert.equal(await call('zadd', 'z', 'nx', 'incr', 1, 'a'), null);
  assert.equal(await call('zadd', 'absent', 'xx', 1, 'a'), 0);
  assert.equal(await call('type', 'z'), 'zset');
  assert.equal(await call('object', 'encoding', 'z'), 'listpack');
  assert.equal(await call('zadd', 'z', 'nx', 'xx', 1, 'a'), 'ERR XX and NX options at the same time are not compatible');
  assert.equal(await call('zadd', 'z', 'gt', 'lt', 1, 'a'), 'ERR GT, LT, and/or NX options at the same time are not compatible');
  assert.equal(await call('zadd', 'z', 'incr', 1, 'a', 2, 'b'), 'ERR INCR option supports a single increment-element pair');
  assert.equal(await call('zadd', 'z', 1, 'a', 2), 'ERR syntax error');
  assert.equal(await call('zadd', 'z', 'x', 'a'), 'ERR value is not a valid float');
  assert.equal(await call('zrem', 'z', 'a', 'a', 'nope'), 1);
  assert.equal(await call('zrem', 'z', 'b', 'c', 'd', 'e'), 4);
  assert.equal(await call('exists', 'z'), 0);
  await call('set', 'str', 'v');
  for (const args of [['zadd', 'str', 1, 'a'], ['zscore', 'str', 'a'], ['zrange', 'str', 0, -1], ['zincrby', 'str', 1, 'a'], ['zrem', 'str', 'a'], ['zcard', 'str'], ['zpopmin', 'str']]) {
    assert.match(String(await call(...args)), WRONGTYPE, args.join(' '));
  }
});

test('ZINCRBY counts on a slot row; ranges by rank, score and lex; ranks and counts', async () => {
  assert.equal(await call('zincrby', 'zi', 2, 'm'), '2');
  assert.equal(await call('zincrby', 'zi', 0.5, 'm'), '2.5');
  assert.deepEqual(engine.lastWrites.map((write) => rowKindOf(write.key)), [RowKind.Slot]); // a slot row, the base and the header untouched
  assert.equal(await call('zincrby', 'zi', '-inf', 'm'), '-inf');
  assert.equal(await call('zincrby', 'zi', '+inf', 'm'), 'ERR resulting score is not a number (NaN)');
  await call('zadd', 'r', 1, 'a', 2, 'b', 3, 'c', 4, 'd');
  assert.deepEqual(await call('zrange', 'r', 0, -1), ['a', 'b', 'c', 'd']);
  assert.deepEqual(await call('zrange', 'r', 1, 2, 'withscores'), ['b', '2', 'c', '3']);
  assert.deepEqual(await call('zrevrange', 'r', 0, 1), ['d', 'c']);
  assert.deepEqual(await call('zrange', 'r', '(1', 3, 'byscore'), ['b', 'c']);
  assert.deepEqual(await call('zrange', 'r', '+inf', '-inf', 'byscore', 'rev', 'limit', 1, 2), ['c', 'b']);
  assert.deepEqual(await call('zrangebyscore', 'r', '-inf', '+inf', 'limit', 2, -1), ['c', 'd']);
  assert.deepEqual(await call('zrevrangebyscore', 'r', 3, 2), ['c', 'b']);
  assert.deepEqual(await call('zrangebylex', 'r', '[b', '(d'), ['b', 'c']);
  assert.deepEqual(await call('zrevrangebylex', 'r', '+', '-', 'limit', 0, 1), ['d']);
  assert.equal(await call('zrange', 'r', 0, 1, 'limit', 0, 1), 'ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX');
  assert.equal(await call('zrange', 'r', '-', '+', 'bylex', 'withscores'), 'ERR syntax error, WITHSCORES not supported in combination with BYLEX');
  assert.equal(await call('zrangebyscore', 'r', 'x', 1), 'ERR min or max is not a float');
  assert.equal(await call('zrangebylex', 'r', 'a', 'b'), 'ERR min or max not valid string range item');
  assert.equal(await call('zrank', 'r', 'c'), 2);
  assert.equal(await call('zrevrank', 'r', 'c'), 1);
  assert.equal(await call('zrank', 'r', 'nope'), null);
  assert.equal(await call('zcount', 'r', '(1', '+inf'), 3);
  assert.equal(await call('zlexcount', 'r', '-', '[b'), 2);
  assert.equal(await call('zrangestore', 'rs', 'r', 1, 2), 2);
  assert.deepEqual(await call('zrange', 'rs', 0, -1, 'withscores'), ['b', '2', 'c', '3']);
});

test('pops, removals by range, combine commands, COPY of a counted score', async () => {
  await call('zadd', 'p', 1, 'a', 2, 'b', 3, 'c', 4, 'd', 5, 'e');
  assert.deepEqual(await call('zpopmin', 'p'), ['a', '1']);
  assert.deepEqual(await call('zpopmax', 'p', 2), ['e', '5', 'd', '4']);
  assert.equal(await call('zpopmin', 'p', -1), 'ERR value is out of range, must be positive');
  assert.deepEqual(await call('zmpop', 1, 'p', 'min', 'count', 1), ['p', [['b', '2']]]);
  assert.equal(await call('zremrangebyscore', 'p', '-inf', '+inf'), 1);
  assert.equal(await call('exists', 'p'), 0);
  await call('zadd', 'q', 1, 'a', 2, 'b', 3, 'c', 4, 'd');
  assert.equal(await call('zremrangebyrank', 'q', 0, 1), 2);
  assert.equal(await call('zremrangebylex', 'q', '[d', '+'), 1);
  assert.deepEqual(await call('zrange', 'q', 0, -1), ['c']);
  await call('zadd', 'u1', 1, 'a', 2, 'b');
  await call('zadd', 'u2', 10, 'b', 20, 'c');
  await call('sadd', 'us', 'a');
  assert.deepEqual(await call('zunion', 2, 'u1', 'u2', 'withscores'), ['a', '1', 'b', '12', 'c', '20']);
  assert.deepEqual(await call('zinter', 2, 'u1', 'u2', 'weights', 2, 1, 'aggregate', 'max', 'withscores'), ['b', '10']);
  assert.deepEqual(await call('zdiff', 2, 'u1', 'u2'), ['a']);
  assert.equal(await call('zunionstore', 'ud', 2, 'u1', 'us'), 2);
  assert.deepEqual(await call('zrange', 'ud', 0, -1, 'withscores'), ['a', '2', 'b', '2']);
  assert.equal(await call('zinterstore', 'ud', 2, 'u1', 'absent'), 0);
  assert.equal(await call('exists', 'ud'), 0);
  assert.equal(await call('zintercard', 2, 'u1', 'u2'), 1);
  await call('zadd', 'c1', 0.1, 'x');
  await call('zincrby', 'c1', 0.2, 'x');
  const score = await call('zscore', 'c1', 'x');
  assert.equal(await call('copy', 'c1', 'c2'), 1);
  assert.equal(await call('zscore', 'c2', 'x'), score);
  assert.equal(await call('rename', 'c2', 'c3'), 'OK');
  assert.equal(await call('type', 'c3'), 'zset');
});

test('keyspace events of sets and sorted sets as Redis names them', async () => {
  const list: string[] = [];
  // `new` (class n, outside A) has its own test in server-strings.test.ts.
  const stop = engine.onKeyspaceEvent((event: KeyspaceEvent) => void (event.event !== 'new' && list.push(`${Buffer.from(event.key).toString()}:${event.event}`)));
  await call('sadd', 'es', 'a', 'b');
  await call('srem', 'es', 'a');
  await call('srem', 'es', 'b');
  await call('zadd', 'ez', 1, 'a', 2, 'b');
  await call('zincrby', 'ez', 1, 'a');
  await call('zincrby', 'ez', 1, 'new');
  await call('zrem', 'ez', 'a');
  stop();
  assert.deepEqual(list, ['es:sadd', 'es:srem', 'es:srem', 'es:del', 'ez:zadd', 'ez:zincr', 'ez:zincr', 'ez:zrem']);
});

test('a member names its type: ZADD on a sorted set writes the member row alone, keeps a concurrent TTL, and a member that outlives its header still reads as a sorted set', async () => {
  assert.equal(await call('zadd', 'zt', 1, 'a'), 1);
  assert.deepEqual(engine.lastWrites.map((write) => rowKindOf(write.key)), [RowKind.Field, RowKind.Header]); // created: member, then header
  assert.equal(isScoreValue(engine.lastWrites[0]!.value!), true);
  assert.equal(await call('expire', 'zt', 100), 1);
  assert.equal(await call('zadd', 'zt', 2, 'b', 3, 'a'), 1);
  assert.deepEqual(engine.lastWrites.map((write) => rowKindOf(write.key)), [RowKind.Field, RowKind.Field]); // no header rewrite
  assert.ok(engine.lastWrites.every((write) => isScoreValue(write.value!)));
  assert.ok(Number(await call('ttl', 'zt')) > 90);
  assert.equal(await call('zadd', 'zt', 'incr', 1, 'b'), '3');
  assert.deepEqual(engine.lastWrites.map((write) => rowKindOf(write.key)), [RowKind.Slot]);
  // A clear stamped between the header and a member (as a DEL on another node would be): the member survives, the header does not.
  await engine.write([{ key: clearRowKey(Buffer.from('zt')), value: null, expiresAtMs: 0 }, { key: rowKey(Buffer.from('zt'), RowKind.Field, Buffer.from('c')), value: Uint8Array.of(2, 0x37), expiresAtMs: 0 }]); // score flag, "7"
  assert.equal(engine.get(headerRowKey(Buffer.from('zt'))), undefined);
  assert.equal(await call('type', 'zt'), 'zset');
  assert.deepEqual(await call('zrange', 'zt', 0, -1, 'withscores'), ['c', '7']);
  assert.equal(await call('zscore', 'zt', 'c'), '7');
  assert.equal(await call('ttl', 'zt'), -1);
  assert.match(String(await call('hget', 'zt', 'c')), WRONGTYPE);
  // The next write gives the key its header back.
  assert.equal(await call('zadd', 'zt', 8, 'd'), 1);
  assert.deepEqual(engine.lastWrites.map((write) => rowKindOf(write.key)), [RowKind.Field, RowKind.Header]);
  assert.deepEqual(await call('zrange', 'zt', 0, -1), ['c', 'd']);
});

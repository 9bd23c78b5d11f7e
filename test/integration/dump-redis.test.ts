// Proves DUMP/RESTORE interoperate with a real redis-server 7: every type, small (listpack,
// intset) and large (hashtable, skiplist, multi-node quicklist, LZF-compressed strings),
// moves redis -> peerkv -> redis and peerkv -> redis -> peerkv unchanged, and a short
// string's payload is byte-identical. Skips only when no redis-server is installed.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { canConnect, cleanupAll, freePort, spawnNode, waitFor } from '../support/processes.js';

const hasRedisServer = spawnSync('redis-server', ['--version']).status === 0;

describe('DUMP/RESTORE against redis-server', { skip: hasRedisServer ? false : 'redis-server is not installed', concurrency: false }, () => {
  let redisServer: ChildProcess | undefined;
  let real: Redis;
  let peer: Redis;

  before(async () => {
    const port = await freePort();
    redisServer = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    await waitFor(() => canConnect('127.0.0.1', port), { timeoutMs: 10_000, what: 'redis-server to accept clients' });
    real = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 0, retryStrategy: () => null });
    const node = await spawnNode();
    peer = new Redis({ host: '127.0.0.1', port: node.port, maxRetriesPerRequest: 0, retryStrategy: () => null });
  });

  after(async () => {
    real?.disconnect();
    peer?.disconnect();
    redisServer?.kill();
    await cleanupAll();
  });

  /** Fills one server with keys of every type and size; returns their names. */
  async function fill(redis: Redis, prefix: string): Promise<string[]> {
    const keys: string[] = [];
    const add = (name: string): string => {
      keys.push(`${prefix}${name}`);
      return `${prefix}${name}`;
    };
    const binary = Buffer.from([0, 1, 255, 13, 10]);
    await redis.set(add('string'), 'bar');
    await redis.set(add('int'), '-1234567');
    await redis.set(add('compressible'), 'abc'.repeat(1000));
    await redis.set(add('binary'), binary);
    await redis.rpush(add('list-small'), 'a', '1', '300', '-5', '70000', '9223372036854775807', binary);
    await redis.rpush(add('list-big'), ...Array.from({ length: 5000 }, (_, index) => (index % 2 === 0 ? String(index * 7919) : `item-${index}-${'z'.repeat(index % 50)}`)));
    await redis.rpush(add('list-huge-element'), 'x'.repeat(100_000), 'y');
    await redis.sadd(add('set-intset'), 1, 2, 3, -70000, 5_000_000_000);
    await redis.sadd(add('set-big-ints'), ...Array.from({ length: 700 }, (_, index) => index));
    await redis.sadd(add('set-strings'), 'a', 'b', binary);
    await redis.zadd(add('zset-small'), 1.5, 'a', 2, 'b', -3.25e-7, 'c');
    await redis.zadd(add('zset-big'), ...Array.from({ length: 300 }, (_, index) => [String(index / 3), `m${index}`]).flat());
    await redis.zadd(add('zset-inf'), '+inf', 'up', '-inf', 'down');
    await redis.hset(add('hash-small'), 'f', 'v', 'n', '12', binary, binary);
    await redis.hset(add('hash-big'), ...Array.from({ length: 300 }, (_, index) => [`field-${index}`, `value-${index}`]).flat());
    await redis.hset(add('hash-long-value'), 'f', 'q'.repeat(5000));
    return keys;
  }

  /** A key's full content as comparable text: type and sorted or ordered elements. */
  async function content(redis: Redis, key: string): Promise<string> {
    const type = await redis.type(key);
    const hex = (items: Buffer[]) => items.map((item) => item.toString('hex'));
    switch (type) {
      case 'string':
        return `string ${(await redis.getBuffer(key))!.toString('hex')}`;
      case 'list':
        return `list ${hex(await redis.lrangeBuffer(key, 0, -1)).join(',')}`;
      case 'set':
        return `set ${hex(await redis.smembersBuffer(key)).sort().join(',')}`;
      case 'zset':
        return `zset ${(await redis.zrange(key, '0', '-1', 'WITHSCORES')).join(',')}`;
      case 'hash': {
        const all = await redis.hgetallBuffer(key);
        return `hash ${Object.entries(all).map(([field, value]) => `${Buffer.from(field).toString('hex')}=${value.toString('hex')}`).sort().join(',')}`;
      }
      default:
        return type;
    }
  }

  async function move(from: Redis, to: Redis, key: string, target: string): Promise<void> {
    const payload = await from.dumpBuffer(key);
    assert.ok(payload !== null, key);
    assert.equal(await to.call('restore', target, 0, payload, 'replace'), 'OK', key);
  }

  test('redis-server DUMP -> peerkv RESTORE -> peerkv DUMP -> redis-server RESTORE', async () => {
    await real.flushall();
    await peer.flushall();
    for (const key of await fill(real, 'r:')) {
      const original = await content(real, key);
      await move(real, peer, key, key);
      assert.equal(await content(peer, key), original, key);
      await move(peer, real, key, `${key}:back`);
      assert.equal(await content(real, `${key}:back`), original, key);
    }
  });

  test('peerkv DUMP -> redis-server RESTORE -> redis-server DUMP -> peerkv RESTORE', async () => {
    await real.flushall();
    await peer.flushall();
    for (const key of await fill(peer, 'p:')) {
      const original = await content(peer, key);
      await move(peer, real, key, key);
      assert.equal(await content(real, key), original, key);
      await move(real, peer, key, `${key}:back`);
      assert.equal(await content(peer, `${key}:back`), original, key);
    }
  });

  test('a short string and a small list DUMP to the same bytes on both; a payload with a bad checksum is refused by both', async () => {
    await real.set('same', 'hello');
    await peer.set('same', 'hello');
    assert.deepEqual(await peer.dumpBuffer('same'), await real.dumpBuffer('same'));
    await real.rpush('samelist', 'a', '12', '-5000');
    await peer.rpush('samelist', 'a', '12', '-5000');
    assert.deepEqual(await peer.dumpBuffer('samelist'), await real.dumpBuffer('samelist'));
    const bad = (await real.dumpBuffer('same'))!;
    bad[1] ^= 1;
    const refusal = async (redis: Redis) => redis.call('restore', 'bad', 0, bad).catch((error: Error) => error.message);
    assert.equal(await refusal(peer), await refusal(real));
  });
});

// Proves the set, sorted-set and list merges on three real processes: pushes from all three nodes end in one order everywhere (each node's own in the order it pushed them), ZINCRBY from all three sums exactly, a BLPOP client on one node wakes for an RPUSH on another, and SADD/SREM made on different nodes converge to the same members everywhere.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Redis } from 'ioredis';
import { cleanupAll, parseInfo, redisCli, waitFor, type NodeProcess } from '../support/processes.js';
import { Clients, startCluster } from '../support/cluster.js';

after(cleanupAll);

const { client, closeAll } = new Clients();
after(closeAll);

function merkleRoot(node: NodeProcess): string | undefined {
  return parseInfo(redisCli(node.port, ['info', 'cluster'])).get('merkle_root');
}

describe('sets, sorted sets and lists on a three-node loopback cluster', { concurrency: false }, () => {
  let nodes: NodeProcess[] = [];
  let redis: Redis[] = [];

  before(async () => {
    nodes = await startCluster(3);
    redis = nodes.map(client);
  });

  after(async () => {
    await Promise.all(nodes.map((node) => node.stop()));
  });

  test('RPUSH and LPUSH from all three nodes at once end in one order on every node', async () => {
    const perNode = 150;
    const pushed = redis.map(() => ({ right: [] as string[], left: [] as string[] }));
    await Promise.all(
      redis.map(async (connection, index) => {
        for (let round = 0; round < perNode; round++) {
          const value = `n${index}.${round}`;
          // Mostly RPUSH, every fifth an LPUSH: both ends grow on every node at once.
          if (round % 5 === 4) {
            await connection.lpush('queue', value);
            pushed[index]!.left.push(value);
          } else {
            await connection.rpush('queue', value);
            pushed[index]!.right.push(value);
          }
        }
      }),
    );
    const total = perNode * redis.length;
    let lists: string[][] = [];
    await waitFor(
      async () => {
        lists = await Promise.all(redis.map((connection) => connection.lrange('queue', 0, -1)));
        return lists.every((list) => list.length === total) && lists.every((list) => list.join() === lists[0]!.join());
      },
      { timeoutMs: 20_000, what: `${total} elements in one order on every node` },
    );
    const list = lists[0]!;
    assert.equal(new Set(list).size, total, 'no element twice');
    for (const own of pushed) {
      assert.deepEqual(list.filter((value) => own.right.includes(value)), own.right, "a node's RPUSHes keep their order");
      assert.deepEqual(list.filter((value) => own.left.includes(value)), [...own.left].reverse(), "a node's LPUSHes keep their order");
    }
    for (const connection of redis) assert.equal(await connection.llen('queue'), total);
  });

  test('ZINCRBY from all three nodes at once sums exactly on every node', async () => {
    const perNode = 200;
    const steps = ['0.5', '1', '2.25'];
    await redis[0]!.zadd('board', 10, 'alice');
    await waitFor(async () => (await Promise.all(redis.map((connection) => connection.zscore('board', 'alice')))).every((score) => score === '10'), {
      timeoutMs: 10_000,
      what: 'the ZADD everywhere',
    });
    await Promise.all(
      redis.map(async (connection, index) => {
        for (let round = 0; round < perNode; round++) {
          const pipeline = connection.pipeline();
          pipeline.zincrby('board', steps[index]!, 'alice');
          pipeline.zincrby('board', index + 1, 'bob');
          await pipeline.exec();
        }
      }),
    );
    const alice = String(10 + perNode * (0.5 + 1 + 2.25));
    const bob = String(perNode * (1 + 2 + 3));
    await waitFor(
      async () => {
        for (const connection of redis) {
          if ((await connection.zscore('board', 'alice')) !== alice || (await connection.zscore('board', 'bob')) !== bob) return false;
        }
        return true;
      },
      { timeoutMs: 20_000, what: `alice ${alice} and bob ${bob} on every node` },
    );
    for (const connection of redis) assert.deepEqual(await connection.zrange('board', '0', '-1', 'WITHSCORES'), ['alice', alice, 'bob', bob]);
  });

  test('a BLPOP client on node B wakes for an RPUSH on node A', async () => {
    const [a, b] = redis as [Redis, Redis, Redis];
    const blocked = client(nodes[1]!);
    const startedMs = performance.now();
    const popped = blocked.blpop('jobs', '10');
    await waitFor(() => parseInfo(redisCli(nodes[1]!.port, ['info', 'clients'])).get('blocked_clients') === '1', { timeoutMs: 5_000, what: 'the BLPOP blocked on B' });
    const pushedMs = performance.now();
    await a.rpush('jobs', 'job-1');
    assert.deepEqual(await popped, ['jobs', 'job-1']);
    const wokeMs = performance.now();
    assert.ok(wokeMs - startedMs < 10_000, 'woke before its timeout');
    console.log(`BLPOP on B woke ${(wokeMs - pushedMs).toFixed(1)} ms after the RPUSH on A`);
    // The pop on B removes the element everywhere.
    await waitFor(async () => (await Promise.all(redis.map((connection) => connection.exists('jobs')))).every((count) => count === 0), { timeoutMs: 10_000, what: 'the popped list gone everywhere' });
    assert.equal(await b.llen('jobs'), 0);
  });

  test('SADD and SREM on different nodes converge to the same members everywhere', async () => {
    const [a, b, c] = redis as [Redis, Redis, Redis];
    const members = (node: number, from: number, to: number): string[] => Array.from({ length: to - from }, (_, index) => `s${node}.${from + index}`);
    await Promise.all(redis.map((connection, index) => connection.sadd('tags', ...members(index, 0, 30), 'shared')));
    await waitFor(async () => (await Promise.all(redis.map((connection) => connection.scard('tags')))).every((count) => count === 91), { timeoutMs: 15_000, what: '91 members everywhere' });
    // Each node removes members it has seen added elsewhere while another adds new ones.
    await Promise.all([
      (async () => {
        for (const member of members(1, 0, 30)) await a.srem('tags', member);
      })(),
      (async () => {
        for (const member of members(2, 0, 15)) await b.srem('tags', member);
        await b.srem('tags', 'shared');
      })(),
      (async () => {
        for (const member of members(3, 0, 30)) await c.sadd('tags', member);
      })(),
    ]);
    const expected = [...members(0, 0, 30), ...members(2, 15, 30), ...members(3, 0, 30)].sort();
    await waitFor(
      async () => {
        for (const connection of redis) if ((await connection.smembers('tags')).sort().join() !== expected.join()) return false;
        return true;
      },
      { timeoutMs: 20_000, what: `the same ${expected.length} members everywhere` },
    );
    for (const connection of redis) {
      assert.equal(await connection.sismember('tags', 's1.7'), 0, 'a member removed on A stays removed');
      assert.equal(await connection.sismember('tags', 'shared'), 0);
    }
    await waitFor(() => new Set(nodes.map(merkleRoot)).size === 1, { timeoutMs: 20_000, what: 'equal Merkle roots' });
  });
  test('a drained list is cleared a slice at a time on every node, serving meanwhile, and the nodes converge', async () => {
    const [a, b] = redis as [Redis, Redis, Redis];
    const items = 3_000; // several slices of config.clearRowsPerStep
    const cluster = () => nodes.map((node) => parseInfo(redisCli(node.port, ['info', 'cluster'])));
    const before = cluster().map((info) => Number(info.get('rows_cleared') ?? 0));
    await a.rpush('drained', ...Array.from({ length: items }, (_, index) => `i${index}`));
    await waitFor(async () => (await Promise.all(redis.map((connection) => connection.llen('drained')))).every((length) => length === items), { timeoutMs: 15_000, what: `${items} items everywhere` });
    // Pops leave a tombstone per item; the last pop clears the key over all of them.
    assert.equal((await a.lpop('drained', items - 1))!.length, items - 1);
    assert.equal(await a.lpop('drained'), `i${items - 1}`);
    assert.equal(await a.exists('drained'), 0);
    // A new list under the same key while the old tombstones may still be going.
    assert.equal(await a.rpush('drained', 'after'), 1);
    assert.deepEqual(await a.lrange('drained', 0, -1), ['after']);
    await waitFor(async () => (await Promise.all(redis.map((connection) => connection.lrange('drained', 0, -1)))).every((list) => list.join() === 'after'), { timeoutMs: 15_000, what: 'the new list everywhere' });
    await waitFor(() => new Set(nodes.map(merkleRoot)).size === 1, { timeoutMs: 20_000, what: 'equal Merkle roots' });
    const after = cluster();
    assert.ok(Number(after[0]!.get('clears_deferred')) >= 1, 'node A left the tombstones to later steps');
    // Node A removed the header and the tombstones of the first items-1 pops (the last pop's is newer than the clear).
    assert.ok(Number(after[0]!.get('rows_cleared')) - before[0]! >= items, `rows cleared on A: ${Number(after[0]!.get('rows_cleared')) - before[0]!}`);
    assert.equal(await b.llen('drained'), 1);
  });
});

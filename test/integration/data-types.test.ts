// Proves the typed-row merges on real processes: concurrent INCRs on three nodes sum
// exactly everywhere; HSET of one field on two nodes ends with one winner everywhere;
// concurrent hash and counter writes converge to identical Merkle roots.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { cleanupAll, parseInfo, redisCli, waitFor, type NodeProcess } from '../support/processes.js';
import { Clients, startCluster } from '../support/cluster.js';

after(cleanupAll);

const { client, closeAll } = new Clients();
after(closeAll);

const cluster = startCluster;

function merkleRoot(node: NodeProcess): string | undefined {
  return parseInfo(redisCli(node.port, ['info', 'cluster'])).get('merkle_root');
}

describe('data types on a loopback cluster', { concurrency: false }, () => {
  test('concurrent INCRBY on three nodes: the exact total on every node', async () => {
    const nodes = await cluster(3);
    const redis = nodes.map(client);
    const perClient = 300;
    // Each node's clients increment the same counters at once; no node waits for another.
    await Promise.all(
      redis.map(async (connection, index) => {
        for (let round = 0; round < perClient; round++) {
          const pipeline = connection.pipeline();
          pipeline.incr('hits');
          pipeline.incrby('bytes', index + 1);
          pipeline.hincrby('stats', 'views', 2);
          await pipeline.exec();
        }
      }),
    );
    const expected = { hits: String(3 * perClient), bytes: String(perClient * (1 + 2 + 3)), views: String(2 * 3 * perClient) };
    await waitFor(
      async () => {
        for (const connection of redis) {
          if ((await connection.get('hits')) !== expected.hits) return false;
          if ((await connection.get('bytes')) !== expected.bytes) return false;
          if ((await connection.hget('stats', 'views')) !== expected.views) return false;
        }
        return true;
      },
      { timeoutMs: 15_000, what: 'exact counter totals everywhere' },
    );
    await waitFor(() => new Set(nodes.map(merkleRoot)).size === 1, { timeoutMs: 15_000, what: 'equal Merkle roots' });
    await Promise.all(nodes.map((node) => node.stop()));
  });

  test('HSET of the same field on two nodes: one winner everywhere, other fields kept', async () => {
    const nodes = await cluster(2);
    const [a, b] = nodes.map(client) as [Redis, Redis];
    for (let round = 0; round < 50; round++) {
      await Promise.all([a.hset(`user:${round}`, 'name', `alice-${round}`, 'from-a', '1'), b.hset(`user:${round}`, 'name', `bob-${round}`, 'from-b', '1')]);
    }
    await waitFor(
      async () => {
        for (let round = 0; round < 50; round++) {
          const [onA, onB] = await Promise.all([a.hgetall(`user:${round}`), b.hgetall(`user:${round}`)]);
          if (JSON.stringify(onA) !== JSON.stringify(onB) || onA['from-a'] !== '1' || onA['from-b'] !== '1') return false;
          if (onA.name !== `alice-${round}` && onA.name !== `bob-${round}`) return false;
        }
        return true;
      },
      { timeoutMs: 15_000, what: 'one winner per field on both nodes' },
    );
    await waitFor(() => merkleRoot(nodes[0]!) === merkleRoot(nodes[1]!), { timeoutMs: 15_000, what: 'equal Merkle roots' });
    await Promise.all(nodes.map((node) => node.stop()));
  });
});

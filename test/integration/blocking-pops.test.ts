// Proves blocking pops wake across real nodes: a BZPOPMIN client on node B is served by a
// ZADD made on node A (and a BZMPOP on B by a ZINCRBY on A), once the rows replicate.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { cleanupAll, parseInfo, redisCli, waitFor } from '../support/processes.js';
import { Clients, startCluster } from '../support/cluster.js';

after(cleanupAll);

const { client, closeAll } = new Clients();
after(closeAll);

test('BZPOPMIN on node B wakes for a ZADD on node A; BZMPOP for a ZINCRBY', async () => {
  const nodes = await startCluster(2);
  const [a, b] = nodes as [(typeof nodes)[0], (typeof nodes)[0]];
  const onA = client(a);
  const waiter = client(b);
  const blockedOnB = (count: number) => () => parseInfo(redisCli(b.port, ['info', 'clients'])).get('blocked_clients') === String(count);

  const popped = waiter.bzpopmin('leaderboard', 10);
  await waitFor(blockedOnB(1), { timeoutMs: 5_000, what: 'BZPOPMIN blocked on B' });
  assert.equal(await onA.zadd('leaderboard', 42, 'alice'), 1);
  assert.deepEqual(await popped, ['leaderboard', 'alice', '42']);
  await waitFor(async () => (await onA.exists('leaderboard')) === 0, { timeoutMs: 5_000, what: "B's pop replicated to A" });

  const counted = waiter.call('bzmpop', 10, 1, 'scores', 'max', 'count', 2);
  await waitFor(blockedOnB(1), { timeoutMs: 5_000, what: 'BZMPOP blocked on B' });
  assert.equal(await onA.zincrby('scores', 3, 'bob'), '3');
  assert.deepEqual(await counted, ['scores', [['bob', '3']]]);
  await Promise.all(nodes.map((node) => node.stop()));
});

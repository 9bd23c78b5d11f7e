// Proves FLUSHALL on one of two real nodes empties both (one replicated flush row removes every row stamped before it, on disk too, so a restart brings nothing back), while a write made on the other node after the flush survives everywhere and the Merkle roots agree.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { cleanupAll, parseInfo, freeDiscoveryPort, redisCli, spawnNode, waitFor, type NodeProcess } from '../support/processes.js';
import { Clients } from '../support/cluster.js';

after(cleanupAll);

const { client, closeAll } = new Clients();
after(closeAll);

function info(node: NodeProcess): Map<string, string> {
  return parseInfo(redisCli(node.port, ['info', 'everything']));
}

const KEYS_BEFORE = 300;

test('FLUSHALL on A empties B; a write on B after it survives on both, also across a restart', async () => {
  const discoveryPort = await freeDiscoveryPort();
  let [nodeA, nodeB] = await Promise.all([spawnNode({ discoveryPort }), spawnNode({ discoveryPort })]) as [NodeProcess, NodeProcess];
  await waitFor(() => [nodeA, nodeB].every((node) => info(node).get('members_alive') === '2'), { timeoutMs: 10_000, what: 'members_alive:2' });
  const a = client(nodeA);
  let b = client(nodeB);
  const pipeline = a.pipeline();
  for (let index = 0; index < KEYS_BEFORE; index++) {
    if (index % 3 === 0) pipeline.set(`k:${index}`, `v${index}`, 'EX', 3600);
    else pipeline.set(`k:${index}`, `v${index}`);
  }
  await pipeline.exec();
  await b.set('from-b', 'before');
  await waitFor(async () => (await b.dbsize()) === KEYS_BEFORE + 1 && (await a.dbsize()) === KEYS_BEFORE + 1, { timeoutMs: 10_000, what: 'both nodes hold every key' });

  assert.equal(await a.flushall(), 'OK');
  assert.equal(await a.dbsize(), 0, 'A answers after its own flush committed');
  await waitFor(async () => (await b.dbsize()) === 0, { timeoutMs: 10_000, what: 'the flush to reach B' });
  assert.deepEqual(await b.keys('*'), []);
  assert.equal(await b.get('from-b'), null);
  assert.match(redisCli(nodeB.port, ['info', 'keyspace']), /db0:keys=0,expires=0/);

  await b.set('after-flush', 'survives');
  await waitFor(async () => (await a.get('after-flush')) === 'survives', { timeoutMs: 10_000, what: 'the write on B to reach A' });
  await waitFor(() => info(nodeA).get('merkle_root') === info(nodeB).get('merkle_root'), { timeoutMs: 10_000, what: 'equal Merkle roots' });
  assert.equal(await a.dbsize(), 1);
  assert.equal(await b.dbsize(), 1);

  // The flush removed the rows from B's disk: a restart brings none of them back.
  b.disconnect();
  await nodeB.stop();
  nodeB = await spawnNode({ discoveryPort, dataDir: nodeB.dataDir, port: nodeB.port, peerPort: nodeB.peerPort });
  b = client(nodeB);
  assert.deepEqual(await b.keys('*'), ['after-flush']);
  await waitFor(() => info(nodeA).get('members_alive') === '2' && info(nodeB).get('members_alive') === '2', { timeoutMs: 10_000, what: 'B back in the cluster' });
  await waitFor(() => info(nodeA).get('merkle_root') === info(nodeB).get('merkle_root'), { timeoutMs: 10_000, what: 'equal Merkle roots after the restart' });
  assert.deepEqual(await a.keys('*'), ['after-flush']);
  assert.equal(info(nodeA).get('type_conflicts'), '0');
  await Promise.all([nodeA.stop(), nodeB.stop()]);
});

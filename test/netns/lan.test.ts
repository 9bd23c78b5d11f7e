// Proves nodes on a private LAN of network namespaces find each other by subnet broadcast
// with no flag but --bind, declare a host whose cable is cut dead and take it back when
// restored, and converge after a partition with writes on both sides (later write wins).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { cleanupAll, parseInfo, sleep, spawnNode, tempDir, waitFor, type NodeProcess } from '../support/processes.js';
import { createLan, hostCli, netnsAvailable, type Lan, type LanHost } from '../support/netns.js';

const CLIENT_PORT = 7379;
const CLUSTER_KEY = 'netns-test-cluster-key-0123456789';
const available = netnsAvailable();

describe('LAN behaviour in network namespaces', { concurrency: false, skip: available ? false : 'needs root and ip netns' }, () => {
  let lan: Lan;
  let nodes: NodeProcess[] = [];

  const info = (index: number) => parseInfo(hostCli(lan.hosts[index]!, CLIENT_PORT, ['info']));
  const cli = (index: number, args: string[]) => hostCli(lan.hosts[index]!, CLIENT_PORT, args);
  const stateOf = (observer: number, target: number) => {
    const targetId = info(target).get('node_id');
    for (const [name, value] of info(observer)) {
      if (/^member\d+$/.test(name) && value.includes(`id=${targetId}`)) return /state=(\w+)/.exec(value)?.[1];
    }
    return undefined;
  };

  async function startOn(host: LanHost): Promise<NodeProcess> {
    const node = await spawnNode({
      prefix: host.exec,
      port: CLIENT_PORT,
      peerPort: CLIENT_PORT + 1,
      dataDir: tempDir(),
      discoveryPort: 7381,
      extraArgs: ['--bind', host.address, '--cluster-key', CLUSTER_KEY],
    });
    await waitFor(() => hostCli(host, CLIENT_PORT, ['ping']) === 'PONG', { timeoutMs: 15_000, what: `node in ${host.namespace}` });
    return node;
  }

  before(async () => {
    lan = createLan(3);
    nodes = await Promise.all(lan.hosts.map(startOn));
  });

  after(async () => {
    await cleanupAll();
    lan?.destroy();
  });

  test('three hosts find each other by subnet broadcast', async () => {
    await waitFor(() => [0, 1, 2].every((index) => info(index).get('members_alive') === '3'), { timeoutMs: 15_000, what: 'members_alive:3 on every host' });
  });

  test('cutting one cable makes the others declare it dead; restoring brings it back', async () => {
    lan.cut(2);
    const cutAt = Date.now();
    await waitFor(() => stateOf(0, 2) === 'dead' && stateOf(1, 2) === 'dead', { timeoutMs: 10_000, intervalMs: 100, what: 'host 2 dead on hosts 0 and 1' });
    console.log(`# cut cable detected as dead after ${Date.now() - cutAt} ms`);
    lan.restore(2);
    await waitFor(() => [0, 1, 2].every((index) => info(index).get('members_alive') === '3'), { timeoutMs: 20_000, what: 'host 2 alive again' });
  });

  test('a partition with writes on both sides heals to one state; the later write wins', async () => {
    await waitFor(() => [0, 1, 2].every((index) => info(index).get('members_alive') === '3'), { timeoutMs: 20_000, what: 'full cluster' });
    lan.cut(2);
    await waitFor(() => stateOf(0, 2) === 'dead', { timeoutMs: 10_000, what: 'partition seen' });
    assert.equal(cli(0, ['set', 'majority-only', 'a']), 'OK');
    assert.equal(cli(2, ['set', 'minority-only', 'b']), 'OK');
    assert.equal(cli(2, ['set', 'contested', 'early']), 'OK');
    await sleep(20);
    assert.equal(cli(0, ['set', 'contested', 'late']), 'OK');
    assert.equal(cli(1, ['del', 'majority-only']), '1');
    lan.restore(2);
    const converged = () =>
      [0, 1, 2].every((index) => cli(index, ['get', 'contested']) === 'late' && cli(index, ['get', 'minority-only']) === 'b' && cli(index, ['get', 'majority-only']) === '');
    await waitFor(converged, { timeoutMs: 30_000, intervalMs: 200, what: 'convergence after heal' }).catch((error: unknown) => {
      for (const index of [0, 1, 2]) {
        const fields = info(index);
        console.log(`# host ${index}: contested=${cli(index, ['get', 'contested'])} minority-only=${cli(index, ['get', 'minority-only'])} majority-only=${cli(index, ['get', 'majority-only'])} alive=${fields.get('members_alive')} root=${fields.get('merkle_root')}`);
        console.log(`#   ${[...fields].filter(([name]) => /^(member\d|sync|antientropy_rounds|records_|peer_links|clock)/.test(name)).map(([name, value]) => `${name}=${value}`).join(' ')}`);
      }
      throw error;
    });
    const roots = [0, 1, 2].map((index) => info(index).get('merkle_root'));
    assert.equal(new Set(roots).size, 1, `merkle roots ${roots.join(' ')}`);
  });

  test('every node stops cleanly', async () => {
    const codes = await Promise.all(nodes.map((node) => node.stop('SIGTERM')));
    assert.deepEqual(codes, [0, 0, 0]);
  });
});

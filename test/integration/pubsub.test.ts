// Proves PUBLISH on one real node of a three-node loopback cluster reaches SUBSCRIBE and PSUBSCRIBE clients on every node exactly once (binary safe) and replies with the local receiver count, and that malformed publish frames from a peer are dropped and counted while the link and the node keep working.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import type { PeerHello } from '../../src/core/io.js';
import type { PeerMessage } from '../../src/core/messages.js';
import { PeerLinks } from '../../src/net/peer-links.js';
import { cleanupAll, parseInfo, freeDiscoveryPort, redisCli, sleep, spawnNode, waitFor, type NodeProcess } from '../support/processes.js';
import { Clients } from '../support/cluster.js';

after(cleanupAll);

const { client, closeAll } = new Clients();
after(closeAll);

function clusterInfo(node: NodeProcess): Map<string, string> {
  return parseInfo(redisCli(node.port, ['info', 'cluster']));
}

function counter(node: NodeProcess, name: string): number {
  return Number(clusterInfo(node).get(name) ?? 0);
}

/** Every delivery a subscriber saw, as `pattern|channel|message` hex strings (pattern empty for SUBSCRIBE). */
function recorder(redis: Redis): string[] {
  const seen: string[] = [];
  redis.on('messageBuffer', (channel: Buffer, message: Buffer) => seen.push(`|${channel.toString('hex')}|${message.toString('hex')}`));
  redis.on('pmessageBuffer', (pattern: string, channel: Buffer, message: Buffer) => seen.push(`${pattern}|${channel.toString('hex')}|${message.toString('hex')}`));
  return seen;
}

describe('PUBLISH across a loopback cluster', { concurrency: false }, () => {
  test('a message published on A reaches subscribers on A, B and C exactly once; the reply counts A only', async () => {
    const discoveryPort = await freeDiscoveryPort();
    const nodes = await Promise.all([0, 1, 2].map(() => spawnNode({ discoveryPort })));
    const [a, b, c] = nodes as [NodeProcess, NodeProcess, NodeProcess];
    await waitFor(() => nodes.every((node) => clusterInfo(node).get('members_alive') === '3' && counter(node, 'peer_links') === 2), {
      timeoutMs: 10_000,
      what: 'three nodes, each linked to the other two',
    });
    const onA = client(a);
    const onB = client(b);
    const onC = client(c);
    const seenA = recorder(onA);
    const seenB = recorder(onB);
    const seenC = recorder(onC);
    await onA.subscribe('news');
    await onB.psubscribe('ne*');
    await onC.subscribe('news');
    const publisher = client(a);
    const message = Buffer.from([0x00, 0xff, 0x0d, 0x0a, 0x24, 0x2d, 0x31]);
    assert.equal(await publisher.publish('news', message), 1, 'receivers on A only, as Redis Cluster counts');
    const hex = message.toString('hex');
    const news = Buffer.from('news').toString('hex');
    await waitFor(() => seenB.length > 0 && seenC.length > 0, { timeoutMs: 5_000, what: 'delivery on B and C' });
    await sleep(500); // a forwarded duplicate would arrive within this
    assert.deepEqual(seenA, [`|${news}|${hex}`]);
    assert.deepEqual(seenB, [`ne*|${news}|${hex}`]);
    assert.deepEqual(seenC, [`|${news}|${hex}`]);
    assert.equal(counter(a, 'publish_relayed_out'), 2);
    assert.equal(counter(b, 'publish_relayed_in'), 1);
    assert.equal(counter(c, 'publish_relayed_in'), 1);
    assert.equal(counter(b, 'publish_relayed_out') + counter(c, 'publish_relayed_out'), 0, 'B and C forward nothing');

    // Published on B (which has only a pattern subscriber): A and C get it, once.
    assert.equal(await client(b).publish('news', 'second'), 1);
    const second = Buffer.from('second').toString('hex');
    await waitFor(() => seenA.length === 2 && seenC.length === 2, { timeoutMs: 5_000, what: 'second message on A and C' });
    await sleep(300);
    assert.deepEqual([seenA.length, seenB.length, seenC.length], [2, 2, 2]);
    assert.equal(seenA[1], `|${news}|${second}`);
    assert.equal(redisCli(b.port, ['pubsub', 'numpat']), '1', 'PUBSUB is local: B has the pattern');
    assert.equal(redisCli(a.port, ['pubsub', 'numpat']), '0');
    assert.equal(redisCli(c.port, ['pubsub', 'channels']), 'news');
    onA.disconnect();
    onB.disconnect();
    onC.disconnect();
    await Promise.all(nodes.map((node) => node.stop()));
  });

  test('malformed publish frames from a linked peer are dropped and counted; the link and the node keep working', async () => {
    const node = await spawnNode();
    const fakeId = 'f'.repeat(32);
    let nodeId: string | undefined;
    const logger = { debug() {}, info() {}, warn() {}, error() {} };
    const links: PeerLinks = new PeerLinks({
      self: { id: fakeId, name: 'fake', addr: '127.0.0.1:0', incarnation: 1 },
      clusterName: 'peerkv',
      clusterKeys: [],
      bindHost: '127.0.0.1',
      port: 0,
      logger,
      onLinkUp: (hello: PeerHello) => (nodeId = hello.id),
      onLinkDown: () => undefined,
      // Answer probes so the node keeps this fake member alive while the test runs.
      onMessage: (from, _hlc, message) => {
        if (message.type === 'ping') links.send(from, { wallMs: Date.now(), logical: 0 }, { type: 'ack', seq: message.seq, members: [] });
      },
    });
    try {
      const port = await links.listen();
      links.setSelf({ id: fakeId, name: 'fake', addr: `127.0.0.1:${port}`, incarnation: 1 });
      links.connectSeed(`127.0.0.1:${node.peerPort}`);
      await waitFor(() => nodeId !== undefined && counter(node, 'peer_links') === 1, { timeoutMs: 5_000, what: 'fake peer linked' });
      const subscriber = client(node);
      const seen = recorder(subscriber);
      await subscriber.subscribe('chan');
      await subscriber.psubscribe('*');
      const badBefore = counter(node, 'peer_bad_message');
      const garbage: unknown[] = [
        { type: 'publish', channel: 'chan', message: Buffer.from('text channel') },
        { type: 'publish', channel: Buffer.from('chan'), message: 7 },
        { type: 'publish', channel: Buffer.from('chan') },
        { type: 'publish', channel: null, message: null },
        { type: 'publish', channel: Buffer.alloc(64 * 1024 + 1), message: Buffer.from('x') },
        { type: 'publish', channel: [1, 2], message: { nested: Buffer.from('x') } },
      ];
      const send = (message: unknown) => links.send(nodeId!, { wallMs: Date.now(), logical: 0 }, message as PeerMessage);
      for (const message of garbage) assert.ok(send(message));
      assert.ok(send({ type: 'publish', channel: Buffer.from('chan'), message: Buffer.from([0, 1, 2]) }));
      await waitFor(() => seen.length === 2, { timeoutMs: 5_000, what: 'the valid publish after the garbage delivered' });
      assert.equal(counter(node, 'peer_bad_message') - badBefore, garbage.length);
      await sleep(200);
      const chan = Buffer.from('chan').toString('hex');
      assert.deepEqual(seen.sort(), [`*|${chan}|000102`, `|${chan}|000102`]);
      assert.equal(counter(node, 'publish_relayed_in'), 1);
      assert.equal(counter(node, 'peer_links'), 1, 'the link stayed up');
      assert.equal(redisCli(node.port, ['ping']), 'PONG');
      assert.equal(redisCli(node.port, ['publish', 'chan', 'local']), '2');
      subscriber.disconnect();
    } finally {
      await links.close();
      await node.stop();
    }
  });
});

// Proves three Discovery sockets sharing one UDP port on loopback all hear each other's announcements via 127.255.255.255, ignore their own, and count garbage, oversize and foreign datagrams.
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import type { PeerHello } from '../../src/core/io.js';
import { Discovery } from '../../src/net/discovery.js';
import { LOOPBACK_BROADCAST_ADDRESS } from '../../src/net/broadcast-address.js';

const silentLogger = { debug() {}, info() {}, warn() {}, error() {} };

function hello(index: number): PeerHello {
  return { id: index.toString(16).padStart(32, '0'), name: `node-${index}`, addr: `127.0.0.1:${30000 + index}`, incarnation: 1 };
}

async function until(condition: () => boolean, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function startNodes(port: number, clusterKeys: readonly string[], count: number, clusterName = 'peerkv', firstIndex = 1) {
  return Array.from({ length: count }, (_, index) => {
    const heard = new Map<string, PeerHello>();
    const discovery = new Discovery({
      bindHost: '127.0.0.1',
      port,
      broadcastAddress: LOOPBACK_BROADCAST_ADDRESS,
      clusterName,
      clusterKeys,
      self: hello(index + firstIndex),
      nowMs: () => Date.now(),
      logger: silentLogger,
      onAnnounce: (peer) => heard.set(peer.id, peer),
    });
    return { discovery, heard };
  });
}

function randomPort(): number {
  return 20_000 + Math.floor(Math.random() * 20_000);
}

async function sendRaw(port: number, datagram: Uint8Array): Promise<void> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  socket.setBroadcast(true);
  await new Promise<void>((resolve, reject) => socket.send(datagram, port, LOOPBACK_BROADCAST_ADDRESS, (error) => (error ? reject(error) : resolve())));
  socket.close();
}

for (const clusterKeys of [[], ['sixteen chars or more, sealed']]) {
  test(`three nodes on one port hear each other (${clusterKeys.length === 0 ? 'plain' : 'sealed'})`, async () => {
    const port = randomPort();
    const nodes = startNodes(port, clusterKeys, 3);
    try {
      for (const node of nodes) await node.discovery.start();
      for (const node of nodes) node.discovery.announce();
      await until(() => nodes.every((node) => node.heard.size === 2));
      for (const [index, node] of nodes.entries()) {
        assert.deepEqual([...node.heard.keys()].sort(), nodes.filter((_, other) => other !== index).map((_, other) => hello(other < index ? other + 1 : other + 2).id).sort());
        assert.equal(node.discovery.stats().own, 1);
        assert.equal(node.discovery.stats().sent, 1);
      }
    } finally {
      await Promise.all(nodes.map((node) => node.discovery.close()));
    }
  });
}

test('garbage, oversize, other-cluster and wrong-key datagrams are counted and ignored', async () => {
  const port = randomPort();
  const [node] = startNodes(port, ['the key of this cluster, 16+'], 1);
  const [stranger] = startNodes(port, ['some other key, also long enough'], 1);
  const [foreign] = startNodes(port, ['the key of this cluster, 16+'], 1, 'other-cluster');
  try {
    await node!.discovery.start();
    await stranger!.discovery.start();
    await foreign!.discovery.start();
    await sendRaw(port, randomBytes(100));
    await sendRaw(port, Buffer.from([0x50, 0x4b, 0x56, 0x44, 1, 0, 200, 1, 2, 3]));
    await sendRaw(port, Buffer.alloc(1500, 1));
    stranger!.discovery.announce();
    foreign!.discovery.announce();
    await until(() => {
      const stats = node!.discovery.stats();
      return stats.dropped_bad! >= 3 && stats.dropped_auth! >= 1 && stats.dropped_other_cluster! >= 1;
    });
    assert.equal(node!.heard.size, 0);
    // Still working afterwards.
    const [friend] = startNodes(port, ['the key of this cluster, 16+'], 1, 'peerkv', 9);
    await friend!.discovery.start();
    friend!.discovery.announce();
    await until(() => node!.heard.has(hello(9).id));
    await friend!.discovery.close();
  } finally {
    await Promise.all([node, stranger, foreign].map((entry) => entry!.discovery.close()));
  }
});

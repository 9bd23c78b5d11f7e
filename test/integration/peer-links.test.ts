// Proves PeerLinks over real loopback TCP: ordered delivery both ways, exactly one link per pair under simultaneous dials, restart and impostor handling, garbage and wrong keys refused without harming good links, big frames, backpressure, seeds and self-links.
import assert from 'node:assert/strict';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { after, test } from 'node:test';
import type { PeerHello } from '../../src/core/io.js';
import type { PeerMessage } from '../../src/core/messages.js';
import type { Hlc } from '../../src/core/types.js';
import { PeerLinks } from '../../src/net/peer-links.js';

const hlc: Hlc = { wallMs: 1_700_000_000_000, logical: 0 };
const warnings: object[] = [];
const logger = { debug() {}, info() {}, warn: (fields: object) => warnings.push(fields), error() {} };
const started: PeerLinks[] = [];
after(async () => {
  await Promise.all(started.map((links) => links.close()));
});

interface TestNode {
  readonly links: PeerLinks;
  readonly hello: PeerHello;
  readonly port: number;
  readonly ups: PeerHello[];
  readonly downs: string[];
  readonly received: Array<{ from: string; message: PeerMessage }>;
  drains: number;
}

function nodeId(index: number): string {
  return index.toString(16).padStart(32, '0');
}

async function startNode(index: number, options: { keys?: string[]; cluster?: string; incarnation?: number; port?: number } = {}): Promise<TestNode> {
  const node = { ups: [] as PeerHello[], downs: [] as string[], received: [] as TestNode['received'], drains: 0 } as TestNode;
  const self: PeerHello = { id: nodeId(index), name: `n${index}`, addr: '127.0.0.1:0', incarnation: options.incarnation ?? 1 };
  const links = new PeerLinks({
    self,
    clusterName: options.cluster ?? 'peerkv',
    clusterKeys: options.keys ?? [],
    bindHost: '127.0.0.1',
    port: options.port ?? 0,
    logger,
    onLinkUp: (hello) => node.ups.push(hello),
    onLinkDown: (peerId) => node.downs.push(peerId),
    onMessage: (from, _hlc, message) => node.received.push({ from, message }),
    onDrain: () => node.drains++,
  });
  started.push(links);
  const port = await links.listen();
  const hello = { ...self, addr: `127.0.0.1:${port}` };
  links.setSelf(hello);
  return Object.assign(node, { links, hello, port });
}

async function until(condition: () => boolean, timeoutMs = 4_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const ack = (seq: number): PeerMessage => ({ type: 'replicateAck', seq });

for (const keys of [[], ['the cluster key, sixteen+ chars']]) {
  test(`two nodes exchange messages in order both ways (${keys.length === 0 ? 'plain' : 'keyed'})`, async () => {
    const a = await startNode(1, { keys });
    const b = await startNode(2, { keys });
    a.links.connect(b.hello.id, b.hello.addr);
    await until(() => a.ups.length === 1 && b.ups.length === 1);
    assert.deepEqual(a.ups[0], b.hello);
    assert.deepEqual(b.ups[0], a.hello);
    for (let seq = 0; seq < 1_000; seq++) {
      assert.ok(a.links.send(b.hello.id, hlc, ack(seq)));
      assert.ok(b.links.send(a.hello.id, hlc, ack(seq)));
    }
    await until(() => a.received.length === 1_000 && b.received.length === 1_000);
    assert.deepEqual(b.received.map((entry) => (entry.message as { seq: number }).seq), [...Array(1_000).keys()]);
    assert.deepEqual(a.received.map((entry) => (entry.message as { seq: number }).seq), [...Array(1_000).keys()]);
    assert.ok(b.received.every((entry) => entry.from === a.hello.id));
    assert.equal(a.links.send(nodeId(99), hlc, ack(1)), false);
    await a.links.close();
    await until(() => b.downs.length === 1);
    await b.links.close();
  });
}

test('rotation: [new, old] and [old] link in both directions', async () => {
  const a = await startNode(3, { keys: ['new key, sixteen+ chars', 'old key, sixteen+ chars'] });
  const b = await startNode(4, { keys: ['old key, sixteen+ chars'] });
  const c = await startNode(5, { keys: ['old key, sixteen+ chars', 'new key, sixteen+ chars'] });
  b.links.connect(a.hello.id, a.hello.addr);
  a.links.connect(c.hello.id, c.hello.addr);
  await until(() => a.ups.length === 2 && b.ups.length === 1 && c.ups.length === 1);
  assert.ok(a.links.send(b.hello.id, hlc, ack(1)) && a.links.send(c.hello.id, hlc, ack(2)));
  await until(() => b.received.length === 1 && c.received.length === 1);
  await Promise.all([a, b, c].map((node) => node.links.close()));
});

test('simultaneous dials leave exactly one link on both ends', async () => {
  let refused = 0;
  for (let round = 0; round < 10; round++) {
    const low = await startNode(10 + round * 2);
    const high = await startNode(11 + round * 2);
    low.links.connect(high.hello.id, high.hello.addr);
    high.links.connect(low.hello.id, low.hello.addr);
    await until(() => low.links.linkedPeers().length === 1 && high.links.linkedPeers().length === 1);
    await sleep(150);
    assert.equal(low.ups.length, 1, 'one link up at the lower id');
    assert.equal(high.ups.length, 1, 'one link up at the higher id');
    assert.deepEqual(low.downs, []);
    assert.deepEqual(high.downs, []);
    assert.equal(low.links.stats().links, 1);
    // The survivor carries traffic both ways.
    assert.ok(low.links.send(high.hello.id, hlc, ack(round)) && high.links.send(low.hello.id, hlc, ack(round)));
    await until(() => low.received.length === 1 && high.received.length === 1);
    refused += (low.links.stats().duplicate_link_closed ?? 0) + (high.links.stats().duplicate_link_closed ?? 0);
    await Promise.all([low.links.close(), high.links.close()]);
  }
  assert.ok(refused > 0, 'the dials really raced');
});

test('a link comes back after the remote restarts (same id, higher incarnation, same port)', async () => {
  const a = await startNode(40);
  const b = await startNode(41, { incarnation: 1 });
  a.links.connect(b.hello.id, b.hello.addr);
  await until(() => a.ups.length === 1);
  await b.links.close();
  await until(() => a.downs.length === 1);
  const restarted = await startNode(41, { incarnation: 2, port: b.port });
  await until(() => a.ups.length === 2 && restarted.ups.length === 1, 6_000);
  assert.equal(a.ups[1]!.incarnation, 2);
  assert.ok(a.links.send(b.hello.id, hlc, ack(7)));
  await until(() => restarted.received.length === 1);
  await Promise.all([a.links.close(), restarted.links.close()]);
});

test('a higher incarnation replaces a live link; the same incarnation from elsewhere is refused loudly', async () => {
  const a = await startNode(50);
  const old = await startNode(51, { incarnation: 1 });
  old.links.connect(a.hello.id, a.hello.addr);
  await until(() => a.ups.length === 1);
  const impostor = await startNode(51, { incarnation: 1 });
  impostor.links.connect(a.hello.id, a.hello.addr);
  await until(() => (a.links.stats().duplicate_link_closed ?? 0) >= 1);
  assert.equal(a.ups.length, 1);
  assert.ok(warnings.some((fields) => JSON.stringify(fields).includes(nodeId(51))));
  await impostor.links.close();
  const newer = await startNode(51, { incarnation: 2 });
  newer.links.connect(a.hello.id, a.hello.addr);
  await until(() => a.ups.length === 2 && newer.ups.length === 1);
  assert.deepEqual(a.downs, [nodeId(51)]);
  assert.equal(a.ups[1]!.incarnation, 2);
  await until(() => old.downs.length === 1);
  await Promise.all([a, old, newer].map((node) => node.links.close()));
});

async function rawConnection(port: number, bytes: Uint8Array): Promise<void> {
  const socket = net.connect({ host: '127.0.0.1', port });
  socket.on('error', () => {});
  socket.write(bytes);
  await new Promise((resolve) => socket.once('close', resolve));
}

test('garbage, HTTP, oversize lengths and wrong keys are closed and counted; the good link keeps working', async () => {
  const a = await startNode(60, { keys: ['the real key, sixteen+ chars'] });
  const b = await startNode(61, { keys: ['the real key, sixteen+ chars'] });
  a.links.connect(b.hello.id, b.hello.addr);
  await until(() => a.ups.length === 1 && b.ups.length === 1);
  await rawConnection(b.port, randomBytes(64));
  await rawConnection(b.port, Buffer.from('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n'));
  await rawConnection(b.port, Buffer.from([0x7f, 0xff, 0xff, 0xff, 1, 2, 3]));
  const stranger = await startNode(62, { keys: ['some other key, sixteen+'] });
  stranger.links.connect(b.hello.id, b.hello.addr);
  const plain = await startNode(63);
  plain.links.connect(b.hello.id, b.hello.addr);
  const foreign = await startNode(64, { keys: ['the real key, sixteen+ chars'], cluster: 'elsewhere' });
  foreign.links.connect(b.hello.id, b.hello.addr);
  await until(() => {
    const stats = b.links.stats();
    return (stats.auth_failed ?? 0) >= 2 && (stats.frame_too_large ?? 0) >= 2 && (stats.cluster_mismatch ?? 0) >= 1;
  });
  await stranger.links.close();
  await plain.links.close();
  await foreign.links.close();
  assert.deepEqual(b.links.linkedPeers(), [a.hello.id]);
  assert.equal(b.ups.length, 1);
  assert.ok(a.links.send(b.hello.id, hlc, ack(1)));
  await until(() => b.received.length === 1);
  await Promise.all([a.links.close(), b.links.close()]);
});

test('a 20 MiB record passes; congestion is flagged and drain reported', async () => {
  const a = await startNode(70, { keys: ['the cluster key, sixteen+ chars'] });
  const b = await startNode(71, { keys: ['the cluster key, sixteen+ chars'] });
  a.links.connect(b.hello.id, b.hello.addr);
  await until(() => a.ups.length === 1 && b.ups.length === 1);
  const value = randomBytes(20 * 1024 * 1024);
  const record = { key: Buffer.from('big'), value, hlc, origin: a.hello.id, expiresAtMs: 0 };
  assert.equal(a.links.isCongested(b.hello.id), false);
  for (let seq = 1; seq <= 2; seq++) assert.ok(a.links.send(b.hello.id, hlc, { type: 'replicate', seq, records: [record] }));
  assert.equal(a.links.isCongested(b.hello.id), true);
  assert.equal(a.links.anyCongested(), true);
  await until(() => b.received.length === 2, 20_000);
  await until(() => a.drains === 1);
  assert.equal(a.links.isCongested(b.hello.id), false);
  const received = b.received[1]!.message as unknown as { records: Array<{ value: Uint8Array }> };
  assert.ok(Buffer.from(received.records[0]!.value).equals(value));
  await Promise.all([a.links.close(), b.links.close()]);
});

test('seeds: a seed address becomes a peer link; dialling ourselves is closed and not retried', async () => {
  const a = await startNode(80);
  const b = await startNode(81);
  a.links.connectSeed(b.hello.addr);
  a.links.connectSeed(a.hello.addr);
  await until(() => a.ups.length === 1 && (a.links.stats().self_link_closed ?? 0) >= 1);
  assert.deepEqual(a.links.linkedPeers(), [b.hello.id]);
  await sleep(300);
  assert.equal(a.links.stats().self_link_closed, 2, 'one refusal on each end of the one self dial');
  // The seed now behaves like connect: the link comes back after b restarts.
  await b.links.close();
  await until(() => a.downs.length === 1);
  const restarted = await startNode(81, { incarnation: 2, port: b.port });
  await until(() => a.ups.length === 2 && restarted.ups.length === 1, 6_000);
  a.links.disconnect(b.hello.id);
  await until(() => a.downs.length === 2 && a.links.linkedPeers().length === 0);
  await Promise.all([a.links.close(), restarted.links.close()]);
});

test('a connection that never says hello is dropped after the handshake timeout', async () => {
  const a = await startNode(90);
  const socket = net.connect({ host: '127.0.0.1', port: a.port });
  socket.on('error', () => {});
  const closedAt = await new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now())));
  assert.ok(closedAt > 0);
  assert.equal(a.links.stats().handshake_failed, 1);
  await a.links.close();
});

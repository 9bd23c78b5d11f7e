// Proves PUBLISH reaches this server's SUBSCRIBE and PSUBSCRIBE clients in Redis's RESP2 and RESP3 forms (binary safe), counts only local receivers, hands every message to the engine for the peers once, delivers messages relayed from peers without sending them on, and that PUBSUB CHANNELS/NUMSUB/NUMPAT answer (and fail) as Redis 7.0 does.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { PUBLISH_CHANNEL_BYTES_MAX } from '../../src/core/pubsub-messages.js';
import type { RespServer } from '../../src/net/resp-listener.js';
import { MemoryEngine, RawClient, startMemoryServer } from '../support/memory-engine.js';

let server: RespServer;
let engine: MemoryEngine;
const raws: RawClient[] = [];

before(async () => {
  ({ server, engine } = await startMemoryServer());
});

after(async () => {
  for (const raw of raws) raw.destroy();
  await server.close();
});

/** RESP multibulk request bytes for args (binary safe). */
function request(...args: Array<string | Buffer>): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) {
    const bytes = typeof arg === 'string' ? Buffer.from(arg, 'latin1') : arg;
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

function bulk(text: string): string {
  return `$${Buffer.byteLength(text, 'latin1')}\r\n${text}\r\n`;
}

async function connected(): Promise<RawClient> {
  const raw = new RawClient(server.port);
  raws.push(raw);
  await raw.connected;
  return raw;
}

/** Send, then wait until exactly `expected` arrived after what the client had before. */
async function exchange(raw: RawClient, bytes: Buffer | string, expected: string): Promise<void> {
  const before = raw.text().length;
  raw.send(bytes);
  const text = await raw.waitFor((all) => all.length - before >= expected.length);
  assert.equal(text.slice(before), expected);
}

/** Wait until what the client received ends with `expected`. */
async function receives(raw: RawClient, expected: string): Promise<void> {
  const text = await raw.waitFor((all) => all.endsWith(expected));
  assert.ok(text.endsWith(expected), `got ${JSON.stringify(text.slice(-200))}`);
}

async function closeAll(): Promise<void> {
  for (const raw of raws.splice(0)) raw.destroy();
  const deadline = Date.now() + 2_000;
  while (engine.peerPublishListenerCount() > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
}

test('PUBLISH counts local receivers (a client on a channel and a matching pattern counts twice), in RESP2 form', async () => {
  const channelSubscriber = await connected();
  const patternSubscriber = await connected();
  const publisher = await connected();
  await exchange(channelSubscriber, 'SUBSCRIBE news\r\n', `*3\r\n${bulk('subscribe')}${bulk('news')}:1\r\n`);
  await exchange(patternSubscriber, 'PSUBSCRIBE n*\r\n', `*3\r\n${bulk('psubscribe')}${bulk('n*')}:1\r\n`);
  await exchange(channelSubscriber, 'PSUBSCRIBE ne?s\r\n', `*3\r\n${bulk('psubscribe')}${bulk('ne?s')}:2\r\n`);
  const sentBefore = engine.publishedToPeers.length;
  await exchange(publisher, 'PUBLISH news hello\r\n', ':3\r\n');
  await receives(channelSubscriber, `*3\r\n${bulk('message')}${bulk('news')}${bulk('hello')}*4\r\n${bulk('pmessage')}${bulk('ne?s')}${bulk('news')}${bulk('hello')}`);
  await receives(patternSubscriber, `*4\r\n${bulk('pmessage')}${bulk('n*')}${bulk('news')}${bulk('hello')}`);
  await exchange(publisher, 'PUBLISH nobody-listens x\r\n', ':1\r\n'); // n* matches
  await exchange(publisher, 'PUBLISH other x\r\n', ':0\r\n');
  assert.deepEqual(
    engine.publishedToPeers.slice(sentBefore).map(({ channel, message }) => `${channel} ${message}`),
    ['news hello', 'nobody-listens x', 'other x'],
    'every PUBLISH goes to the peers once, with or without local receivers',
  );
  await closeAll();
});

test('RESP3 subscribers get > pushes; channel and message are binary safe', async () => {
  const subscriber = await connected();
  const publisher = await connected();
  const channel = Buffer.from([0x00, 0x0d, 0x0a, 0xff, 0x2a]);
  const message = Buffer.from([0x24, 0x2d, 0x31, 0x0d, 0x0a, 0x00, 0x80]);
  subscriber.send('HELLO 3\r\n');
  await subscriber.waitFor((text) => text.includes('modules'));
  const start = subscriber.text().length;
  subscriber.send(Buffer.concat([request('SUBSCRIBE', channel), request('PSUBSCRIBE', Buffer.from([0x00, 0x2a]))]));
  await subscriber.waitFor((text) => text.length > start && text.slice(start).split(':').length >= 3);
  await exchange(publisher, request('PUBLISH', channel, message), ':2\r\n');
  const latin = (bytes: Buffer) => bytes.toString('latin1');
  const expected =
    `>3\r\n${bulk('message')}${bulk(latin(channel))}${bulk(latin(message))}` +
    `>4\r\n${bulk('pmessage')}${bulk('\x00*')}${bulk(latin(channel))}${bulk(latin(message))}`;
  await receives(subscriber, expected);
  const relayed = engine.publishedToPeers.at(-1)!;
  assert.deepEqual([relayed.channel, relayed.message], [channel, message]);
  await closeAll();
});

test('a message relayed from a peer reaches local subscribers and is not sent on; the hub listens only while subscribed', async () => {
  assert.equal(engine.peerPublishListenerCount(), 0);
  const subscriber = await connected();
  await exchange(subscriber, 'SUBSCRIBE remote\r\nPSUBSCRIBE rem*\r\n', `*3\r\n${bulk('subscribe')}${bulk('remote')}:1\r\n*3\r\n${bulk('psubscribe')}${bulk('rem*')}:2\r\n`);
  assert.equal(engine.peerPublishListenerCount(), 1);
  const sentBefore = engine.publishedToPeers.length;
  const before = subscriber.text().length;
  engine.deliverFromPeer(Buffer.from('remote'), Buffer.from('from-b'));
  const expected = `*3\r\n${bulk('message')}${bulk('remote')}${bulk('from-b')}*4\r\n${bulk('pmessage')}${bulk('rem*')}${bulk('remote')}${bulk('from-b')}`;
  assert.equal((await subscriber.waitFor((text) => text.length - before >= expected.length)).slice(before), expected);
  assert.equal(engine.publishedToPeers.length, sentBefore, 'a relayed message never goes back out');
  await exchange(subscriber, 'UNSUBSCRIBE\r\nPUNSUBSCRIBE\r\n', `*3\r\n${bulk('unsubscribe')}${bulk('remote')}:1\r\n*3\r\n${bulk('punsubscribe')}${bulk('rem*')}:0\r\n`);
  assert.equal(engine.peerPublishListenerCount(), 0);
  await closeAll();
});

test('a channel beyond PUBLISH_CHANNEL_BYTES_MAX is refused; nothing is delivered or relayed and the connection stays', async () => {
  const publisher = await connected();
  const sentBefore = engine.publishedToPeers.length;
  const channel = Buffer.alloc(PUBLISH_CHANNEL_BYTES_MAX + 1, 0x61);
  await exchange(publisher, request('PUBLISH', channel, 'x'), `-ERR channel is ${PUBLISH_CHANNEL_BYTES_MAX + 1} bytes, the limit is ${PUBLISH_CHANNEL_BYTES_MAX}\r\n`);
  assert.equal(engine.publishedToPeers.length, sentBefore);
  await exchange(publisher, request('PUBLISH', Buffer.alloc(PUBLISH_CHANNEL_BYTES_MAX, 0x61), 'x'), ':0\r\n');
  await exchange(publisher, 'PING\r\n', '+PONG\r\n');
  await closeAll();
});

test('PUBSUB CHANNELS, NUMSUB and NUMPAT describe this node, with Redis 7.0 replies and errors', async () => {
  const first = await connected();
  const second = await connected();
  const admin = await connected();
  await exchange(first, 'SUBSCRIBE b.1 a.1 zz\r\n', [`b.1`, `a.1`, `zz`].map((name, index) => `*3\r\n${bulk('subscribe')}${bulk(name)}:${index + 1}\r\n`).join(''));
  await exchange(second, 'SUBSCRIBE a.1\r\nPSUBSCRIBE x* y*\r\n', `*3\r\n${bulk('subscribe')}${bulk('a.1')}:1\r\n*3\r\n${bulk('psubscribe')}${bulk('x*')}:2\r\n*3\r\n${bulk('psubscribe')}${bulk('y*')}:3\r\n`);
  await exchange(first, 'PSUBSCRIBE x*\r\n', `*3\r\n${bulk('psubscribe')}${bulk('x*')}:4\r\n`);
  await exchange(admin, 'PUBSUB CHANNELS\r\n', `*3\r\n${bulk('a.1')}${bulk('b.1')}${bulk('zz')}`);
  await exchange(admin, 'pubsub channels *.1\r\n', `*2\r\n${bulk('a.1')}${bulk('b.1')}`);
  await exchange(admin, 'PUBSUB CHANNELS nothing*\r\n', '*0\r\n');
  await exchange(admin, 'PUBSUB NUMSUB a.1 zz x* missing\r\n', `*8\r\n${bulk('a.1')}:2\r\n${bulk('zz')}:1\r\n${bulk('x*')}:0\r\n${bulk('missing')}:0\r\n`);
  await exchange(admin, 'PUBSUB NUMSUB\r\n', '*0\r\n');
  await exchange(admin, 'PUBSUB NUMPAT\r\n', ':2\r\n');
  await exchange(admin, 'PUBSUB NUMPAT extra\r\n', "-ERR wrong number of arguments for 'pubsub|numpat' command\r\n");
  await exchange(admin, 'PUBSUB CHANNELS a b\r\n', "-ERR unknown subcommand or wrong number of arguments for 'CHANNELS'. Try PUBSUB HELP.\r\n");
  await exchange(admin, 'PUBSUB FOO\r\n', "-ERR unknown subcommand 'FOO'. Try PUBSUB HELP.\r\n");
  await exchange(admin, 'PUBSUB\r\n', "-ERR wrong number of arguments for 'pubsub' command\r\n");
  const before = admin.text().length;
  admin.send('PUBSUB HELP\r\n');
  const help = (await admin.waitFor((text) => text.endsWith('+    Print this help.\r\n'))).slice(before);
  assert.match(help, /^\*10\r\n\+PUBSUB <subcommand> \[<arg> \[value\] \[opt\] \.\.\.\]\. Subcommands are:\r\n\+CHANNELS \[<pattern>\]\r\n/);
  first.destroy();
  await first.closed;
  await new Promise((resolve) => setTimeout(resolve, 50)); // the server sees the close
  await exchange(admin, 'PUBSUB CHANNELS\r\nPUBSUB NUMPAT\r\n', `*1\r\n${bulk('a.1')}:2\r\n`);
  await closeAll();
});

test('PUBLISH is refused in RESP2 subscribed mode, as in Redis', async () => {
  const subscriber = await connected();
  await exchange(
    subscriber,
    'SUBSCRIBE c\r\nPUBLISH c x\r\n',
    `*3\r\n${bulk('subscribe')}${bulk('c')}:1\r\n-ERR Can't execute 'publish': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n`,
  );
  await closeAll();
});

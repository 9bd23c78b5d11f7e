// Proves keyspace notifications reach SUBSCRIBE/PSUBSCRIBE clients (RESP2 arrays, RESP3 pushes), subscribed mode restricts RESP2 commands, and the engine is listened to only while someone subscribes.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { MemoryEngine, RawClient, startMemoryServer } from '../support/memory-engine.js';
import type { RespServer } from '../../src/net/resp-listener.js';

let server: RespServer;
let engine: MemoryEngine;
let clockMs = Date.now();
const clients: Redis[] = [];

before(async () => {
  engine = new MemoryEngine({ nowMs: () => clockMs });
  ({ server } = await startMemoryServer({ engine }));
});

after(async () => {
  for (const redis of clients) redis.disconnect();
  await server.close();
});

function client(): Redis {
  const redis = new Redis({ host: '127.0.0.1', port: server.port, protocol: 2, maxRetriesPerRequest: 0, retryStrategy: () => null });
  clients.push(redis);
  return redis;
}

/** Collect [channel, message] (or [pattern, channel, message]) until `count` arrived. */
function collect(redis: Redis, count: number): { messages: string[][]; done: Promise<string[][]> } {
  const messages: string[][] = [];
  let resolveDone: (value: string[][]) => void = () => {};
  const done = new Promise<string[][]>((resolve) => (resolveDone = resolve));
  const push = (entry: string[]) => {
    messages.push(entry);
    if (messages.length === count) resolveDone(messages);
  };
  redis.on('message', (channel: string, message: string) => push([channel, message]));
  redis.on('pmessage', (pattern: string, channel: string, message: string) => push([pattern, channel, message]));
  return { messages, done };
}

async function until(condition: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

test('keyspace and keyevent channels carry set, expire, persist, del and expired', async () => {
  assert.equal(engine.listenerCount(), 0, 'no engine listener before anyone subscribes');
  const subscriber = client();
  const writer = client();
  await subscriber.subscribe('__keyspace@0__:foo', '__keyevent@0__:del');
  assert.equal(engine.listenerCount(), 1);
  const { done } = collect(subscriber, 7);
  await writer.set('foo', 'v1');
  await writer.expire('foo', 100);
  await writer.persist('foo');
  await writer.set('foo', 'v2', 'PX', 10);
  await writer.set('other', 'x');
  await writer.del('other');
  clockMs += 10;
  engine.sweepExpired();
  assert.deepEqual(await done, [
    ['__keyspace@0__:foo', 'set'],
    ['__keyspace@0__:foo', 'expire'],
    ['__keyspace@0__:foo', 'persist'],
    ['__keyspace@0__:foo', 'set'],
    ['__keyspace@0__:foo', 'expire'],
    ['__keyevent@0__:del', 'other'],
    ['__keyspace@0__:foo', 'expired'],
  ]);
  await subscriber.unsubscribe();
  assert.equal(engine.listenerCount(), 0, 'engine listener dropped when the last subscription goes');
});

test('PSUBSCRIBE matches keyspace channels by pattern', async () => {
  const subscriber = client();
  const writer = client();
  await subscriber.psubscribe('__keyspace@0__:user:*');
  const { done } = collect(subscriber, 2);
  await writer.set('user:1', 'a');
  await writer.set('order:1', 'b');
  await writer.del('user:1');
  assert.deepEqual(await done, [
    ['__keyspace@0__:user:*', '__keyspace@0__:user:1', 'set'],
    ['__keyspace@0__:user:*', '__keyspace@0__:user:1', 'del'],
  ]);
  subscriber.disconnect();
  await until(() => engine.listenerCount() === 0);
});

test('RESP2 subscribed mode allows only (P)(UN)SUBSCRIBE PING QUIT RESET', async () => {
  const raw = new RawClient(server.port);
  await raw.connected;
  raw.send('SUBSCRIBE a b\r\nGET x\r\nPING\r\nUNSUBSCRIBE\r\nUNSUBSCRIBE\r\nGET x\r\n');
  const expected =
    '*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n' +
    '*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n' +
    "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n" +
    '*2\r\n$4\r\npong\r\n$0\r\n\r\n' +
    '*3\r\n$11\r\nunsubscribe\r\n$1\r\na\r\n:1\r\n' +
    '*3\r\n$11\r\nunsubscribe\r\n$1\r\nb\r\n:0\r\n' +
    '*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n' +
    '$-1\r\n';
  assert.equal(await raw.waitFor((text) => text.length >= expected.length), expected);
  raw.destroy();
});

test('RESP3 subscribers get > pushes and may keep running commands', async () => {
  const raw = new RawClient(server.port);
  await raw.connected;
  raw.send('HELLO 3\r\nSUBSCRIBE __keyspace@0__:r3\r\nGET r3\r\n');
  await raw.waitFor((text) => text.endsWith('_\r\n'));
  assert.match(raw.text(), />3\r\n\$9\r\nsubscribe\r\n\$17\r\n__keyspace@0__:r3\r\n:1\r\n_\r\n$/);
  const writer = client();
  await writer.set('r3', 'x');
  const push = '>3\r\n$7\r\nmessage\r\n$17\r\n__keyspace@0__:r3\r\n$3\r\nset\r\n';
  assert.ok((await raw.waitFor((text) => text.endsWith(push))).endsWith(push));
  raw.destroy();
  await until(() => engine.listenerCount() === 0);
});

test('RESET leaves subscribed mode', async () => {
  const raw = new RawClient(server.port);
  await raw.connected;
  raw.send('SUBSCRIBE z\r\nRESET\r\nGET z\r\n');
  assert.match(await raw.waitFor((text) => text.endsWith('$-1\r\n')), /\+RESET\r\n\$-1\r\n$/);
  raw.destroy();
});

test('a burst of messages leaves for a subscriber in one socket write, complete and in order', async () => {
  const raw = new RawClient(server.port);
  await raw.connected;
  raw.send('SUBSCRIBE burst\r\n');
  await raw.waitFor((text) => text.endsWith(':1\r\n'));
  const publisher = client();
  await publisher.ping();
  const count = 500;
  const expected = Array.from({ length: count }, (_, index) => `*3\r\n$7\r\nmessage\r\n$5\r\nburst\r\n$${String(index).length + 2}\r\nm-${index}\r\n`).join('');
  const writesBefore = server.stats().replyWrites!;
  // One pipelined batch: the 500 PUBLISHes run in one turn of the event loop.
  const pipeline = publisher.pipeline();
  for (let index = 0; index < count; index++) pipeline.publish('burst', `m-${index}`);
  const replies = (await pipeline.exec())!;
  assert.ok(replies.every(([error, receivers]) => error === null && receivers === 1));
  const received = await raw.waitFor((text) => text.length >= expected.length + '*3\r\n$9\r\nsubscribe\r\n$5\r\nburst\r\n:1\r\n'.length);
  assert.equal(received.slice(received.length - expected.length), expected, 'every message, in order');
  // One write per event-loop turn for the subscriber (as Redis writes a client's output
  // once per iteration), plus the publisher's replies: a write per message would be 500.
  const writes = server.stats().replyWrites! - writesBefore;
  assert.ok(writes <= 8, `${writes} socket writes for ${count} messages`);
  const stats = await publisher.info('stats');
  assert.match(stats, /total_writes_processed:\d+/);
  assert.match(stats, /total_reads_processed:\d+/);
  raw.destroy();
});

test('RESP3: a message to the publishing connection itself comes before its PUBLISH reply', async () => {
  const raw = new RawClient(server.port);
  await raw.connected;
  raw.send('HELLO 3\r\nSUBSCRIBE self\r\n');
  await raw.waitFor((text) => text.includes('>3\r\n$9\r\nsubscribe\r\n$4\r\nself\r\n:1\r\n'));
  const start = raw.text().length;
  raw.send('PUBLISH self hi\r\nPING\r\n');
  const text = await raw.waitFor((received) => received.slice(start).endsWith('+PONG\r\n'));
  assert.equal(text.slice(start), '>3\r\n$7\r\nmessage\r\n$4\r\nself\r\n$2\r\nhi\r\n:1\r\n+PONG\r\n');
  raw.destroy();
});

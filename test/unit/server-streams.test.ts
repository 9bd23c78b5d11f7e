// Proves the stream commands over the MemoryEngine: Redis 7.0's ids, errors and trimming (exact and whole-node approximate), ranges, XREAD with BLOCK woken by a local and a remote XADD, consumer groups (XREADGROUP, XACK, XPENDING, XCLAIM, XAUTOCLAIM, XINFO), keyspace events, COPY/RENAME/DEL, and entries added on two nodes at once all kept, ordered by id, on both.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { MemoryEngine, startMemoryServer } from '../support/memory-engine.js';
import type { RespServer } from '../../src/net/resp-listener.js';

const ORIGIN_A = 'a'.repeat(32);
const ORIGIN_B = 'b'.repeat(32);
let clockMs = 1_700_000_000_000;
let engineA: MemoryEngine;
let engineB: MemoryEngine;
let serverA: RespServer;
let serverB: RespServer;
const clients: Redis[] = [];
let redis: Redis;

function client(port: number): Redis {
  const connection = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 0, retryStrategy: () => null });
  clients.push(connection);
  return connection;
}

before(async () => {
  engineA = new MemoryEngine({ nodeId: ORIGIN_A, keepBatches: true, nowMs: () => clockMs });
  engineB = new MemoryEngine({ nodeId: ORIGIN_B, keepBatches: true, nowMs: () => clockMs + 5 });
  ({ server: serverA } = await startMemoryServer({ engine: engineA }));
  ({ server: serverB } = await startMemoryServer({ engine: engineB }));
  redis = client(serverA.port);
});

after(async () => {
  for (const connection of clients) connection.disconnect();
  await serverA.close();
  await serverB.close();
});

async function call(...args: (string | number)[]): Promise<unknown> {
  try {
    return await redis.call(String(args[0]), ...args.slice(1));
  } catch (error) {
    return (error as Error).message;
  }
}

const ids = (entries: unknown): string[] => (entries as [string, string[]][]).map(([id]) => id);

test('XADD ids: automatic from the clock, explicit, <ms>-*, and Redis errors', async () => {
  await call('flushall');
  assert.equal(await call('xadd', 's', '*', 'a', 1), `${clockMs}-0`);
  assert.equal(await call('xadd', 's', '*', 'a', 2), `${clockMs}-1`);
  assert.equal(await call('xadd', 's', `${clockMs}-*`, 'a', 3), `${clockMs}-2`);
  assert.equal(await call('xadd', 's', `${clockMs + 10}-*`, 'a', 4), `${clockMs + 10}-0`);
  assert.equal(await call('xadd', 's', '5-5', 'a', 5), 'ERR The ID specified in XADD is equal or smaller than the target stream top item');
  assert.equal(await call('xadd', 'z', '0-0', 'a', 1), 'ERR The ID specified in XADD must be greater than 0-0');
  assert.equal(await call('xadd', 'z', 'bad', 'a', 1), 'ERR Invalid stream ID specified as stream command argument');
  assert.equal(await call('xadd', 'z', '*', 'a'), "ERR wrong number of arguments for 'xadd' command");
  assert.equal(await call('xadd', 'z', 'nomkstream', '*', 'a', 1), null);
  assert.equal(await call('exists', 'z'), 0);
  assert.equal(await call('xadd', 'z', 'maxlen', '-1', '*', 'a', 1), 'ERR The MAXLEN argument must be >= 0.');
  assert.equal(await call('xadd', 'z', 'maxlen', '1', 'limit', 10, '*', 'a', 1), 'ERR syntax error, LIMIT cannot be used without the special ~ option');
  assert.equal(await call('xadd', 'z', 'maxlen', '1', 'minid', 5, '*', 'a', 1), 'ERR syntax error, MAXLEN and MINID options at the same time are not compatible');
  await call('set', 'str', 'x');
  assert.equal(await call('xadd', 'str', '*', 'a', 1), 'WRONGTYPE Operation against a key holding the wrong kind of value');
  assert.equal(await call('xadd', 'max', '18446744073709551615-18446744073709551615', 'a', 1), '18446744073709551615-18446744073709551615');
  assert.equal(await call('xadd', 'max', '*', 'a', 1), 'ERR The stream has exhausted the last possible ID, unable to add more items');
  assert.equal(await call('type', 's'), 'stream');
  assert.equal(await call('xlen', 's'), 4);
});

test('XRANGE / XREVRANGE: incomplete, exclusive and special ids, COUNT', async () => {
  await call('flushall');
  for (let index = 1; index <= 5; index++) await call('xadd', 'r', `${index}-1`, 'n', index);
  assert.deepEqual(await call('xrange', 'r', '-', '+'), [1, 2, 3, 4, 5].map((index) => [`${index}-1`, ['n', String(index)]]));
  assert.deepEqual(ids(await call('xrange', 'r', '2', '4')), ['2-1', '3-1', '4-1']);
  assert.deepEqual(ids(await call('xrange', 'r', '(2-1', '(5-1')), ['3-1', '4-1']);
  assert.deepEqual(ids(await call('xrange', 'r', '-', '+', 'count', 2)), ['1-1', '2-1']);
  assert.equal(await call('xrange', 'r', '-', '+', 'count', 0), null);
  assert.deepEqual(ids(await call('xrevrange', 'r', '+', '-', 'count', 2)), ['5-1', '4-1']);
  assert.deepEqual(ids(await call('xrevrange', 'r', '(4-1', '2')), ['3-1', '2-1']);
  assert.equal(await call('xrange', 'r', '(-', '+'), 'ERR Invalid stream ID specified as stream command argument');
  assert.equal(await call('xrange', 'r', '(18446744073709551615-18446744073709551615', '+'), 'ERR invalid start ID for the interval');
  assert.deepEqual(await call('xrange', 'missing', '-', '+'), []);
});

test('XDEL, XTRIM (exact, approximate by whole nodes, MINID) and XSETID', async () => {
  await call('flushall');
  for (let index = 1; index <= 1000; index++) await call('xadd', 't', `${index}-0`, 'i', index);
  assert.equal(await call('xtrim', 't', 'maxlen', 666), 334);
  assert.equal(await call('xtrim', 't', 'maxlen', '=', 555), 111);
  assert.equal(await call('xtrim', 't', 'maxlen', '~', 444), 55); // the partly trimmed head node goes whole
  assert.equal(await call('xlen', 't'), 500);
  assert.equal(await call('xtrim', 't', 'maxlen', '~', 400), 100);
  assert.equal(await call('xtrim', 't', 'minid', '~', '750'), 100);
  assert.equal(await call('xtrim', 't', 'minid', '750'), 49);
  assert.equal(await call('xlen', 't'), 251);
  assert.equal(await call('xdel', 't', '750-0', '751-0', '751-0', '1-0'), 2);
  assert.equal(await call('xdel', 't', 'bad'), 'ERR Invalid stream ID specified as stream command argument');
  assert.equal(await call('xtrim', 't', 'maxlen', 0), 249);
  assert.equal(await call('exists', 't'), 1); // an empty stream lives on, as in Redis
  assert.equal(await call('xadd', 't', '1000-0', 'a', 1), 'ERR The ID specified in XADD is equal or smaller than the target stream top item');
  assert.equal(await call('xsetid', 't', '2000-0'), 'OK');
  assert.equal(await call('xadd', 't', '1500-0', 'a', 1), 'ERR The ID specified in XADD is equal or smaller than the target stream top item');
  await call('xadd', 't', '2001-0', 'a', 1);
  assert.equal(await call('xsetid', 't', '1-0'), 'ERR The ID specified in XSETID is smaller than the target stream top item');
  assert.equal(await call('xsetid', 'nope', '1-0'), 'ERR no such key');
  assert.equal(await call('xtrim', 't', 'limit', 5), 'ERR syntax error, LIMIT cannot be used without specifying a trimming strategy');
  assert.equal(await call('xtrim', 't', 'nomkstream', 'x'), 'ERR syntax error');
  await call('del', 'a');
  for (let index = 1; index <= 10; index++) await call('xadd', 'a', 'maxlen', 3, `${index}-0`, 'i', index);
  assert.deepEqual(ids(await call('xrange', 'a', '-', '+')), ['8-0', '9-0', '10-0']);
  await call('xadd', 'a', 'maxlen', 0, '11-0', 'i', 11);
  assert.equal(await call('xlen', 'a'), 0);
});

test('XREAD: ids and $, COUNT, BLOCK woken by a local and by a remote XADD, timeout', async () => {
  await call('flushall');
  await call('xadd', 'x', '1-0', 'a', 1);
  await call('xadd', 'x', '2-0', 'a', 2);
  assert.deepEqual(await call('xread', 'count', 1, 'streams', 'x', 'nokey', '0', '0'), [['x', [['1-0', ['a', '1']]]]]);
  assert.equal(await call('xread', 'streams', 'x', '$'), null);
  assert.equal(await call('xread', 'streams', 'x', 'y', 'z'), "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.");
  const waiter = client(serverA.port);
  const local = waiter.call('xread', 'block', 0, 'streams', 'x', '$');
  await new Promise((resolve) => setTimeout(resolve, 30));
  await call('xadd', 'x', '3-0', 'a', 3);
  assert.deepEqual(await local, [['x', [['3-0', ['a', '3']]]]]);
  const remote = waiter.call('xread', 'block', 5000, 'streams', 'x', '$');
  await new Promise((resolve) => setTimeout(resolve, 30));
  const b = client(serverB.port);
  const start = engineB.batches.length;
  await b.call('xadd', 'x', '7-0', 'from', 'b');
  for (const batch of engineB.batches.slice(start)) engineA.applyRemote(batch);
  assert.deepEqual(await remote, [['x', [['7-0', ['from', 'b']]]]]);
  assert.equal(await waiter.call('xread', 'block', 20, 'streams', 'x', '$'), null);
});

test('consumer groups: XREADGROUP >, history, NOACK, XACK, XPENDING, XCLAIM, XAUTOCLAIM, XINFO', async () => {
  await call('flushall');
  for (let index = 1; index <= 4; index++) await call('xadd', 'g', `${index}-0`, 'n', index);
  assert.equal(await call('xgroup', 'create', 'g', 'grp', '0'), 'OK');
  assert.equal(await call('xgroup', 'create', 'g', 'grp', '0'), 'BUSYGROUP Consumer Group name already exists');
  assert.match(String(await call('xgroup', 'create', 'nokey', 'grp', '$')), /^ERR The XGROUP subcommand requires the key to exist/);
  assert.equal(await call('xgroup', 'create', 'empty', 'grp', '$', 'mkstream'), 'OK');
  assert.equal(await call('xlen', 'empty'), 0);
  assert.deepEqual(await call('xreadgroup', 'group', 'grp', 'alice', 'count', 2, 'streams', 'g', '>'), [['g', [['1-0', ['n', '1']], ['2-0', ['n', '2']]]]]);
  assert.deepEqual(await call('xreadgroup', 'group', 'grp', 'bob', 'count', 1, 'streams', 'g', '>'), [['g', [['3-0', ['n', '3']]]]]);
  assert.deepEqual(await call('xreadgroup', 'group', 'grp', 'carol', 'noack', 'streams', 'g', '>'), [['g', [['4-0', ['n', '4']]]]]);
  assert.equal(await call('xreadgroup', 'group', 'grp', 'carol', 'streams', 'g', '>'), null);
  assert.deepEqual(await call('xpending', 'g', 'grp'), [3, '1-0', '3-0', [['alice', '2'], ['bob', '1']]]);
  assert.deepEqual((await call('xpending', 'g', 'grp', '-', '+', 10, 'alice')) as unknown[], [
    ['1-0', 'alice', 0, 1],
    ['2-0', 'alice', 0, 1],
  ]);
  // History redelivers alice's own pending entries and counts the delivery.
  assert.deepEqual(ids(((await call('xreadgroup', 'group', 'grp', 'alice', 'streams', 'g', '0')) as [string, unknown][])[0]![1]), ['1-0', '2-0']);
  assert.deepEqual((await call('xpending', 'g', 'grp', '-', '+', 1)) as unknown[], [['1-0', 'alice', 0, 2]]);
  assert.equal(await call('xack', 'g', 'grp', '1-0', '1-0', '9-0'), 1);
  clockMs += 1000;
  assert.deepEqual(await call('xclaim', 'g', 'grp', 'dave', 500, '2-0', 'justid'), ['2-0']);
  assert.deepEqual(await call('xclaim', 'g', 'grp', 'dave', 500, '2-0'), []); // just claimed: not idle
  await call('xdel', 'g', '3-0');
  clockMs += 1000;
  assert.deepEqual(await call('xautoclaim', 'g', 'grp', 'erin', 500, '0-0'), ['0-0', [['2-0', ['n', '2']]], ['3-0']]);
  assert.deepEqual(await call('xpending', 'g', 'grp'), [1, '2-0', '2-0', [['erin', '1']]]);
  const groups = (await call('xinfo', 'groups', 'g')) as unknown[][];
  assert.deepEqual(groups[0]!.slice(0, 8), ['name', 'grp', 'consumers', 5, 'pending', 1, 'last-delivered-id', '4-0']);
  const consumers = (await call('xinfo', 'consumers', 'g', 'grp')) as unknown[][];
  assert.deepEqual(consumers.map((consumer) => [consumer[1], consumer[3]]), [['alice', 0], ['bob', 0], ['carol', 0], ['dave', 0], ['erin', 1]]);
  const info = (await call('xinfo', 'stream', 'g')) as unknown[];
  assert.deepEqual(info.slice(0, 2), ['length', 3]);
  assert.equal(info[info.indexOf('groups') + 1], 1);
  assert.deepEqual(info[info.indexOf('last-entry') + 1], ['4-0', ['n', '4']]);
  assert.equal(await call('xgroup', 'delconsumer', 'g', 'grp', 'erin'), 1);
  assert.deepEqual(await call('xpending', 'g', 'grp'), [0, null, null, null]);
  assert.equal(await call('xgroup', 'setid', 'g', 'grp', '0'), 'OK');
  assert.deepEqual(ids(((await call('xreadgroup', 'group', 'grp', 'alice', 'streams', 'g', '>')) as [string, unknown][])[0]![1]), ['1-0', '2-0', '4-0']);
  assert.equal(await call('xgroup', 'destroy', 'g', 'grp'), 1);
  assert.match(String(await call('xreadgroup', 'group', 'grp', 'alice', 'streams', 'g', '>')), /^NOGROUP No such key 'g' or consumer group 'grp'/);
});

test('keyspace events name stream commands as Redis does', async () => {
  await call('flushall');
  const subscriber = client(serverA.port);
  const events: string[] = [];
  subscriber.on('pmessage', (_pattern, channel: string, message: string) => {
    if (channel.endsWith(':ev')) events.push(message);
  });
  await subscriber.psubscribe('__keyspace@0__:*');
  await call('xgroup', 'create', 'ev', 'grp', '$', 'mkstream');
  await call('xgroup', 'createconsumer', 'ev', 'grp', 'bob');
  const id = String(await call('xadd', 'ev', '*', 'f', 'v'));
  await call('xreadgroup', 'group', 'grp', 'alice', 'streams', 'ev', '>');
  await call('xclaim', 'ev', 'grp', 'mike', 0, id, 'force');
  await call('xgroup', 'delconsumer', 'ev', 'grp', 'lee');
  await call('xautoclaim', 'ev', 'grp', 'bob', 0, id);
  await call('xgroup', 'delconsumer', 'ev', 'grp', 'bob');
  await call('xadd', 'ev', 'maxlen', 0, '*', 'f', 'v');
  await call('xdel', 'ev', id);
  await call('xsetid', 'ev', '99999999999999-0');
  await call('xgroup', 'setid', 'ev', 'grp', '$');
  await call('xgroup', 'destroy', 'ev', 'grp');
  await call('del', 'ev');
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.deepEqual(events, [
    'xgroup-create',
    'xgroup-createconsumer',
    'xadd',
    'xgroup-createconsumer',
    'xgroup-createconsumer',
    'xgroup-delconsumer',
    'xadd',
    'xtrim',
    'xsetid',
    'xgroup-setid',
    'xgroup-destroy',
    'del',
  ]);
});

test('COPY, RENAME and DEL carry a stream with its groups; DUMP refuses it', async () => {
  await call('flushall');
  await call('xadd', 'src', '1-0', 'a', 1);
  await call('xgroup', 'create', 'src', 'grp', '0');
  await call('xreadgroup', 'group', 'grp', 'c', 'streams', 'src', '>');
  assert.equal(await call('copy', 'src', 'dst'), 1);
  assert.deepEqual(await call('xinfo', 'stream', 'dst', 'full'), await call('xinfo', 'stream', 'src', 'full'));
  assert.equal(await call('rename', 'src', 'moved'), 'OK');
  assert.deepEqual(await call('xpending', 'moved', 'grp'), [1, '1-0', '1-0', [['c', '1']]]);
  assert.equal(await call('del', 'moved'), 1);
  assert.equal(await call('exists', 'moved'), 0);
  assert.match(String(await call('dump', 'dst')), /^ERR DUMP of a stream is not supported/);
});

test('XADD on two nodes at once: every entry kept, in id order, on both', async () => {
  await call('flushall');
  // No FLUSHALL on B: it would be stamped after A's writes (B's clock runs 5 ms ahead) and refuse them.
  const b = client(serverB.port);
  const startA = engineA.batches.length;
  const startB = engineB.batches.length;
  for (let index = 0; index < 3; index++) {
    await call('xadd', 'both', '*', 'node', 'a');
    await b.call('xadd', 'both', '*', 'node', 'b');
  }
  await call('xadd', 'both', '99999999999999-0', 'same', 'a');
  await b.call('xadd', 'both', '99999999999999-0', 'same', 'b');
  const fromA = engineA.batches.slice(startA);
  const fromB = engineB.batches.slice(startB);
  for (const batch of fromB) engineA.applyRemote(batch);
  for (const batch of fromA) engineB.applyRemote(batch);
  const onA = await call('xrange', 'both', '-', '+');
  assert.deepEqual(await b.call('xrange', 'both', '-', '+'), onA);
  assert.equal((onA as unknown[]).length, 7);
  assert.equal(await call('xlen', 'both'), 7);
  // The next automatic id is above every entry either node added.
  const next = String(await call('xadd', 'both', '*', 'after', '1'));
  assert.equal(next, '99999999999999-1');
});

test('a blocked XREAD is not woken by an XADD whose key then became a list; the next XADD serves it', async () => {
  await call('flushall');
  const waiter = client(serverA.port);
  const read = waiter.call('xread', 'block', 5000, 'streams', 's1', '$');
  await new Promise((resolve) => setTimeout(resolve, 30));
  const transaction = redis.multi();
  transaction.call('xadd', 's1', '*', 'old', '1');
  transaction.call('del', 's1');
  transaction.call('lpush', 's1', 'foo');
  await transaction.exec();
  await call('del', 's1');
  await call('xadd', 's1', '5-0', 'new', '1');
  assert.deepEqual(await read, [['s1', [['5-0', ['new', '1']]]]]);
});

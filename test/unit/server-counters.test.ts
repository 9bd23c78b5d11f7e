// Proves INCR DECR INCRBY DECRBY INCRBYFLOAT reply and fail as Redis 7.0 does through a real listener, write only this node's slot row (plus a base "0" header for a new key), keep the TTL, name incrby/incrbyfloat events, and that concurrent increments on several nodes all count once their rows are exchanged, also around SET resets and a concurrent DEL.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { MEMORY_ENGINE_NODE_ID, MemoryEngine, RawClient, startMemoryServer } from '../support/memory-engine.js';
import type { RespServer } from '../../src/net/resp-listener.js';
import { decodeSlotTotal, encodeHeader, encodeStringHeader, headerRowKey, KeyType, rowKey, RowKind, slotElement } from '../../src/core/rows.js';
import type { KeyspaceEvent } from '../../src/server/engine.js';

let server: RespServer;
let engine: MemoryEngine;
let clockMs = Date.now();
const clients: Redis[] = [];
const servers: RespServer[] = [];

function connect(port: number): Redis {
  const redis = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 0, retryStrategy: () => null });
  clients.push(redis);
  return redis;
}

function client(): Redis {
  return connect(server.port);
}

const WRONGTYPE = /^ReplyError: WRONGTYPE Operation against a key holding the wrong kind of value$/;
const NOT_INTEGER = /^ReplyError: ERR value is not an integer or out of range$/;
const NOT_FLOAT = /^ReplyError: ERR value is not a valid float$/;

before(async () => {
  engine = new MemoryEngine({ nowMs: () => clockMs });
  ({ server } = await startMemoryServer({ engine }));
});

after(async () => {
  for (const redis of clients) redis.disconnect();
  await server.close();
  for (const other of servers) await other.close();
});

function ownSlotRow(key: string, nodeId = MEMORY_ENGINE_NODE_ID): Uint8Array {
  return rowKey(Buffer.from(key), RowKind.Slot, slotElement(new Uint8Array(0), nodeId));
}

/** One inline command's raw reply bytes (ioredis turns integers into doubles). */
async function rawReply(line: string): Promise<string> {
  const raw = new RawClient(server.port);
  await raw.connected;
  raw.send(`${line}\r\n`);
  const text = await raw.waitFor((received) => received.endsWith('\r\n'));
  raw.destroy();
  return text;
}

/** A key holding another type than string: a hash of one field. */
async function makeHash(key: string): Promise<void> {
  await client().hset(key, 'field', 'value');
}

test('INCR family: replies, Redis errors, overflow in both directions', async () => {
  const redis = client();
  assert.equal(await redis.incr('novar'), 1);
  assert.equal(await redis.get('novar'), '1');
  assert.equal(await redis.incr('novar'), 2);
  await redis.set('novar', 100);
  assert.equal(await redis.incr('novar'), 101);
  assert.equal(await redis.decr('novar'), 100);
  await redis.set('novar', '17179869184');
  assert.equal(await redis.incrby('novar', '17179869184'), 34359738368);
  assert.equal(await redis.decrby('novar', '34359738369'), -1);
  for (const bad of ['    11', '11    ', 'abc', '1.5', '01', '']) {
    await redis.set('novar', bad);
    await assert.rejects(redis.incr('novar'), NOT_INTEGER, bad);
  }
  await assert.rejects(redis.incrby('novar', 'x'), NOT_INTEGER);
  await assert.rejects(redis.incrby('novar', '9223372036854775808'), NOT_INTEGER);
  await redis.set('big', '9223372036854775806');
  assert.equal(await rawReply('INCR big'), ':9223372036854775807\r\n');
  assert.equal(await redis.get('big'), '9223372036854775807');
  await assert.rejects(redis.incr('big'), /^ReplyError: ERR increment or decrement would overflow$/);
  await redis.set('small', '-9223372036854775808');
  await assert.rejects(redis.decr('small'), /^ReplyError: ERR increment or decrement would overflow$/);
  await redis.set('x', 0);
  await assert.rejects(redis.decrby('x', '-9223372036854775808'), /^ReplyError: ERR decrement would overflow$/);
  assert.equal(await rawReply('INCRBY x -9223372036854775808'), ':-9223372036854775808\r\n');
  await makeHash('hash');
  await assert.rejects(redis.incr('hash'), WRONGTYPE);
  await assert.rejects(redis.incrbyfloat('hash', 1), WRONGTYPE);
  await assert.rejects(redis.call('INCR'), /wrong number of arguments for 'incr' command/);
});

test('integer replies keep all 64 bits', async () => {
  const redis = client();
  await redis.set('exact', '9007199254740993');
  assert.equal(await rawReply('INCRBY exact 1000000000000000000'), ':1009007199254740993\r\n');
  assert.equal(await rawReply('DECRBY exact 1000000000000000000'), ':9007199254740993\r\n');
  assert.equal(await rawReply('INCRBY exact -9223372036854775808'), ':-9214364837600034815\r\n');
});

test('INCRBYFLOAT: replies as Redis formats them, errors, no negative zero', async () => {
  const redis = client();
  await redis.del('novar');
  assert.equal(await redis.incrbyfloat('novar', 1), '1');
  assert.equal(await redis.incrbyfloat('novar', 0.25), '1.25');
  assert.equal(await redis.get('novar'), '1.25');
  await redis.set('novar', 1.5);
  assert.equal(await redis.incrbyfloat('novar', 1.5), '3');
  await redis.set('novar', '17179869184');
  assert.equal(await redis.incrbyfloat('novar', 1.5), '17179869185.5');
  await redis.set('novar', '17179869184');
  assert.equal(await redis.incrbyfloat('novar', '17179869184'), '34359738368');
  assert.equal(await redis.incr('novar'), 34359738369, 'an integral float value takes INCR');
  await redis.set('novar', '1e3');
  await assert.rejects(redis.incr('novar'), NOT_INTEGER);
  assert.equal(await redis.incrbyfloat('novar', '5.0e3'), '6000');
  for (const bad of ['    11', '11    ', ' 11 ', 'abc', '1\x002']) {
    await redis.set('novar', bad);
    await assert.rejects(redis.incrbyfloat('novar', 1), NOT_FLOAT, bad);
  }
  await redis.set('foo', 0);
  await assert.rejects(redis.incrbyfloat('foo', '+inf'), /^ReplyError: ERR increment would produce NaN or Infinity$/);
  await assert.rejects(redis.incrbyfloat('foo', 'nan'), NOT_FLOAT);
  await assert.rejects(redis.incrbyfloat('foo', 'x'), NOT_FLOAT);
  await redis.set('foo', '1e308');
  await assert.rejects(redis.incrbyfloat('foo', '1e308'), /would produce NaN or Infinity/);
  await redis.set('foo', '0x10');
  assert.equal(await redis.incrbyfloat('foo', '0x1p-1'), '16.5');
  // Small increments keep their precision after large ones, also once a reset observed them.
  await redis.set('foo', 0);
  await redis.incrbyfloat('foo', '1e18');
  await redis.set('foo', 0);
  assert.equal(await redis.incrbyfloat('foo', 0.1), '0.1');
  assert.equal(await redis.incrbyfloat('foo', '1e-10'), '0.1000000001');
  await redis.set('foo', '9223372036854775807');
  assert.equal(await redis.incrbyfloat('foo', 1), '9223372036854775808');
  await redis.del('foo');
  await redis.incrbyfloat('foo', 1 / 41);
  assert.equal(await redis.incrbyfloat('foo', -1 / 41), '0');
  assert.equal(await redis.get('foo'), '0');
});

test('rows: an increment writes only its slot; a new key also its base "0" header first; the TTL stays', async () => {
  const redis = client();
  await redis.del('rows');
  await redis.incrby('rows', 5);
  assert.equal(engine.lastWrites.length, 2);
  assert.deepEqual(Buffer.from(engine.lastWrites[0]!.key), Buffer.from(headerRowKey(Buffer.from('rows'))));
  assert.deepEqual(Buffer.from(engine.lastWrites[0]!.value!), Buffer.from(encodeStringHeader(Buffer.from('0'))));
  assert.deepEqual(Buffer.from(engine.lastWrites[1]!.key), Buffer.from(ownSlotRow('rows')));
  assert.deepEqual(decodeSlotTotal(engine.lastWrites[1]!.value!), { integer: 5n, float: 0 });
  await redis.expire('rows', 100);
  await redis.incrbyfloat('rows', 0.5);
  assert.equal(engine.lastWrites.length, 1);
  assert.deepEqual(decodeSlotTotal(engine.lastWrites[0]!.value!), { integer: 5n, float: 0.5 });
  assert.equal(await redis.ttl('rows'), 100);
  assert.equal(await redis.get('rows'), '5.5');
  // SET resets what it observed: the slot stays, the base records it.
  await redis.set('rows', '1.50');
  assert.equal(await redis.get('rows'), '1.50');
  assert.equal(await redis.incr('rows').catch((error: Error) => error.message), 'ERR value is not an integer or out of range');
  await redis.set('rows', 10);
  assert.equal(await redis.incr('rows'), 11);
  assert.deepEqual(decodeSlotTotal(engine.get(ownSlotRow('rows'))!.value!), { integer: 6n, float: 0.5 });
  // APPEND, SETRANGE and GETEX build on the counted value.
  assert.equal(await redis.append('rows', '0'), 3);
  assert.equal(await redis.get('rows'), '110');
  assert.equal(await redis.incr('rows'), 111);
  assert.equal(await redis.call('GETEX', 'rows', 'EX', 50), '111');
  assert.equal(await redis.incr('rows'), 112);
  // A key of another type is replaced by SET, and its counter starts afresh.
  await redis.del('rows');
  assert.equal(await redis.incr('rows'), 1);
});

test('keyspace events: incrby and incrbyfloat, never the header a new counter is created with', async () => {
  const redis = client();
  await redis.del('ev');
  const events: string[] = [];
  // `new` (class n, outside A) has its own test in server-strings.test.ts.
  const stop = engine.onKeyspaceEvent((event: KeyspaceEvent) => void (event.event !== 'new' && events.push(`${event.event}:${Buffer.from(event.key).toString()}`)));
  await redis.incr('ev');
  await redis.decrby('ev', 3);
  await redis.incrbyfloat('ev', 1.5);
  await redis.del('ev');
  await redis.incrbyfloat('ev', 2.5);
  // Row-derived: an integral INCRBYFLOAT changes only the slot's integer total, like INCRBY (see README).
  await redis.incrbyfloat('ev', 2);
  stop();
  assert.deepEqual(events, ['incrby:ev', 'incrby:ev', 'incrbyfloat:ev', 'del:ev', 'incrbyfloat:ev', 'incrby:ev']);
});

/** A node of a small in-memory cluster: an engine with its own id and clock, served over RESP. */
async function startNode(index: number, nowMs: () => number): Promise<{ engine: MemoryEngine; redis: Redis }> {
  const nodeEngine = new MemoryEngine({ nodeId: (index + 1).toString(16).repeat(32), nowMs, keepBatches: true });
  const started = await startMemoryServer({ engine: nodeEngine });
  servers.push(started.server);
  return { engine: nodeEngine, redis: connect(started.server.port) };
}

/** Hand every batch a node wrote since the last call to the others (replication). */
function exchange(nodes: readonly { engine: MemoryEngine }[], sent: number[]): void {
  nodes.forEach((from, index) => {
    const fresh = from.engine.batches.slice(sent[index]);
    sent[index] = from.engine.batches.length;
    for (const batch of fresh) for (const to of nodes) if (to !== from) to.engine.merge(batch);
  });
}

test('concurrent INCRBYs on different nodes all count, whatever is exchanged between them', async () => {
  const nodes = await Promise.all([0, 1, 2].map((index) => startNode(index, Date.now)));
  let round = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.record({ node: fc.nat({ max: 2 }), delta: fc.integer({ min: -1000, max: 1000 }), exchange: fc.boolean() }), { minLength: 1, maxLength: 30 }),
      async (steps) => {
        const key = `c${round++}`;
        const sent = nodes.map((node) => node.engine.batches.length);
        let sum = 0;
        for (const step of steps) {
          await nodes[step.node]!.redis.incrby(key, step.delta);
          sum += step.delta;
          if (step.exchange) exchange(nodes, sent);
        }
        exchange(nodes, sent);
        for (const node of nodes) assert.equal(await node.redis.get(key), String(sum));
      },
    ),
    { numRuns: 40 },
  );
});

test('a SET reset counts only what it observed; increments concurrent with it survive', async () => {
  const nodes = await Promise.all([3, 4].map((index) => startNode(index, Date.now)));
  const sent = nodes.map((node) => node.engine.batches.length);
  const [a, b] = nodes as [(typeof nodes)[0], (typeof nodes)[0]];
  await a.redis.incrby('reset', 5);
  exchange(nodes, sent);
  await b.redis.incrby('reset', 7); // not yet seen by a
  await a.redis.set('reset', 100); // observes a's 5 only
  await a.redis.incrby('reset', 1);
  exchange(nodes, sent);
  assert.equal(await a.redis.get('reset'), '108');
  assert.equal(await b.redis.get('reset'), '108');
});

test('after a DEL concurrent with increments, a counter restarts at its own increments on every node', async () => {
  let aMs = 1_000_000;
  let bMs = 1_000_000;
  const a = await startNode(5, () => aMs);
  const b = await startNode(6, () => bMs);
  const nodes = [a, b];
  const sent = nodes.map((node) => node.engine.batches.length);
  await a.redis.incr('gone');
  exchange(nodes, sent);
  bMs += 5;
  await b.redis.del('gone'); // between a's slot and a's next header
  aMs += 10;
  await a.redis.set('gone', 10); // observes a's slot, which b's DEL removes
  exchange(nodes, sent);
  assert.equal(await a.redis.get('gone'), '10');
  assert.equal(await a.redis.incr('gone'), 11, 'the increment counts once though its slot row was cleared');
  exchange(nodes, sent);
  assert.equal(await b.redis.get('gone'), '11');
  await b.redis.del('gone');
  aMs += 10;
  bMs += 20;
  await a.redis.incr('gone'); // concurrent with b's DEL, stamped after it
  exchange(nodes, sent);
  assert.equal(await a.redis.get('gone'), null, 'the header died with the DEL');
  assert.equal(await b.redis.get('gone'), null);
  assert.equal(await a.redis.incr('gone'), 1, 'a slot left after the DEL is observed by the new base');
  exchange(nodes, sent);
  assert.equal(await b.redis.get('gone'), '1');
});

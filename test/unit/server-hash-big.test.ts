// Proves a 200,000-field hash works over the MemoryEngine without whole-hash work per call: HSET writes one row, HLEN reads no rows, HSCAN reads at most COUNT rows per call and returns every live field exactly once, HGETALL streams it all, HRANDFIELD picks from it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { startMemoryServer, type MemoryEngine } from '../support/memory-engine.js';
import type { RespServer } from '../../src/net/resp-listener.js';

const FIELD_COUNT = 200_000;
const PAIRS_PER_HSET = 1000;
let server: RespServer;
let engine: MemoryEngine;
let redis: Redis;
/** Rows returned by engine.scanRows since the last reset. */
let rowsRead = 0;

before(async () => {
  ({ server, engine } = await startMemoryServer());
  const scanRows = engine.scanRows.bind(engine);
  engine.scanRows = (prefix, after, limit) => {
    const page = scanRows(prefix, after, limit);
    rowsRead += page.records.length;
    return page;
  };
  redis = new Redis({ host: '127.0.0.1', port: server.port, maxRetriesPerRequest: 0, retryStrategy: () => null });
  const pipeline = redis.pipeline();
  for (let start = 0; start < FIELD_COUNT; start += PAIRS_PER_HSET) {
    const args: string[] = [];
    for (let index = start; index < start + PAIRS_PER_HSET; index++) args.push(`field:${index}`, `value:${index}`);
    pipeline.hset('big', ...args);
  }
  const results = await pipeline.exec();
  assert.ok(results!.every(([error, reply]) => error === null && reply === PAIRS_PER_HSET));
});

after(async () => {
  redis.disconnect();
  await server.close();
});

test('HSET of one field of the big hash writes one row; HLEN reads no rows', async () => {
  assert.equal(await redis.hset('big', 'field:7', 'changed'), 0);
  assert.equal(engine.lastWrites.length, 1);
  rowsRead = 0;
  for (let index = 0; index < 100; index++) assert.equal(await redis.hlen('big'), FIELD_COUNT);
  assert.equal(rowsRead, 0); // the keyspace's field count: no row is read
  assert.equal(await redis.exists('big'), 1);
  assert.equal(await redis.type('big'), 'hash');
});

test('HSCAN returns every live field exactly once, reading at most COUNT rows per call', async () => {
  // Tombstones in the middle must not be returned nor break the walk.
  const deleted = ['field:10', 'field:100000', 'field:199999'];
  assert.equal(await redis.hdel('big', ...deleted), 3);
  const seen = new Set<string>();
  let cursor = '0';
  let calls = 0;
  do {
    rowsRead = 0;
    const [next, items] = await redis.hscan('big', cursor, 'COUNT', 1000);
    assert.ok(rowsRead <= 1000, `one HSCAN read ${rowsRead} rows`);
    for (let index = 0; index < items.length; index += 2) {
      assert.equal(seen.has(items[index]!), false, `${items[index]} returned twice`);
      seen.add(items[index]!);
    }
    cursor = next;
    calls++;
  } while (cursor !== '0');
  assert.equal(seen.size, FIELD_COUNT - deleted.length);
  for (const field of deleted) assert.equal(seen.has(field), false);
  assert.ok(calls >= FIELD_COUNT / 1000);
  assert.equal(await redis.hlen('big'), FIELD_COUNT - deleted.length);
  assert.equal(await redis.hset('big', ...deleted.flatMap((field) => [field, 'back'])), 3);
});

test('HGETALL streams the whole hash; HRANDFIELD picks from it', async () => {
  const all = await redis.hgetall('big');
  assert.equal(Object.keys(all).length, FIELD_COUNT);
  assert.equal(all['field:123456'], 'value:123456');
  assert.equal(all['field:7'], 'changed');
  const one = (await redis.hrandfield('big')) as string;
  assert.match(one, /^field:\d+$/);
  const five = (await redis.hrandfield('big', 5)) as string[];
  assert.equal(new Set(five).size, 5);
  const pairs = (await redis.hrandfield('big', -4, 'WITHVALUES')) as string[];
  assert.equal(pairs.length, 8);
  for (let index = 0; index < pairs.length; index += 2) assert.ok(all[pairs[index]!] === pairs[index + 1]);
});
